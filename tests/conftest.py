"""Shared fixtures.  `desk`: the real Rasa server and action server (see harness.py).  With DB_BACKEND=postgres
the session first starts a throwaway PostgreSQL and Redis (`database_servers`)."""

from __future__ import annotations

import pytest

from tests import harness
from tests.harness import Desk


@pytest.fixture(scope="session", autouse=True)
def database_servers():
    if harness.DB_BACKEND != "postgres":
        yield None
        return
    servers = harness.Servers().start()
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def desk(tmp_path_factory) -> Desk:
    instance = Desk(tmp_path_factory.mktemp("desk"))
    instance.load_catalog()
    instance.start("actions", "rasa")
    yield instance
    instance.stop()

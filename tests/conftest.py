"""Shared fixtures.  `desk`: the real Rasa server and action server (see harness.py)."""

from __future__ import annotations

import pytest

from tests.harness import Desk


@pytest.fixture(scope="session")
def desk(tmp_path_factory) -> Desk:
    instance = Desk(tmp_path_factory.mktemp("desk"))
    instance.load_catalog()
    instance.start("actions", "rasa")
    yield instance
    instance.stop()

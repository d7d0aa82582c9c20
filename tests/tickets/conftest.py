"""A real, migrated SQLite catalogue database (sample catalogue loaded) per test module."""

from __future__ import annotations

import subprocess
import sys

import pytest

import settings
from database import migrate, session_scope
from tests.harness import database_url

CATALOG = [settings.ROOT / "data/catalog/departments.jsonl", settings.ROOT / "data/catalog/guiyang_catalog.jsonl"]


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = database_url(tmp_path_factory.mktemp("tickets"))
    migrate(url)
    return url


@pytest.fixture(scope="module")
def catalog_db_url(tmp_path_factory) -> str:
    """Migrated and loaded with the sample catalogue through the catalogue's own CLI."""
    url = database_url(tmp_path_factory.mktemp("catalog"))
    env = {**__import__("os").environ, "DB_URL": url}
    for args in (["migrate"], ["load", *map(str, CATALOG)]):
        subprocess.run([sys.executable, "-m", "catalog_index", *args], env=env, check=True, cwd=settings.ROOT,
                       capture_output=True)
    return url


@pytest.fixture
def session(db_url):
    with session_scope(db_url) as s:
        yield s


def action_names(domain: dict) -> set[str]:
    """The actions a domain declares: a name, or {name: {send_domain: true}} (selective domain)."""
    return {a if isinstance(a, str) else next(iter(a)) for a in domain["actions"]}

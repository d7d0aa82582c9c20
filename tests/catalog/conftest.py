"""Catalogue fixtures: the sample catalogue loaded once into a temporary SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

import settings
from catalog_index.ingest import load_files
from database import migrate, session_scope
from tests.harness import database_url

SAMPLE = [settings.ROOT / "data" / "catalog" / "departments.jsonl",
          settings.ROOT / "data" / "catalog" / "guiyang_catalog.jsonl"]


def titles(result) -> list[str]:  # noqa: ANN001
    """The titles of a search result's page, in order."""
    return [r["title"] for r in result.results]


def fresh_db(directory: Path, name: str = "catalog.db") -> str:
    url = database_url(directory, name)
    migrate(url)
    return url


@pytest.fixture(scope="package")
def sample_url(tmp_path_factory) -> str:
    """URL of a database holding the sample catalogue; tests must not change it."""
    url = fresh_db(tmp_path_factory.mktemp("catalog"))
    report = load_files(SAMPLE, url, progress=False)
    assert not report.errors
    return url


@pytest.fixture()
def session(sample_url):
    with session_scope(sample_url) as s:
        yield s

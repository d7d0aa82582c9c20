"""Revision 0002_tickets creates exactly what tickets.models declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from database import Base, alembic_config, engine
from tickets import models  # noqa: F401 - registers the ticket tables on Base

TICKET_TABLES = {"tickets", "ticket_events", "staff_tokens", "search_misses"}


def test_migration_matches_models(db_url):
    with engine(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    ours = [d for d in diffs if any(f"'{name}'" in repr(d) or f"{name}." in repr(d) for name in TICKET_TABLES)]
    assert ours == []
    assert version == ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()

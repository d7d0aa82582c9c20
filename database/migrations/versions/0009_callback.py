"""Callback requests (回电预约, ticket type `callback`): how to address the caller, when to call, the question.

Revision ID: 0009_callback
Revises: 0008_ratings
Create Date: 2026-11-30

Three nullable columns on `tickets` (tickets.models): ADD COLUMN, the same on SQLite and PostgreSQL; no data moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_callback"
down_revision = "0008_ratings"
branch_labels = None
depends_on = None

COLUMNS = (("contact_name", sa.String(100)), ("best_time", sa.String(200)), ("question", sa.Text()))


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("tickets", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:  # SQLite drops columns by copying the table
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)

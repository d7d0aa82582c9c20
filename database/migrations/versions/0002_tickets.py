"""Tickets: tickets, their history, staff tokens and unmet searches.

Revision ID: 0002_tickets
Revises: 0001_catalog
Create Date: 2026-11-27

Mirrors `tickets.models` (tests/tickets/test_migration.py checks that the two agree).  The unique constraint on
`tickets.idempotency_key` is what makes a form submission create exactly one ticket.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tickets"
down_revision = "0001_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("type", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=True, index=True),
        sa.Column("requested_data", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("applicant_type", sa.String(8), nullable=True),
        sa.Column("applicant_name", sa.String(200), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("department", sa.String(200), nullable=True, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True, index=True),
        sa.Column("due_date_exact", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(32), nullable=True),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "search_misses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("query", sa.String(200), nullable=False, index=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("search_misses", "staff_tokens", "ticket_events", "tickets"):
        op.drop_table(table)

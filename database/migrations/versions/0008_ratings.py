"""Chat page ratings (满意/不满意): value, moment, channel and time only (web/ratings.py).

Revision ID: 0008_ratings
Revises: 0007_postgresql
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ratings"
down_revision = "0007_postgresql"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.String(16), nullable=False),
        sa.Column("moment", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("ratings")

"""WeChat channel: message de-duplication, shared access_token cache, undelivered-answer outbox, conversations.

Revision ID: 0003_wechat
Revises: 0002_tickets
Create Date: 2026-11-27

Mirrors `bot.channels.wechat_store` (tests/wechat/test_store.py checks that the two agree).  The unique
`wechat_messages.dedup_key` is what makes a retried MsgId a retry in every process.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_wechat"
down_revision = "0002_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dedup_key", sa.String(128), nullable=False, unique=True),
        sa.Column("user_hash", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivery", sa.String(16), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "wechat_access_tokens",
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("access_token", sa.String(512), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "wechat_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("user_hash", sa.String(16), nullable=False, index=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "wechat_conversations",
        sa.Column("user_hash", sa.String(16), primary_key=True),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("more_pages", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    # Never drop data: the outbox holds answers still owed to users.
    raise NotImplementedError("0003_wechat is not reversible (it would drop the WeChat outbox)")

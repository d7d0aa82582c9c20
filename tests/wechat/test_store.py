"""Revision 0003_wechat matches the models; the DB store's de-duplication, hand-over and token cache."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.channels import wechat_store as store
from database import Base, alembic_config, engine

WECHAT_TABLES = {"wechat_messages", "wechat_access_tokens", "wechat_outbox", "wechat_conversations"}


def test_migration_matches_models(wechat_db):
    with engine(wechat_db).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        tables = set(conn.dialect.get_table_names(conn))
    assert WECHAT_TABLES <= tables
    ours = [d for d in diffs if any(f"'{name}'" in repr(d) or f"{name}." in repr(d) for name in WECHAT_TABLES)]
    assert ours == []
    assert version == ScriptDirectory.from_config(alembic_config(wechat_db)).get_current_head()


def test_a_key_is_processed_once_and_the_hand_over_is_decided_once(wechat_db):
    key = f"msg:{uuid.uuid4().int}"
    assert store.begin_message(key, "u1", wechat_db)
    assert not store.begin_message(key, "u1", wechat_db)
    assert store.request_push(key, wechat_db)  # still processing: 客服消息 will carry it
    assert store.finish_message(key, "答案", wechat_db) == store.PUSH
    finished_first = f"msg:{uuid.uuid4().int}"
    store.begin_message(finished_first, "u1", wechat_db)
    assert store.finish_message(finished_first, "答案", wechat_db) is None
    assert not store.request_push(finished_first, wechat_db)  # done: reply with it instead
    assert store.message_state(finished_first, wechat_db) == store.MessageState(store.DONE, None, "答案")


def test_token_cache_expiry_and_invalidation(wechat_db):
    app = f"wx{uuid.uuid4().hex[:8]}"
    store.store_token(app, "T1", 7200, wechat_db)
    assert store.cached_token(app, db_url=wechat_db) == "T1"
    store.invalidate_token(app, "T0", wechat_db)  # a stale rejection does not discard a newer token
    assert store.cached_token(app, db_url=wechat_db) == "T1"
    store.invalidate_token(app, "T1", wechat_db)
    assert store.cached_token(app, db_url=wechat_db) is None
    store.store_token(app, "T2", 30, wechat_db)  # expires within the safety margin
    assert store.cached_token(app, db_url=wechat_db) is None

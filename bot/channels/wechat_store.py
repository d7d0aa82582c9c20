"""Database state of the WeChat channel, shared by every Rasa process.

Four tables on the desk's single `Base` (revision 0003_wechat):

- `wechat_messages`: one row per incoming MsgId (events: sender + CreateTime).  The unique key makes every
  delivery after the first a retry, in whatever process it lands; the row carries the answer and who delivers it.
- `wechat_access_tokens`: the access_token cache, one row per app id, with its expiry.
- `wechat_outbox`: answers that could not be delivered through 客服消息, kept for an operator or a later retry.
- `wechat_conversations`: per user (hashed openid) the numbered options of the last reply and the pages still
  waiting behind "回复 更多".

All functions are short synchronous transactions; the channel runs them in a thread executor.
Openids appear in clear only in `wechat_outbox.openid` (needed to deliver later), never in logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, String, Text, delete, select, update
from sqlalchemy.exc import IntegrityError

from database import Base, session_scope
from privacy import openid_hash

# Rows of answered messages are kept this long; WeChat retries within about 15 seconds.
MESSAGE_RETENTION = timedelta(days=2)

# Message states and delivery routes.
PROCESSING, DONE = "processing", "done"
PUSH, PUSHED, OUTBOX = "push", "pushed", "outbox"


def utcnow() -> datetime:
    return datetime.utcnow().replace(microsecond=0)


class WeChatMessage(Base):
    __tablename__ = "wechat_messages"

    id = Column(Integer, primary_key=True)
    dedup_key = Column(String(128), nullable=False, unique=True)
    user_hash = Column(String(16), nullable=False)
    state = Column(String(16), nullable=False, default=PROCESSING)
    # NULL: the answer goes back in the HTTP reply; push/pushed/outbox: through 客服消息.
    delivery = Column(String(16), nullable=True)
    answer = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, index=True)
    updated_at = Column(DateTime, nullable=False)


class WeChatAccessToken(Base):
    __tablename__ = "wechat_access_tokens"

    app_id = Column(String(64), primary_key=True)
    access_token = Column(String(512), nullable=False)
    expires_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)


class WeChatOutbox(Base):
    __tablename__ = "wechat_outbox"

    id = Column(Integer, primary_key=True)
    openid = Column(String(64), nullable=False)
    user_hash = Column(String(16), nullable=False, index=True)
    content = Column(Text, nullable=False)
    reason = Column(String(255), nullable=False)
    attempts = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, default="pending", index=True)
    created_at = Column(DateTime, nullable=False)


class WeChatConversation(Base):
    __tablename__ = "wechat_conversations"

    user_hash = Column(String(16), primary_key=True)
    options = Column(Text, nullable=False, default="[]")  # JSON [{"title": …, "payload": …}]
    more_pages = Column(Text, nullable=False, default="[]")  # JSON [page, …]
    updated_at = Column(DateTime, nullable=False)


@dataclass(frozen=True)
class MessageState:
    state: str
    delivery: str | None
    answer: str | None


# --- de-duplication ----------------------------------------------------------------------------------------

def begin_message(dedup_key: str, user_hash: str, db_url: str | None = None) -> bool:
    """Record a new incoming message; False when the key exists already (a retry)."""
    now = utcnow()
    try:
        with session_scope(db_url) as session:
            session.add(WeChatMessage(dedup_key=dedup_key, user_hash=user_hash, state=PROCESSING,
                                      created_at=now, updated_at=now))
    except IntegrityError:
        return False
    with session_scope(db_url) as session:
        session.execute(delete(WeChatMessage).where(WeChatMessage.created_at < now - MESSAGE_RETENTION,
                                                    WeChatMessage.state == DONE))
    return True


def message_state(dedup_key: str, db_url: str | None = None) -> MessageState | None:
    with session_scope(db_url) as session:
        row = session.execute(select(WeChatMessage).where(WeChatMessage.dedup_key == dedup_key)).scalar_one_or_none()
        return None if row is None else MessageState(row.state, row.delivery, row.answer)


def finish_message(dedup_key: str, answer: str, db_url: str | None = None) -> str | None:
    """Store the answer; return the delivery route decided meanwhile (PUSH: nobody is waiting for it)."""
    with session_scope(db_url) as session:
        session.execute(update(WeChatMessage).where(WeChatMessage.dedup_key == dedup_key)
                        .values(state=DONE, answer=answer, updated_at=utcnow()))
        return session.execute(select(WeChatMessage.delivery)
                               .where(WeChatMessage.dedup_key == dedup_key)).scalar_one()


def request_push(dedup_key: str, db_url: str | None = None) -> bool:
    """Hand an unfinished answer over to 客服消息; False when it finished meanwhile (reply with it instead)."""
    with session_scope(db_url) as session:
        result = session.execute(
            update(WeChatMessage)
            .where(WeChatMessage.dedup_key == dedup_key, WeChatMessage.state == PROCESSING,
                   WeChatMessage.delivery.is_(None))
            .values(delivery=PUSH, updated_at=utcnow()))
        if result.rowcount:
            return True
        delivery = session.execute(select(WeChatMessage.delivery)
                                   .where(WeChatMessage.dedup_key == dedup_key)).scalar_one()
        return delivery is not None


def set_delivery(dedup_key: str, delivery: str, db_url: str | None = None) -> None:
    with session_scope(db_url) as session:
        session.execute(update(WeChatMessage).where(WeChatMessage.dedup_key == dedup_key)
                        .values(delivery=delivery, updated_at=utcnow()))


# --- access_token cache ------------------------------------------------------------------------------------

def cached_token(app_id: str, margin: timedelta = timedelta(seconds=60), db_url: str | None = None) -> str | None:
    """The cached access_token of `app_id` unless it expires within `margin`."""
    with session_scope(db_url) as session:
        row = session.get(WeChatAccessToken, app_id)
        if row is None or row.expires_at - margin <= utcnow():
            return None
        return row.access_token


def store_token(app_id: str, token: str, expires_in: int, db_url: str | None = None) -> None:
    now = utcnow()
    with session_scope(db_url) as session:
        row = session.get(WeChatAccessToken, app_id)
        if row is None:
            row = WeChatAccessToken(app_id=app_id)
            session.add(row)
        row.access_token, row.expires_at, row.updated_at = token, now + timedelta(seconds=expires_in), now


def invalidate_token(app_id: str, token: str, db_url: str | None = None) -> None:
    """Forget `token` (rejected by WeChat) unless another process has replaced it already."""
    with session_scope(db_url) as session:
        session.execute(delete(WeChatAccessToken).where(WeChatAccessToken.app_id == app_id,
                                                        WeChatAccessToken.access_token == token))


# --- undelivered answers -----------------------------------------------------------------------------------

def record_undelivered(openid: str, content: str, reason: str, attempts: int, db_url: str | None = None) -> int:
    with session_scope(db_url) as session:
        row = WeChatOutbox(openid=openid, user_hash=openid_hash(openid), content=content, reason=reason[:255],
                           attempts=attempts, status="pending", created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


def pending_outbox(db_url: str | None = None) -> list[dict]:
    """Undelivered answers, oldest first (with the openid: for redelivery only, never for logs)."""
    with session_scope(db_url) as session:
        rows = session.execute(select(WeChatOutbox).where(WeChatOutbox.status == "pending")
                               .order_by(WeChatOutbox.id)).scalars()
        return [{"id": r.id, "openid": r.openid, "user_hash": r.user_hash, "content": r.content,
                 "reason": r.reason, "attempts": r.attempts} for r in rows]


def outbox_attempted(row_id: int, delivered: bool, reason: str, attempts: int, db_url: str | None = None) -> None:
    """The outcome of another delivery attempt of outbox row `row_id`."""
    with session_scope(db_url) as session:
        row = session.get(WeChatOutbox, row_id)
        row.attempts += attempts
        if delivered:
            row.status = "delivered"
        else:
            row.reason = reason[:255]


# --- numbered options and "更多" pages -----------------------------------------------------------------------

def save_conversation(user_hash: str, options: list[dict], more_pages: list[str], db_url: str | None = None) -> None:
    with session_scope(db_url) as session:
        row = session.get(WeChatConversation, user_hash)
        if row is None:
            row = WeChatConversation(user_hash=user_hash)
            session.add(row)
        row.options = json.dumps(options, ensure_ascii=False)
        row.more_pages = json.dumps(more_pages, ensure_ascii=False)
        row.updated_at = utcnow()


def pending_options(user_hash: str, db_url: str | None = None) -> list[dict]:
    with session_scope(db_url) as session:
        row = session.get(WeChatConversation, user_hash)
        return [] if row is None else json.loads(row.options)


def pop_more_page(user_hash: str, db_url: str | None = None) -> str | None:
    """The next page waiting behind "回复 更多", removed from the store; None when there is none."""
    with session_scope(db_url) as session:
        row = session.get(WeChatConversation, user_hash)
        pages = [] if row is None else json.loads(row.more_pages)
        if not pages:
            return None
        row.more_pages = json.dumps(pages[1:], ensure_ascii=False)
        row.updated_at = utcnow()
        return pages[0]

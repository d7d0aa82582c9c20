"""Rasa's SQL tracker store without phone numbers once no form needs them: `bot.tracker_store.PrivacySQLTrackerStore`.

Configured in endpoints.yml with the keys of Rasa's `type: SQL` store (dialect sqlite or postgresql, db, host,
port, username, password, login_db, query).  The tickets table keeps the citizen's phone (staff call back); the
conversation record does not need it once the form that asked for it is over:

- While a form is active, events are stored as Rasa stores them (the form reads its slots back from the store on
  the next turn, and the submit action sends the phone to the tickets table).
- At the end of a turn that leaves no form active, the turn's events are stored with every phone-looking number
  masked (138****1234: user text, entities, slot values including the description, bot text, metadata with the
  full text of a long message); when a form was submitted or cancelled in that turn, every event stored
  earlier for the conversation is masked too.
- A form abandoned half-way (the user just leaves) and old conversations are handled by the retention command
  (`make retention`, `python -m bot.tracker_store retention`): conversations idle longer than
  `TRACKER_REDACT_IDLE_MINUTES` are masked, those idle longer than `TRACKER_RETENTION_DAYS` deleted.
- Its connections are checked before use (`pool_pre_ping`), so a PostgreSQL restart loses no turn.
- A conversation's tracker stays in memory between its turns (`cache.py`: LRU of TRACKER_CACHE_CONVERSATIONS,
  checked against the database with one indexed query per turn, never served stale): a turn no longer parses
  and rebuilds the whole conversation from SQL.
- A turn's usual work is two statements on autocommit connections, sent as SQL text to the driver (no
  SQLAlchemy statement to build, compile or cache-key per turn): the cache's check when the tracker is
  retrieved, and one multi-row INSERT … RETURNING when it is saved (no pool ping, no BEGIN/COMMIT, no second check: the
  conversation's lock is held from the retrieve to the save, so nothing else appends in between, and the next
  retrieve's check would see it if something did).  Such a connection found dead (PostgreSQL restarted) makes
  SQLAlchemy drop the whole pool, and the statement is run once more on a new connection.  Saves that mask
  earlier rows (a form's end) and those of a tracker the cache did not serve keep the checked, transactional
  path (pool_pre_ping).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTIVE_LOOP
from rasa.shared.core.events import SessionStarted, UserUttered, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

import privacy
import settings
from bot.tracker_store.cache import Entry, TrackerCache

logger = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 500  # sender ids per statement (bound parameters stay well under every driver's limit)
EVENT_COLUMNS = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")  # what a turn stores
TAG_INDEX = "ix_events_sender_id_id"  # (sender_id, id): the cache's check is one index probe


# A string with no digit (ASCII or full-width) and no full-width sign is one `privacy.mask_text` returns as it is
# (most of an event's strings: keys' values such as intent and action names, replies without numbers).
_MASKABLE = re.compile(r"[\d－＋]")


def redact(value: Any) -> Any:
    """`value` (an event as a dict, or any part of it) with every phone-looking number in its strings masked."""
    if isinstance(value, str):
        return privacy.mask_text(value) if _MASKABLE.search(value) else value
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def form_run_start(tracker: DialogueStateTracker) -> float | None:
    """When the turn began that started the forms which just ended: the timestamp of the user message before
    the latest activation that followed a stretch with no form. A turn is stored at its end, raw when a form is
    active then, so the message that started a form ("我要申请公交数据，手机139…") was stored raw with it; every
    event before that turn was stored with no form active, i.e. masked already. A form's end thus masks only its
    own turns (the cost stays the form's length, not the conversation's). None when the tracker shows no form
    activation (mask everything)."""
    start, active, last_user = None, False, None
    for event in tracker.events:
        if event.type_name == UserUttered.type_name:
            last_user = event.timestamp
        elif event.type_name == ACTIVE_LOOP:
            now_active = bool(getattr(event, "name", None))
            if now_active and not active:
                start = last_user if last_user is not None else event.timestamp
            active = now_active
    return start


@dataclass(frozen=True)
class RetentionReport:
    conversations_deleted: int
    events_deleted: int
    conversations_checked: int
    events_redacted: int


class PrivacySQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        privacy.install_log_masking()  # the tracker store is built at start-up, before any conversation
        super().__init__(*args, **kwargs)
        # Stock, pooled PostgreSQL connections die with a server restart and the next message on each fails (the
        # turn is lost, the user gets no reply): with pool_pre_ping a dead connection is replaced before use.
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        # a turn's one-statement reads and appends: no ping, no transaction (see the module docstring)
        self.quick = sa.create_engine(url, isolation_level="AUTOCOMMIT", **create_engine_kwargs(url))
        self._tag_sql = self._sql("SELECT count({id}), max({id}) FROM {events} WHERE {sender_id} = ?")
        # the INSERT of a turn's rows: head + one `(?, …)` per row, comma-separated + tail
        columns = ", ".join(f"{{{column}}}" for column in EVENT_COLUMNS)
        self._insert_sql = (self._sql(f"INSERT INTO {{events}} ({columns}) VALUES "),
                            self._sql("(" + ", ".join("?" * len(EVENT_COLUMNS)) + ")"), self._sql(" RETURNING {id}"))
        conf = settings.get()
        self.cache = TrackerCache(conf.tracker_cache_conversations, conf.tracker_redact_idle_minutes)
        try:  # several Rasa processes may start at once: one of them creates it
            with self.engine.begin() as conn:
                conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {TAG_INDEX} ON events (sender_id, id)"))
        except sa.exc.DBAPIError as error:
            logger.warning("index %s not created (%s); the tracker cache's check reads the sender index", TAG_INDEX,
                           error)

    def _sql(self, statement: str) -> str:
        """`statement` with `{name}` quoted for this database and `?` in its driver's parameter style. The two
        statements of a turn are sent as text: building and caching SQLAlchemy constructs cost more CPU than the
        round trips themselves."""
        quote = self.quick.dialect.identifier_preparer.quote
        names = {name: quote(name) for name in ("id", "sender_id", *EVENT_COLUMNS)}
        statement = statement.format(events=quote(self.SQLEvent.__table__.name), **names)
        return statement.replace("?", "%s") if self.quick.dialect.paramstyle in ("format", "pyformat") else statement

    def _tag(self, conn: sa.engine.Connection, sender_id: str) -> tuple[int, int | None]:
        """(count, max id) of every stored row of the conversation: what the cache is checked against."""
        count, last = conn.exec_driver_sql(self._tag_sql, (sender_id,)).one()
        return int(count), last

    def _quickly(self, work: Callable[[sa.engine.Connection], T]) -> T:
        """`work(connection)` on an autocommit connection taken without a ping; once more when that connection was
        dead (SQLAlchemy has then invalidated the whole pool, so the second try connects afresh)."""
        for attempt in (1, 2):
            try:
                with self.quick.connect() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
                logger.warning("tracker store: a pooled connection was dead (%s); trying once more", error.orig)
        raise AssertionError("unreachable")

    def _load(self, conn: sa.engine.Connection, sender_id: str) -> Entry | None:
        tag = self._tag(conn, sender_id)  # before the events: a row committed in between makes a miss
        entry = self.cache.get(sender_id, tag)
        if entry is None and tag[0] == 0:  # a new conversation: cached empty, so its first save is a plain append
            entry = Entry(tag, [], time.time())
            self.cache.put(sender_id, entry)
        elif entry is None:
            with sa.orm.Session(bind=conn) as session:
                rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
            if not rows:
                return None
            events = deserialise_events([json.loads(row.data) for row in rows])
            entry = Entry(tag, events, max(e.timestamp for e in events) if events else 0.0)
            if len(events) == len(rows):  # else a row Rasa cannot read: leave the counting to SQL
                self.cache.put(sender_id, entry)
        return entry

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, as SQLTrackerStore returns it; from the cache when the database still holds what it
        held when the entry was filled."""
        if not self.cache.enabled or not self.domain:
            return await super().retrieve(sender_id)
        entry = self._quickly(lambda conn: self._load(conn, sender_id))
        if entry is None or not entry.events:
            return None
        return DialogueStateTracker.from_events(sender_id, list(entry.events), self.domain.slots)

    def _served_entry(self, tracker: DialogueStateTracker) -> Entry | None:
        """The cache entry this tracker was served from (its events extend the entry's very objects)."""
        entry = self.cache.peek(tracker.sender_id) if self.cache.enabled else None
        if entry is not None and not entry.events:  # nothing was stored when it was retrieved: all of it is new
            return entry
        if entry is None or len(tracker.events) < len(entry.events):
            return None
        if tracker.events[len(entry.events) - 1] is not entry.events[-1]:  # served trackers share the events
            return None
        return entry

    def _cached_prefix(self, session: Any, tracker: DialogueStateTracker) -> tuple[Entry, tuple] | None:
        """The cache entry this tracker was served from, if it is still what the database holds."""
        entry = self._served_entry(tracker)
        if entry is None:
            return None
        tag = self._tag(session.connection(), tracker.sender_id)
        return (entry, tag) if tag == entry.tag else None

    def _rows(self, tracker: DialogueStateTracker, events: list, masked: bool) -> list[dict[str, Any]]:
        """The events table's rows for `events` (their phones masked when `masked`)."""
        rows = []
        for event in events:
            data = event.as_dict()
            intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
            rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                         "timestamp": data.get("timestamp"), "intent_name": intent, "action_name": data.get("name"),
                         "data": json.dumps(redact(data) if masked else data)})
        return rows

    def _append(self, conn: sa.engine.Connection, rows: list[dict[str, Any]]) -> list[int]:
        """One multi-row INSERT; the new rows' ids, in the rows' order."""
        head, row_marks, tail = self._insert_sql
        sql = head + ", ".join([row_marks] * len(rows)) + tail
        ids = [row_id for (row_id,) in conn.exec_driver_sql(sql, tuple(row[c] for row in rows for c in EVENT_COLUMNS))]
        return sorted(ids)  # ids grow in insertion order; RETURNING's order is not promised

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender, no_form = tracker.sender_id, tracker.active_loop_name is None
        entry = self._served_entry(tracker)
        events = list(itertools.islice(tracker.events, len(entry.events) if entry else 0, len(tracker.events)))
        if entry and not (no_form and any(event.type_name == ACTIVE_LOOP for event in events)):
            # served this turn, checked then, the conversation locked since: append, nothing to mask in place
            self.cache.drop(sender)  # put back below once the rows are stored
            rows = self._rows(tracker, events, no_form)
            ids = self._quickly(lambda conn: self._append(conn, rows)) if rows else []
            self._extend(entry, entry.tag, [(row_id, row["data"]) for row_id, row in zip(ids, rows, strict=True)], sender)
            return
        with self.session_scope() as session:
            cached = self._cached_prefix(session, tracker)
            self.cache.drop(sender)  # put back below only if nothing makes it differ from the database
            stored = len(cached[0].events) if cached else self._event_query(session, sender, False).count()
            events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            rows = [self.SQLEvent(**row) for row in self._rows(tracker, events, no_form)]
            session.add_all(rows)
            session.flush()
            stored_rows = [(row.id, row.data) for row in rows]  # what the database now holds, for the cache
            rewritten = 0  # earlier rows masked in place: the cache cannot follow, drop the entry
            if no_form and any(event.type_name == ACTIVE_LOOP for event in events):
                rewritten = self._redact_conversations(session, [sender], since=form_run_start(tracker))
            session.commit()
        if cached and not rewritten:
            self._extend(cached[0], cached[1], stored_rows, sender)

    def _extend(self, entry: Entry, tag: tuple, stored_rows: list[tuple[int, str]], sender: str) -> None:
        """Put `entry` back, grown by the rows just stored after the database held `tag`."""
        new = deserialise_events([json.loads(data) for _, data in stored_rows])
        if len(new) != len(stored_rows):
            return  # an unreadable row: reload
        count, last = tag
        entry.events += new
        starts = [event.timestamp for event in new if isinstance(event, SessionStarted)]
        if starts:  # a new session: what `_event_query` now returns, events from the latest start's timestamp on
            entry.events = [event for event in entry.events if event.timestamp >= max(starts)]
        entry.tag = (count + len(stored_rows), max([last or 0, *(row_id for row_id, _ in stored_rows)]))
        entry.last_timestamp = max([entry.last_timestamp, *(event.timestamp for event in new)])
        self.cache.put(sender, entry)

    def _redact_conversations(self, session: Any, sender_ids: Iterable[str], since: float | None = None) -> int:
        """Mask the phones in the stored events of these conversations (those stored at or after `since`, when
        given); the number of events changed."""
        changed, ids = 0, list(sender_ids)
        for start in range(0, len(ids), BATCH):
            rows = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id.in_(ids[start:start + BATCH]))
            if since is not None:
                rows = rows.filter(self.SQLEvent.timestamp >= since)
            for row in rows.yield_per(1000):
                masked = json.dumps(redact(json.loads(row.data)))
                if masked != row.data:
                    row.data = masked
                    changed += 1
        return changed

    def apply_retention(self, retention_days: int, redact_idle_minutes: int,
                        now: float | None = None) -> RetentionReport:
        """Delete conversations idle longer than `retention_days`; mask phones in those idle longer than
        `redact_idle_minutes` (forms abandoned half-way)."""
        now = time.time() if now is None else now
        event = self.SQLEvent
        with self.session_scope() as session:
            last = session.query(event.sender_id, sa.func.max(event.timestamp)).group_by(event.sender_id).all()
            expired = [sender for sender, at in last if (at or 0) < now - retention_days * 86400]
            idle = [sender for sender, at in last
                    if (at or 0) < now - redact_idle_minutes * 60 and sender not in set(expired)]
            deleted = 0
            for start in range(0, len(expired), BATCH):
                deleted += session.query(event).filter(
                    event.sender_id.in_(expired[start:start + BATCH])).delete(synchronize_session=False)
            redacted = self._redact_conversations(session, idle)
            session.commit()
        self.cache.clear()  # rows were masked or deleted under it
        report = RetentionReport(len(expired), deleted, len(idle), redacted)
        logger.info("tracker retention: %s", report)
        return report

"""The tracker cache in front of the SQL tracker store: a conversation's events stay in memory between its turns.

Loading a tracker from SQL (every event's JSON parsed, every event object built) grows with the conversation
(≈ 190 ms at 1,800 events on this machine); replaying events already built takes ≈ 1.5 ms.  The cache keeps, per
conversation, the events of its current session exactly as the SQL store would return them (built from the JSON
that was stored, so phone masking is what it is in the database) and a *tag* of what the database held then:
`(count, max id)` of all the conversation's rows.

A cached tracker is served only after one indexed query, `SELECT count(*), max(id) … WHERE sender_id = ?` (on
the `(sender_id, id)` index the store adds), returns the same tag.  Why that proves the cache is current:
- rows are only ever appended (another Rasa process after a failover), deleted (retention) or masked in place
  (retention, by another process); ids come from one sequence and are never reused;
- an append raises the count; a delete lowers it; a delete plus an append keeps the count only if the max id
  changes (the new row's id is larger than every id ever handed out);
- masking in place changes neither, so a cached conversation is not served once it has been idle for
  TRACKER_REDACT_IDLE_MINUTES (minus a minute): the retention command only masks conversations idle that long,
  and the store's own masking (a form's end, a phone outside a form) drops the entry instead of updating it;
- the tag is read *before* the events when an entry is filled, so a row committed between the two reads makes
  the entry's tag older than its events: the next check misses and reloads (never the reverse).
A served tracker is a replay of the cached event objects (Rasa treats events as values; the one in-place change
it makes, EntitiesAdded adding to the latest user message, follows a new user message, which is never a cached
object), and a save appends events rebuilt from the JSON it stored, never the live ones.
A conversation with no stored row is cached empty when it is first retrieved (nothing is served from it; its
first save appends like any other).  A save whose new events start a new session keeps only what the SQL store
now returns: the events from the latest `SessionStarted`'s timestamp on.  Any error drops the entry: a miss costs
one SQL load, never a wrong tracker.

Bounded: at most TRACKER_CACHE_CONVERSATIONS conversations per process, least recently used evicted first;
0 turns the cache off.  Conversations are pinned to one Rasa process (consistent hashing in the production
profile, one process embedded), so each process caches its own conversations.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from rasa.shared.core.events import Event

IDLE_MARGIN_SECONDS = 60.0  # clock skew between this process and the retention command
REPORT_EVERY = 1000  # lookups between two log lines on the cache's use

logger = logging.getLogger(__name__)


@dataclass
class Entry:
    tag: tuple[int, int | None]  # (count, max id) of all stored rows of the conversation
    events: list[Event]  # the current session's events as the SQL store would return them
    last_timestamp: float  # of the newest stored event: how long the conversation has been idle


class TrackerCache:
    """LRU of `Entry` by sender id.  Not thread-safe: Rasa calls the tracker store from its event loop."""

    def __init__(self, size: int, redact_idle_minutes: int) -> None:
        self.size = size
        self.max_idle = max(0.0, redact_idle_minutes * 60 - IDLE_MARGIN_SECONDS)
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def get(self, sender_id: str, tag: tuple[int, int | None], now: float | None = None) -> Entry | None:
        """The entry if the database still holds exactly what it held (same tag) and retention cannot have
        masked it since; otherwise None (and the entry is dropped)."""
        if (self.hits + self.misses + 1) % REPORT_EVERY == 0:
            logger.info("tracker cache: %d conversations, %d hits, %d misses", len(self.entries), self.hits,
                        self.misses)
        entry = self.entries.get(sender_id)
        now = time.time() if now is None else now
        if entry is None or entry.tag != tag or now - entry.last_timestamp > self.max_idle:
            self.entries.pop(sender_id, None)
            self.misses += 1
            return None
        self.entries.move_to_end(sender_id)
        self.hits += 1
        return entry

    def put(self, sender_id: str, entry: Entry) -> None:
        if not self.enabled:
            return
        self.entries[sender_id] = entry
        self.entries.move_to_end(sender_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def peek(self, sender_id: str) -> Entry | None:
        """The entry without any check (the save path checks the tag itself)."""
        return self.entries.get(sender_id)

    def drop(self, sender_id: str) -> None:
        self.entries.pop(sender_id, None)

    def clear(self) -> None:
        self.entries.clear()

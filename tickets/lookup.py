"""The public status lookup (ticket number + last four phone digits): rate limits and an audit log.

Both entries (the web API's `GET /api/tickets/{number}/status` and the conversation's action_check_ticket) call
`check`.  Failed lookups are counted per ticket number and per client (the client address, or a pseudonym of the
conversation); once either count reaches its limit (settings: STATUS_LOOKUP_*) every lookup of that ticket or by
that client is refused until the window has passed, found or not, so guessing the tail is not worth trying.
Counts live in the memory of each process (with several web workers the limit applies per worker).  Every lookup
is written to the `tickets.audit` logger: who asked, which ticket, the result and the tail's last two digits only.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict, deque

from sqlalchemy.orm import Session

import settings
from tickets import numbering, service
from tickets.models import Ticket

audit = logging.getLogger("tickets.audit")

LIMITED_TEXT = "查询次数过多。为保护申请人的信息，请{minutes}分钟后再查询。"


class RateLimit:
    """At most `limit` counted events per key within a sliding window of `window` seconds (thread-safe)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def wait(self, key: str, limit: int, window: float) -> float:
        """Seconds until `key` may act again; 0 when it is under its limit."""
        now = time.monotonic()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                return 0.0
            while events and events[0] <= now - window:
                events.popleft()
            return events[0] + window - now if len(events) >= limit else 0.0

    def hit(self, key: str) -> None:
        with self._lock:
            self._events.setdefault(key, deque()).append(time.monotonic())
            self._events.move_to_end(key)
            while len(self._events) > self._max_keys:  # memory stays bounded under a flood of new keys
                self._events.popitem(last=False)

    def take(self, key: str, limit: int, window: float) -> float:
        """Count one event unless `key` is at its limit; returns the wait (0: counted, allowed)."""
        wait = self.wait(key, limit, window)
        if not wait:
            self.hit(key)
        return wait


class Limited(Exception):
    """Too many failed lookups for this ticket or from this client."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"status lookups limited for {self.retry_after} s")

    @property
    def message(self) -> str:
        return LIMITED_TEXT.format(minutes=max(1, math.ceil(self.retry_after / 60)))


class Limits:
    """The failed-lookup counts of one process (the web app keeps its own; the action server uses DEFAULT)."""

    def __init__(self) -> None:
        self.tickets = RateLimit()
        self.clients = RateLimit()


DEFAULT = Limits()


def chat_client(sender_id: str) -> str:
    """The client name of a conversation in the audit log and the limits: a pseudonym, not the sender id."""
    return "chat:" + hashlib.sha256(f"status-lookup:{sender_id}".encode()).hexdigest()[:12]


def check(session: Session, number: str | None, tail: str | None, client: str,
          limits: Limits = DEFAULT) -> Ticket | None:
    """`service.lookup_public` within the limits, audited; raises `Limited` when over a limit."""
    conf = settings.get()
    ticket_key = numbering.normalise(number) or (number or "").strip()[:40]
    wait = max(limits.tickets.wait(ticket_key, conf.status_lookup_ticket_limit,
                                   conf.status_lookup_ticket_window_minutes * 60),
               limits.clients.wait(client, conf.status_lookup_client_limit,
                                   conf.status_lookup_client_window_minutes * 60))
    shown_tail = "**" + (tail or "")[-2:]
    if wait:
        audit.warning("status lookup: client=%s ticket=%s tail=%s result=limited", client, ticket_key, shown_tail)
        raise Limited(wait)
    ticket = service.lookup_public(session, number, tail)
    if ticket is None:
        limits.tickets.hit(ticket_key)
        limits.clients.hit(client)
    audit.info("status lookup: client=%s ticket=%s tail=%s result=%s", client, ticket_key, shown_tail,
               "found" if ticket is not None else "not_found")
    return ticket

"""Rasa's lock store in the production profile (ops/prod/endpoints.yml): it outlives a restart of Redis.
(The tracker store, `bot.tracker_store.PrivacySQLTrackerStore`, outlives a PostgreSQL restart the same way.)

`ResilientRedisLockStore`: stock `RedisLockStore` raises on every message while Redis is down, so every user
gets an error.  Here a Redis connection error is logged once, clearly ("Redis lock store unreachable …"), and
the conversation is locked in this process only until Redis answers again (tried every RETRY_SECONDS; logged
as well).  That is safe because haproxy pins every
conversation to one Rasa process (consistent hashing on the sender); Redis matters when a process dies and its
conversations move, which is exactly when its locks must not be trusted for longer than TICKET_LOCK_LIFETIME.

Fewer round trips than stock (4 per message instead of 7), with the same tickets: stock `lock()` reads the lock
again right after issuing the ticket (nothing can have run in between in this process: no await separates them)
and its cleanup reads, writes and reads the lock again before deleting it.  Here the lock just issued is used
as it is when the ticket is already being served, and the cleanup reads once, then writes the lock (someone
still waits) or deletes it.
"""

from __future__ import annotations

import logging
import time

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
RETRY_SECONDS = 5.0


class ResilientRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
        self.address = f"{endpoint_config.url}:{endpoint_config.kwargs.get('port', 6379)}"
        self.local = InMemoryLockStore()
        self.down_since: float | None = None  # while down, Redis is tried again every RETRY_SECONDS
        self.issued: dict[str, TicketLock] = {}  # conversation → the lock as its latest ticket was issued
        self.saved: TicketLock | None = None  # the lock last saved

    def _call(self, name: str, *args):  # noqa: ANN202
        now = time.monotonic()
        if self.down_since is not None and now - self.down_since < RETRY_SECONDS:
            return getattr(self.local, name)(*args)
        try:
            result = getattr(super(), name)(*args)
        except REDIS_DOWN as error:
            if self.down_since is None:
                logger.error("Redis lock store unreachable at %s (%s); conversations are locked in this process "
                             "only until it is back", self.address, error)
            self.down_since = now
            return getattr(self.local, name)(*args)
        if self.down_since is not None:
            logger.warning("Redis lock store at %s reachable again", self.address)
            self.down_since = None
        return result

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._call("get_lock", conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._call("delete_lock", conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._call("save_lock", lock)
        self.saved = lock

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Stock issue_ticket (whose last step saves the lock with the new ticket), keeping that lock."""
        ticket = super().issue_ticket(conversation_id, lock_lifetime)
        self.issued[conversation_id] = self.saved
        return ticket

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        lock = self.issued.pop(conversation_id, None)
        if lock is not None and not lock.is_locked(ticket):
            return lock  # what stock's first read would return: nothing ran since the save
        return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Stock cleanup (finish serving the ticket, delete the lock unless someone waits) with one read."""
        lock = self.get_lock(conversation_id)
        if lock:
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                self.save_lock(lock)
                return
        self.delete_lock(conversation_id)

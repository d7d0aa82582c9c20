"""Rasa's lock store in the production profile (ops/prod/endpoints.yml): it outlives a restart of Redis.
(The tracker store, `bot.tracker_store.PrivacySQLTrackerStore`, outlives a PostgreSQL restart the same way.)

`ResilientRedisLockStore`: stock `RedisLockStore` raises on every message while Redis is down, so every user
gets an error.  Here a Redis connection error is logged once, clearly ("Redis lock store unreachable …"), and
the conversation is locked in this process only until Redis answers again (tried every RETRY_SECONDS; logged
as well).  That is safe because haproxy pins every
conversation to one Rasa process (consistent hashing on the sender); Redis matters when a process dies and its
conversations move, which is exactly when its locks must not be trusted for longer than TICKET_LOCK_LIFETIME.
"""

from __future__ import annotations

import logging
import time

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
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

"""Rasa's lock store in the production profile (ops/prod/endpoints.yml): it outlives a restart of Redis.
(The tracker store, `bot.tracker_store.PrivacySQLTrackerStore`, outlives a PostgreSQL restart the same way.)

`ResilientRedisLockStore`: stock `RedisLockStore` raises on every message while Redis is down, so every user
gets an error.  Here a Redis connection error is logged once, clearly ("Redis lock store unreachable …"), and
the conversation is locked in this process only until Redis answers again (tried every RETRY_SECONDS; logged
as well).  That is safe because haproxy pins every
conversation to one Rasa process (consistent hashing on the sender); Redis matters when a process dies and its
conversations move, which is exactly when its locks must not be trusted for longer than TICKET_LOCK_LIFETIME.

Two round trips per message instead of stock's seven, with the same tickets: stock's two read-modify-write steps
run as Lua scripts in Redis (ISSUE: read the lock, drop expired tickets, append the next number, save; FINISH:
read it, drop expired tickets and the finished one, save it if someone still waits, else delete it), which also
closes stock's race between reading and writing the lock.  Stock `lock()` reads the lock again right after
issuing the ticket; here the lock the script saved is used as it is when the ticket is already being served
(nothing can have run in between in this process: no await separates them).  The lock text is the one stock
writes (`TicketLock.dumps`: each ticket a JSON string inside the list; expiry times as Python writes them).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
RETRY_SECONDS = 5.0

# The live tickets of the lock at KEYS[1] (expired: now > expires, as `Ticket.has_expired`), each kept as the JSON
# string it was saved as, re-encoded as an element of the list; `lock_text` puts the lock back together.
LIVE_TICKETS = """
local function live_tickets(lock, now, finished)
  local kept, last = {}, -1
  for _, text in ipairs(lock.tickets or {}) do
    local ticket = cjson.decode(text)
    if not (now > ticket.expires) and ticket.number ~= finished then
      kept[#kept + 1] = cjson.encode(text)
      last = ticket.number
    end
  end
  return kept, last
end
local function lock_text(conversation_id, kept)
  return '{"conversation_id": ' .. cjson.encode(conversation_id) .. ', "tickets": [' .. table.concat(kept, ', ')
    .. ']}'
end
"""
# ARGV: conversation id, now, the new ticket's expiry (as Python writes the float).  Returns {number, lock text}.
ISSUE = LIVE_TICKETS + """
local raw = redis.call('GET', KEYS[1])
local kept, last = {}, -1
if raw then kept, last = live_tickets(cjson.decode(raw), tonumber(ARGV[2]), nil) end
local number = last + 1
kept[#kept + 1] = cjson.encode('{"number": ' .. string.format('%d', number) .. ', "expires": ' .. ARGV[3] .. '}')
local text = lock_text(ARGV[1], kept)
redis.call('SET', KEYS[1], text)
return {number, text}
"""
# ARGV: the finished ticket's number, now.  Returns 1 when the lock was kept (someone waits), else 0 (deleted).
FINISH = LIVE_TICKETS + """
local raw = redis.call('GET', KEYS[1])
if raw then
  local lock = cjson.decode(raw)
  local kept = live_tickets(lock, tonumber(ARGV[2]), tonumber(ARGV[1]))
  if #kept > 0 then
    redis.call('SET', KEYS[1], lock_text(lock.conversation_id, kept))
    return 1
  end
end
redis.call('DEL', KEYS[1])
return 0
"""


class ResilientRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
        self.address = f"{endpoint_config.url}:{endpoint_config.kwargs.get('port', 6379)}"
        self.local = InMemoryLockStore()
        self.down_since: float | None = None  # while down, Redis is tried again every RETRY_SECONDS
        self.issued: dict[str, TicketLock] = {}  # conversation → the lock as its latest ticket was issued
        self.issue_script = self.red.register_script(ISSUE)  # EVALSHA, loaded again after a Redis restart
        self.finish_script = self.red.register_script(FINISH)

    def _call(self, in_redis: Callable[[], T], in_process: Callable[[], T]) -> T:
        now = time.monotonic()
        if self.down_since is not None and now - self.down_since < RETRY_SECONDS:
            return in_process()
        try:
            result = in_redis()
        except REDIS_DOWN as error:
            if self.down_since is None:
                logger.error("Redis lock store unreachable at %s (%s); conversations are locked in this process "
                             "only until it is back", self.address, error)
            self.down_since = now
            return in_process()
        if self.down_since is not None:
            logger.warning("Redis lock store at %s reachable again", self.address)
            self.down_since = None
        return result

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._call(lambda: super(ResilientRedisLockStore, self).get_lock(conversation_id),
                          lambda: self.local.get_lock(conversation_id))

    def delete_lock(self, conversation_id: str) -> None:
        self._call(lambda: super(ResilientRedisLockStore, self).delete_lock(conversation_id),
                   lambda: self.local.delete_lock(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        self._call(lambda: super(ResilientRedisLockStore, self).save_lock(lock), lambda: self.local.save_lock(lock))

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Stock issue_ticket in one round trip (ISSUE), keeping the lock it saved."""
        def in_redis() -> int:
            now = time.time()
            number, text = self.issue_script(keys=[self.key_prefix + conversation_id],
                                             args=[conversation_id, repr(now), repr(now + lock_lifetime)])
            self.issued[conversation_id] = TicketLock.from_dict(json.loads(text))
            return int(number)
        try:
            return self._call(in_redis, lambda: self.local.issue_ticket(conversation_id, lock_lifetime))
        except Exception as error:  # as stock: any failure to issue is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        lock = self.issued.pop(conversation_id, None)
        if lock is not None and not lock.is_locked(ticket):
            return lock  # what stock's first read would return: nothing ran since the save
        return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Stock cleanup (finish serving the ticket, delete the lock unless someone waits) in one round trip."""
        self._call(lambda: self.finish_script(keys=[self.key_prefix + conversation_id],
                                              args=[ticket_number, repr(time.time())]),
                   lambda: self.local.cleanup(conversation_id, ticket_number))

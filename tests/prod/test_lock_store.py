"""bot.stores.ResilientRedisLockStore on the profile's real Redis: stock Rasa's ticket semantics in two round trips."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
import uuid
from collections import deque

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.stores import ResilientRedisLockStore

# sha256 of the stock methods bot.stores reorders (Rasa 3.6.21): an upgrade that changes one fails here first.
STOCK_SHA256 = {
    "lock": "8b9b716c031a34445100c32e7123859553831d2ac4747ae2b47a581f137ea371",
    "issue_ticket": "4dfdfb5e62c1dda994b30fe56f20994a55d54493d1f1b84e8a0ec2e8291036b8",
    "_acquire_lock": "ead2fff373291c24619f2a2b53453f64ed2975ed68f53dce0e56041061356f05",
    "cleanup": "f2ba1745c8153f923521ce87419bf04a30c5764e1680f15d5d30bd7e4d65dac5",
    "finish_serving": "ba76ac5a486b97dda51d0522ca2978fd8a5ccd01c26e1124ba31169f948945f9",
    "is_someone_waiting": "85a36ef37a3260721d563813ad680c8d6397c9669e74c96d6593601e12fc2eaa",
}


@pytest.mark.parametrize("name", sorted(STOCK_SHA256))
def test_stock_lock_store_is_what_the_shortcuts_were_written_against(name):
    source = inspect.getsource(getattr(LockStore, name))
    assert hashlib.sha256(source.encode()).hexdigest() == STOCK_SHA256[name], (
        f"Rasa's LockStore.{name} changed: check bot/stores.py's issue_ticket/_acquire_lock/cleanup against it")


def _stores(prod) -> tuple[ResilientRedisLockStore, RedisLockStore, redis.Redis]:  # noqa: ANN001
    host, port = prod.conf.redis_host, prod.conf.redis_port
    ours = ResilientRedisLockStore(EndpointConfig(url=host, port=port, db=1, key_prefix="locktest"))
    stock = RedisLockStore(host=host, port=port, db=1, key_prefix="lockstock")
    return ours, stock, redis.Redis(host=host, port=port, db=1)


def _count_round_trips(store: RedisLockStore) -> list[str]:  # noqa: ANN001
    """From now on, every command `store`'s client sends (one round trip each) is listed by name."""
    sent: list[str] = []
    send = store.red.execute_command

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        sent.append(args[0])
        return send(*args, **kwargs)

    store.red.execute_command = counting
    return sent


async def _one_message(store: RedisLockStore, conversation: str, seen: list) -> None:  # noqa: ANN001
    async with store.lock(conversation, wait_time_in_seconds=0.01) as lock:
        seen.append((conversation, lock.now_serving))


def test_one_message_takes_two_round_trips_instead_of_seven_and_leaves_no_lock(prod):
    ours, stock, _ = _stores(prod)
    asyncio.run(_one_message(ours, uuid.uuid4().hex, []))  # the scripts loaded into Redis
    for store, expected in ((stock, ["GET", "SET", "GET", "GET", "SET", "GET", "DEL"]), (ours, ["EVALSHA"] * 2)):
        conversation, seen = uuid.uuid4().hex, []
        sent = _count_round_trips(store)
        asyncio.run(_one_message(store, conversation, seen))
        assert sent == expected, store
        assert seen == [(conversation, 0)]  # the first ticket, served at once
        assert store.get_lock(conversation) is None  # deleted once nobody waits


def _tickets(lock) -> list[tuple[int, float]]:  # noqa: ANN001
    return [(ticket.number, ticket.expires) for ticket in lock.tickets] if lock else []


@pytest.mark.parametrize("ages", [[], [-5], [-5, 30], [30, -5, 40], [30, 40]])
def test_tickets_issued_and_finished_as_stock_around_expired_ones(prod, ages):
    """The same lock (tickets that expired `age` < 0 seconds ago or expire in `age` > 0) in both stores: the next
    ticket gets the same number, the saved locks hold the same tickets (read by stock's `get_lock`), and finishing
    the first live ticket keeps or deletes the lock as stock does."""
    from rasa.core.lock import Ticket, TicketLock

    ours, stock, _ = _stores(prod)
    ours.key_prefix = stock.key_prefix  # both read with stock's get_lock below
    now = time.time()
    results = []
    for store in (stock, ours):
        conversation = uuid.uuid4().hex
        stock.save_lock(TicketLock(conversation, deque(Ticket(i + 3, now + age) for i, age in enumerate(ages))))
        number = store.issue_ticket(conversation, 60)
        issued = _tickets(stock.get_lock(conversation))
        first_live = stock.get_lock(conversation).now_serving
        store.cleanup(conversation, first_live)
        results.append((number, issued, _tickets(stock.get_lock(conversation))))
    (stock_number, stock_issued, stock_left), (number, issued, left) = results
    assert number == stock_number
    assert [n for n, _ in issued] == [n for n, _ in stock_issued]
    assert [e for _, e in issued[:-1]] == [e for _, e in stock_issued[:-1]]  # kept exactly as saved
    assert issued[-1][1] == pytest.approx(stock_issued[-1][1], abs=1.0)  # now + 60 s, each store's own now
    assert [n for n, _ in left] == [n for n, _ in stock_left]


def test_messages_of_one_conversation_are_served_one_after_the_other_in_ticket_order(prod):
    ours, stock, _ = _stores(prod)

    async def three(store: RedisLockStore, conversation: str) -> list[str]:
        order: list[str] = []

        async def message(name: str, hold: float) -> None:
            async with store.lock(conversation, wait_time_in_seconds=0.01):
                order.append(f"{name} in")
                await asyncio.sleep(hold)
                order.append(f"{name} out")

        await asyncio.gather(message("a", 0.1), message("b", 0.0), message("c", 0.0))
        return order

    conversation = uuid.uuid4().hex
    expected = asyncio.run(three(stock, conversation))
    assert expected == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert asyncio.run(three(ours, conversation)) == expected
    assert ours.get_lock(conversation) is None and stock.get_lock(conversation) is None


def test_a_ticket_issued_elsewhere_meanwhile_is_kept_by_the_cleanup(prod):
    ours, stock, _ = _stores(prod)
    ours.key_prefix = stock.key_prefix  # one lock, two stores: another process issuing a ticket mid-turn

    async def turn(conversation: str) -> int:
        async with ours.lock(conversation, wait_time_in_seconds=0.01):
            return stock.issue_ticket(conversation)

    conversation = uuid.uuid4().hex
    waiting = asyncio.run(turn(conversation))
    lock = stock.get_lock(conversation)
    assert lock is not None and lock.now_serving == waiting  # the other ticket is next, not deleted
    stock.cleanup(conversation, waiting)
    assert stock.get_lock(conversation) is None


def test_a_lock_that_cannot_be_read_fails_to_issue_as_stock(prod):
    """A key holding something that is no lock: both stores raise LockError (stock wraps every issuing failure)."""
    ours, stock, client = _stores(prod)
    for store in (stock, ours):
        conversation = uuid.uuid4().hex
        client.set(store.key_prefix + conversation, "not a lock")
        with pytest.raises(LockError, match="Error while acquiring lock"):
            store.issue_ticket(conversation)
        client.delete(store.key_prefix + conversation)

"""bot.stores.ResilientRedisLockStore on the profile's real Redis: stock Rasa's ticket semantics in fewer round trips."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import uuid

import pytest
import redis
from rasa.core.lock_store import LockStore, RedisLockStore
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


def _commands(client: redis.Redis) -> int:
    """Commands Redis has run so far (INFO itself excluded)."""
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


async def _one_message(store: RedisLockStore, conversation: str, seen: list) -> None:  # noqa: ANN001
    async with store.lock(conversation, wait_time_in_seconds=0.01) as lock:
        seen.append((conversation, lock.now_serving))


def test_one_message_takes_four_round_trips_instead_of_seven_and_leaves_no_lock(prod):
    ours, stock, client = _stores(prod)
    for store, expected in ((stock, 7), (ours, 4)):
        conversation, seen = uuid.uuid4().hex, []
        store.get_lock(conversation)  # the client's connection opened (its SELECT not counted)
        before = _commands(client)
        asyncio.run(_one_message(store, conversation, seen))
        assert _commands(client) - before == expected, store
        assert seen == [(conversation, 0)]  # the first ticket, served at once
        assert store.get_lock(conversation) is None  # deleted once nobody waits


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

"""Hostile and oversized input at the REST and socket.io channels (real channels in a real Sanic server, a small
echo bot behind them: it answers "收到：<what it was given>", "boom" raises)."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

import settings
from bot.channels.intake import BUSY_TEXT, LONG_NOTICE, TOO_LONG_TEXT

CAP = settings.get().nlu_max_chars
ORIGIN = settings.get().allowed_origin
LONG = "我想反映一下情况。" * 1800 + "请问怎么申请公交实时数据？"  # 16,213 characters, the request at the end
HUGE = "数" * (1024 * 1024 // 3 + 1)  # 1 MB of UTF-8


def rest(server, payload, headers: dict | None = None) -> requests.Response:
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return requests.post(f"{server.url}/webhooks/rest/webhook", data=body, timeout=60,
                         headers={"Content-Type": "application/json", **(headers or {})})


def say(server, text: str, sender: str | None = None) -> list[str]:
    reply = rest(server, {"sender": sender or uuid.uuid4().hex, "message": text})
    assert reply.status_code == 200, reply.text
    return [m.get("text") for m in reply.json()]


def test_a_normal_message_passes_unchanged(server):
    sender = uuid.uuid4().hex
    assert say(server, "怎么申请数据", sender) == ["收到：怎么申请数据"]
    [turn] = server.turns(sender)
    assert turn["input_channel"] == "rest" and turn["metadata"] == {}


def test_a_long_message_is_cut_to_its_last_sentences_for_nlu_and_kept_whole(server):
    sender = uuid.uuid4().hex
    notice, answer = say(server, LONG, sender)
    assert notice == LONG_NOTICE.format(cap=CAP)
    [turn] = server.turns(sender)
    assert len(turn["text"]) <= CAP and turn["text"].endswith("请问怎么申请公交实时数据？")
    assert turn["text"].startswith("我想反映")  # whole sentences, not a cut word
    assert answer == f"收到：{turn['text']}"
    assert turn["metadata"]["full_text"] == LONG


def test_a_1mb_message_is_refused_politely_and_never_reaches_the_bot(server):
    sender = uuid.uuid4().hex
    assert say(server, HUGE, sender) == [TOO_LONG_TEXT.format(size=len(HUGE), cap=CAP)]
    assert server.turns(sender) == []


def test_big_messages_in_parallel_do_not_hold_up_a_short_one(server):
    short = uuid.uuid4().hex
    with ThreadPoolExecutor(8) as pool:
        big = [pool.submit(say, server, text) for text in (HUGE, LONG, HUGE, LONG, HUGE, LONG)]
        assert pool.submit(say, server, "你好", short).result() == ["收到：你好"]
        assert all(len(f.result()) in (1, 2) for f in big)


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b"[" * 100000 + b"]" * 100000, 400, "not valid JSON"),  # RecursionError in the parser
    ({"sender": 42, "message": "hi"}, 400, "'sender'"),
    ({"sender": "", "message": "hi"}, 400, "'sender'"),
    ({"sender": "x" * 1000, "message": "hi"}, 400, "'sender'"),
    ({"sender": "a\ud800", "message": "hi"}, 400, "'sender'"),
    ({"sender": "a", "message": ["list"]}, 400, "'message'"),
    ({"sender": "a", "message": {"text": "x"}}, 400, "'message'"),
    ({"sender": "a"}, 400, "'message'"),
    ({"sender": "a", "message": "hi", "metadata": "str"}, 400, "'metadata'"),
    ({"sender": "a", "message": "hi", "metadata": {"x": "y" * 100000}}, 400, "'metadata'"),
])
def test_malformed_bodies_get_a_precise_400(server, body, status, reason):
    reply = rest(server, body)
    assert reply.status_code == status
    assert reason in reply.json()["error"]


def test_a_lone_surrogate_is_repaired_not_a_500(server):
    sender = uuid.uuid4().hex
    reply = rest(server, f'{{"sender": "{sender}", "message": "\\ud800你好"}}')
    assert reply.status_code == 200 and reply.json()[0]["text"] == "收到：?你好"


def test_the_client_cannot_choose_the_input_channel(server):
    sender = uuid.uuid4().hex
    rest(server, {"sender": sender, "message": "hi", "input_channel": "wechat"})
    assert [t["input_channel"] for t in server.turns(sender)] == ["rest"]


def test_a_failing_turn_gets_the_busy_reply_and_the_next_one_works(server):
    sender = uuid.uuid4().hex
    assert say(server, "boom", sender) == [BUSY_TEXT]
    assert say(server, "还在吗", sender) == ["收到：还在吗"]


def test_rest_channel_off_or_behind_a_token(spawn_channels):
    closed = spawn_channels("rest-off", REST_CHANNEL="off")
    assert rest(closed, {"sender": "a", "message": "hi"}).status_code == 403
    assert closed.turns() == []
    guarded = spawn_channels("rest-token", REST_TOKEN="s3cret-token")
    assert rest(guarded, {"sender": "a", "message": "hi"}).status_code == 401
    wrong = rest(guarded, {"sender": "a", "message": "hi"}, {"Authorization": "Bearer guess"})
    right = rest(guarded, {"sender": "a", "message": "hi"}, {"Authorization": "Bearer s3cret-token"})
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert [t["text"] for t in guarded.turns()] == ["hi"]


# --- socket.io ---------------------------------------------------------------------------------------------

class Chat:
    """A socket.io client as the chat page uses it."""

    def __init__(self, url: str, origin: str = ORIGIN) -> None:
        self.url, self.origin = url, origin
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session: asyncio.Future = asyncio.get_running_loop().create_future()
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sio.on("session_confirm", lambda sid: self.session.done() or self.session.set_result(sid))
        self.sio.on("bot_uttered", self.inbox.put)

    async def __aenter__(self) -> Chat:
        await self.sio.connect(self.url, headers={"Origin": self.origin}, transports=["polling"],
                               socketio_path="/socket.io")
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.sio.eio.disconnect(abort=True)  # do not wait for the pending long-poll

    async def start(self, session_id: str | None = None) -> str:
        await self.sio.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.session, 10)

    async def say(self, text: str, session_id: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})

    async def replies(self, count: int = 1, timeout: float = 20) -> list[str]:
        return [(await asyncio.wait_for(self.inbox.get(), timeout))["text"] for _ in range(count)]

    async def nothing(self, wait: float = 1.0) -> bool:
        try:
            await asyncio.wait_for(self.inbox.get(), wait)
            return False
        except asyncio.TimeoutError:
            return True


def run(coro):
    return asyncio.run(coro)


def test_socketio_session_ids_are_minted_by_the_server(server):
    async def scenario() -> None:
        async with Chat(server.url) as chat:
            for asked in ("alice", "1", "../x", None, {"x": 1}):
                minted = await chat.start(asked)
                assert minted != asked and len(minted) == 32
                chat.session = asyncio.get_running_loop().create_future()
            kept = uuid.uuid4().hex  # the page continuing its own session after a reload
            assert await chat.start(kept) == kept
            await chat.say("你好", kept)
            assert await chat.replies() == ["收到：你好"]
    run(scenario())
    assert server.turns()  # the server still serves


def test_socketio_messages_only_for_the_session_bound_to_the_connection(server):
    async def scenario() -> None:
        async with Chat(server.url) as alice, Chat(server.url) as mallory:
            alice_session = await alice.start()
            mallory_session = await mallory.start()
            await mallory.say("偷看别人的对话", alice_session)  # another person's session id
            await mallory.sio.emit("user_uttered", {"message": "没有会话"})  # no session id: its own
            assert await mallory.replies() == ["收到：没有会话"]
            assert await alice.nothing() and await mallory.nothing()
            assert [t["text"] for t in server.turns(alice_session)] == []
            assert [t["text"] for t in server.turns(mallory_session)] == ["没有会话"]
    run(scenario())


def test_socketio_a_message_before_the_session_is_refused(server):
    async def scenario() -> None:
        async with Chat(server.url) as chat:
            await chat.sio.emit("user_uttered", {"message": "抢先", "session_id": uuid.uuid4().hex})
            assert await chat.nothing()
    run(scenario())


def test_socketio_refuses_other_origins(server):
    async def scenario() -> None:
        with pytest.raises(socketio.exceptions.ConnectionError):
            async with Chat(server.url, origin="https://evil.example"):
                pass
    run(scenario())


def test_socketio_long_and_huge_messages(server):
    async def scenario() -> None:
        async with Chat(server.url) as big, Chat(server.url) as other:
            big_session, other_session = await big.start(), await other.start()
            await big.say(LONG, big_session)
            notice, answer = await big.replies(2)
            assert notice == LONG_NOTICE.format(cap=CAP) and answer.endswith("请问怎么申请公交实时数据？")
            await big.say("数" * 30000, big_session)  # over the limit, under the transport's: a polite refusal
            assert await big.replies() == [TOO_LONG_TEXT.format(size=30000, cap=CAP)]
            await big.say(HUGE, big_session)  # over the transport's limit: the connection is closed
            await other.say("你好", other_session)
            assert await other.replies() == ["收到：你好"]
        assert [t["text"] for t in server.turns(other_session)] == ["你好"]
    run(scenario())

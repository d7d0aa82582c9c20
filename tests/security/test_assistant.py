"""The real assistant (Rasa with the trained model, the action server, the SQL tracker store) under hostile input:
the action server down, oversized messages in parallel, CORS, and no full phone number in its logs or tracker
store afterwards."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import settings
from bot.channels.intake import BUSY_TEXT, LONG_NOTICE, TOO_LONG_TEXT
from tests.security.conftest import MASKED, PHONE

CAP = settings.get().nlu_max_chars
LONG = "我家附近的公交车总是晚点，等了很久也不来，天气又冷。" * 600 + "请问哪里能找到公交实时到站数据？"  # 16k+
HUGE = "数" * (1024 * 1024 // 3 + 1)  # 1 MB


def sender() -> str:
    return f"sec-{uuid.uuid4().hex[:12]}"


def texts(desk, user: str, text: str) -> list[str]:
    return [m.get("text", "") for m in desk.say(user, text)]


def test_action_server_down_gets_the_busy_reply_and_the_next_message_works(desk):
    user = sender()
    desk.stop("actions")
    try:
        assert BUSY_TEXT in texts(desk, user, f"帮我找一下公交数据，我电话{PHONE}")
    finally:
        desk.start("actions")
    reply = texts(desk, user, "帮我找一下公交数据")
    assert reply and BUSY_TEXT not in reply and all(reply)


def test_huge_and_long_messages_in_parallel_leave_other_users_served(desk):
    with ThreadPoolExecutor(6) as pool:
        longs = [pool.submit(texts, desk, sender(), LONG) for _ in range(3)]
        huge = pool.submit(texts, desk, sender(), HUGE)
        short = pool.submit(texts, desk, sender(), "你好")
        normal = short.result()
        assert normal and BUSY_TEXT not in normal and LONG_NOTICE.format(cap=CAP) not in normal
        assert huge.result() == [TOO_LONG_TEXT.format(size=len(HUGE), cap=CAP)]
        for future in longs:
            notice, *answer = future.result()
            assert notice == LONG_NOTICE.format(cap=CAP) and answer and BUSY_TEXT not in answer
    assert texts(desk, sender(), "你好")  # and the server still answers


def test_a_long_message_is_stored_whole_in_the_metadata_and_cut_in_the_text(desk):
    user = sender()
    texts(desk, user, LONG)
    with sqlite3.connect(desk.conf.tracker_db) as db:
        [(data,)] = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (user,))
    event = json.loads(data)
    assert len(event["text"]) <= CAP and event["text"].endswith("公交实时到站数据？")
    assert event["metadata"]["full_text"] == LONG


def test_cors_allows_only_the_site_origin(desk):
    def preflight(origin: str) -> str | None:
        request = urllib.request.Request(f"{desk.rasa_url}/webhooks/rest/webhook", method="OPTIONS", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.headers.get("Access-Control-Allow-Origin")
        except urllib.error.HTTPError as exc:
            return exc.headers.get("Access-Control-Allow-Origin")

    assert preflight("https://evil.example") is None
    assert preflight(desk.conf.allowed_origin) == desk.conf.allowed_origin


def test_a_submitted_form_leaves_no_phone_in_the_tracker_store_nor_the_logs(desk):
    user = sender()
    for text in ("我要申请数据", "花溪区共享单车停放点的位置和数量", "用于交通出行研究，写一篇论文", "个人", "张伟",
                 PHONE, "跳过"):
        texts(desk, user, text)
    with sqlite3.connect(desk.conf.tracker_db) as db:
        during = "".join(d for (d,) in db.execute("SELECT data FROM events WHERE sender_id = ?", (user,)))
    assert PHONE in during  # the form still needs it
    texts(desk, user, "/affirm")
    with sqlite3.connect(desk.conf.tracker_db) as db:
        after = "".join(d for (d,) in db.execute("SELECT data FROM events WHERE sender_id = ?", (user,)))
    assert '"name": "action_submit_data_request"' in after  # submitted
    assert PHONE not in after and MASKED in after
    logs = "".join(p.read_text(errors="replace") for p in desk.conf.log_dir.glob("*.log"))
    assert logs and PHONE not in logs

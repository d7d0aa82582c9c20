"""The channel over real HTTP: a real Sanic server (two processes, one DB) with WeChatInput registered the way
Rasa registers channels, a small real bot behind it, and the fake WeChat platform in front of it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.channels import wechat_store as store
from bot.channels.intake import BUSY_TEXT
from bot.channels.wechat import NO_MORE_TEXT, UNKNOWN_MENU_TEXT, UNSUPPORTED_TEXT
from bot.channels.wechat_render import MORE_HINT
from privacy import openid_hash
from tests.wechat.conftest import BUDGET
from tests.wechat.fake_platform import new_openid

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
                  b"<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>")


def test_server_verification(server, fake):
    query = fake.signed_query()
    ok = requests.get(server.webhook, params={**query, "echostr": "echo-4711"}, timeout=10)
    assert (ok.status_code, ok.text) == (200, "echo-4711")
    forged = requests.get(server.webhook, params={**fake.signed_query(token="wrong"), "echostr": "x"}, timeout=10)
    stale = requests.get(server.webhook, params={**fake.signed_query(timestamp=int(time.time()) - 3600),
                                                 "echostr": "x"}, timeout=10)
    unsigned = requests.get(server.webhook, params={"echostr": "x"}, timeout=10)
    assert [r.status_code for r in (forged, stale, unsigned)] == [403, 403, 403]
    assert "x" not in forged.text


@pytest.mark.parametrize("mode", ["plain", "safe", "compat"])
def test_text_round_trip(server, fake, mode):
    openid = new_openid()
    reply = fake.push(server.webhook, fake.text(openid, f"你好 {mode}"), mode=mode)
    assert reply.status == 200
    assert reply.content == f"收到：你好 {mode}"
    assert reply.fields["ToUserName"] == openid and reply.fields["MsgType"] == "text"
    [turn] = server.turns(openid)
    assert turn["input_channel"] == "wechat" and turn["text"] == f"你好 {mode}"


def test_forged_and_stale_posts_are_refused_and_not_processed(server, fake):
    openid = new_openid()
    message = fake.text(openid, "伪造")
    forged = fake.push(server.webhook, message, **fake.signed_query(openid, token="wrong"))
    stale = fake.push(server.webhook, message, **fake.signed_query(openid, timestamp=int(time.time()) - 600))
    bad_msg_signature = fake.push(server.webhook, message, mode="safe", msg_signature="0" * 40)
    assert [forged.status, stale.status, bad_msg_signature.status] == [403, 403, 403]
    assert server.turns(openid) == []


def test_hostile_bodies_get_4xx_and_the_server_keeps_serving(server, fake):
    def post(body: bytes, **headers) -> int:
        return requests.post(server.webhook, params=fake.signed_query(), data=body, headers=headers,
                             timeout=30).status_code

    assert post(BILLION_LAUGHS) == 400
    assert post(b"<xml><MsgType>text</MsgType><Content>") == 400
    assert post(b'{"msgtype": "text"}') == 400
    assert post(b"<xml><Content>no type</Content></xml>") == 400
    big = b"<xml><MsgType>text</MsgType><Content>" + b"a" * 70_000 + b"</Content></xml>"
    assert post(big) == 413
    assert post(iter([big[i:i + 8192] for i in range(0, len(big), 8192)])) == 413  # chunked, no length
    assert server.turns("o1") == []
    openid = new_openid()
    assert fake.push(server.webhook, fake.text(openid, "还在吗")).content == "收到：还在吗"


def test_three_deliveries_of_one_msg_id_make_one_turn(servers, fake):
    openid, msg_id = new_openid(), fake.new_msg_id()
    message = fake.text(openid, "查询数据目录", msg_id)
    replies = [fake.push(server.webhook, message) for server in (servers[0], servers[1], servers[0])]
    assert [r.content for r in replies] == ["收到：查询数据目录"] * 3
    assert len(servers[0].turns(openid)) + len(servers[1].turns(openid)) == 1


def test_concurrent_retries_across_processes_wait_for_the_first_answer(servers, fake):
    openid, msg_id = new_openid(), fake.new_msg_id()
    message = fake.text(openid, f"slow {BUDGET / 2} 并发", msg_id)
    targets = [servers[0], servers[1], servers[1]]
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda s: fake.push(s.webhook, message), targets))
    assert [r.content for r in replies] == ["慢回答：并发"] * 3
    assert len(servers[0].turns(openid)) + len(servers[1].turns(openid)) == 1
    assert fake.sent_to(openid) == []


def test_a_slow_turn_answers_success_and_arrives_by_customer_service_message(servers, fake):
    openid, msg_id = new_openid(), fake.new_msg_id()
    message = fake.text(openid, f"slow {BUDGET * 2} 数据开放申请", msg_id)
    started = time.monotonic()
    first = fake.push(servers[0].webhook, message)
    assert (first.status, first.body) == (200, "success")
    assert time.monotonic() - started < BUDGET * 2  # the reply did not wait for the turn
    retry = fake.push(servers[1].webhook, message)  # WeChat would not retry after `success`; be robust anyway
    assert (retry.status, retry.body) == (200, "success")
    assert fake.wait_sent(openid) == ["慢回答：数据开放申请"]
    time.sleep(BUDGET)
    assert fake.sent_to(openid) == ["慢回答：数据开放申请"]  # delivered once
    assert len(servers[0].turns(openid)) + len(servers[1].turns(openid)) == 1


def test_encrypted_slow_turn_is_pushed_in_plaintext_json(server, fake):
    openid = new_openid()
    reply = fake.push(server.webhook, fake.text(openid, f"slow {BUDGET * 1.5} 加密"), mode="safe")
    assert reply.body == "success"
    assert fake.wait_sent(openid) == ["慢回答：加密"]


def test_numbered_options_round_trip(server, fake):
    openid = new_openid()
    first = fake.push(server.webhook, fake.text(openid, "buttons"))
    assert first.content == "找到 2 个数据集。\n回复 1 查看详情\n回复 2 返回"
    fake.push(server.webhook, fake.text(openid, "２"))
    fake.push(server.webhook, fake.text(openid, "7"))  # not an option: goes to the bot as typed
    assert [t["text"] for t in server.turns(openid)] == ["buttons", "/deny", "7"]


def test_options_are_shared_by_all_processes(servers, fake):
    openid = new_openid()
    fake.push(servers[0].webhook, fake.text(openid, "buttons"))
    fake.push(servers[1].webhook, fake.text(openid, "1"))
    assert [t["text"] for t in servers[1].turns(openid)] == ["/dataset_detail"]


def test_long_reply_is_split_and_continued_with_more(servers, fake):
    openid = new_openid()
    pages = [fake.push(servers[0].webhook, fake.text(openid, "long 300")).content]
    while pages[-1].endswith(MORE_HINT):
        assert len(pages[-1].encode()) <= 2000
        pages.append(fake.push(servers[len(pages) % 2].webhook, fake.text(openid, "更多")).content)
    assert len(pages) >= 5
    lines = [line for page in pages for line in page.split("\n") if line != MORE_HINT]
    assert lines == [f"第 {i} 行：贵阳市政府数据共享开放" for i in range(300)]
    assert fake.push(servers[0].webhook, fake.text(openid, "更多")).content == NO_MORE_TEXT
    assert [t["text"] for t in servers[0].turns(openid)] == ["long 300"]


def test_subscribe_welcome_offers_the_menu_as_options(server, fake):
    openid = new_openid()
    welcome = fake.push(server.webhook, fake.event(openid, "subscribe"), mode="safe").content
    assert "筑数助手" in welcome and "回复 3 投诉举报" in welcome
    assert server.turns(openid) == []
    fake.push(server.webhook, fake.text(openid, "3"))
    assert [t["text"] for t in server.turns(openid)] == ["/file_complaint"]


def test_menu_click_maps_to_an_intent_once_per_event(servers, fake):
    openid, created = new_openid(), int(time.time())
    click = fake.event(openid, "CLICK", "COMPLAINT", created)
    replies = [fake.push(s.webhook, click) for s in servers]
    assert [r.content for r in replies] == ["收到：/file_complaint"] * 2
    turns = servers[0].turns(openid) + servers[1].turns(openid)
    assert len(turns) == 1 and turns[0]["metadata"]["wechat_menu_key"] == "COMPLAINT"
    unknown = fake.push(servers[0].webhook, fake.event(openid, "CLICK", "NO_SUCH_KEY"))
    assert unknown.content == UNKNOWN_MENU_TEXT
    assert fake.push(servers[0].webhook, fake.event(openid, "VIEW", "https://example.org")).body == "success"


def test_other_message_types_get_a_polite_text(server, fake):
    openid = new_openid()
    image = fake.media(openid, "image", PicUrl="http://example.org/p.jpg", MediaId="m1")
    location = fake.media(openid, "location", Location_X="26.6", Location_Y="106.7", Scale="15", Label="贵阳")
    file = fake.media(openid, "file", Title="a.pdf", FileKey="k", FileMd5="d", FileTotalLen="10")
    silent_voice = fake.media(openid, "voice", MediaId="m2", Format="amr")
    for message in (image, location, file, silent_voice):
        assert fake.push(server.webhook, message).content == UNSUPPORTED_TEXT
    assert server.turns(openid) == []
    voice = fake.media(openid, "voice", MediaId="m3", Format="amr", Recognition="怎么申请数据")
    assert fake.push(server.webhook, voice, mode="compat").content == "收到：怎么申请数据"
    assert [t["text"] for t in server.turns(openid)] == ["怎么申请数据"]


def test_a_failing_turn_gets_an_apology_and_the_next_one_works(server, fake):
    openid = new_openid()
    assert fake.push(server.webhook, fake.text(openid, "boom")).content == BUSY_TEXT
    assert fake.push(server.webhook, fake.text(openid, "还在吗")).content == "收到：还在吗"


def test_openids_never_reach_the_logs(servers, fake, wechat_db):
    openid = new_openid()
    fake.push(servers[0].webhook, fake.text(openid, "日志里不能有 openid"))
    fake.push(servers[1].webhook, fake.text(openid, f"slow {BUDGET * 1.5} 推送"))
    assert fake.wait_sent(openid)
    fake.failures[openid] = [45015] * 5
    fake.push(servers[0].webhook, fake.text(openid, f"slow {BUDGET * 1.5} 过期"))
    deadline = time.monotonic() + 15
    while not any(r["content"] == "慢回答：过期" for r in store.pending_outbox(wechat_db)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    logs = "".join(s.log.read_text(encoding="utf-8") for s in servers)
    assert openid_hash(openid) in logs  # the user is traceable by hash...
    assert openid not in logs  # ...but never in clear (Sanic's access log included)


def test_a_stopping_server_still_delivers_the_turns_it_started(start_server, fake):
    [stopping], openid = start_server("stopping"), new_openid()
    assert fake.push(stopping.webhook, fake.text(openid, f"slow {BUDGET * 2} 停机前")).body == "success"
    stopping.proc.terminate()
    assert fake.wait_sent(openid) == ["慢回答：停机前"]
    assert stopping.proc.wait(30) is not None

"""Pure protocol and rendering functions: signatures, replay window, hostile XML, crypto, pages, options."""

from __future__ import annotations

import time

import pytest

from bot.channels.wechat_protocol import ProtocolError, decode, make_crypto, safe_fields, text_reply, verify_query
from bot.channels.wechat_render import MORE_HINT, option_number, render, split_pages
from tests.wechat.conftest import AES_KEY, APP_ID, APP_SECRET, TOKEN
from tests.wechat.fake_platform import FakeWeChat, new_openid, query_signature

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<xml><MsgType>text</MsgType><Content>&e;</Content></xml>"""


def signed(timestamp: int | None = None) -> dict:
    ts, nonce = str(timestamp or int(time.time())), "n0nce"
    return {"signature": query_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


def test_signature_and_replay_window():
    verify_query(TOKEN, signed(), 300)
    with pytest.raises(ProtocolError) as forged:
        verify_query("another-token", signed(), 300)
    with pytest.raises(ProtocolError) as stale:
        verify_query(TOKEN, signed(int(time.time()) - 301), 300)
    with pytest.raises(ProtocolError) as future:
        verify_query(TOKEN, signed(int(time.time()) + 3600), 300)
    with pytest.raises(ProtocolError) as missing:
        verify_query(TOKEN, {"timestamp": "1", "nonce": "x"}, 300)
    assert {forged.value.status, stale.value.status, future.value.status, missing.value.status} == {403}
    assert "stale" in stale.value.reason


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, b"<xml><MsgType>text</MsgType>", b"not xml at all",
                                  b"<html><MsgType>text</MsgType></html>", b""])
def test_malformed_and_hostile_xml_is_refused(body):
    with pytest.raises(ProtocolError) as refused:
        safe_fields(body)
    assert refused.value.status == 400


def test_compatible_mode_without_a_key_uses_the_plaintext_copy():
    platform = FakeWeChat(TOKEN, AES_KEY, APP_ID, APP_SECRET)
    message = platform.text(new_openid(), "你好")
    body = platform.to_xml({**message, "Encrypt": "c2VjcmV0"}).encode()
    incoming = decode(body, {**signed(), "encrypt_type": "aes"}, crypto=None)
    assert incoming.message.content == "你好" and not incoming.encrypted
    with pytest.raises(ProtocolError):  # 安全模式 body, no key: nothing readable
        decode(platform.to_xml({"ToUserName": "gh", "Encrypt": "c2VjcmV0"}).encode(),
               {**signed(), "encrypt_type": "aes"}, crypto=None)


def test_encrypted_reply_round_trip_and_bad_msg_signature():
    platform, crypto = FakeWeChat(TOKEN, AES_KEY, APP_ID, APP_SECRET), make_crypto(TOKEN, AES_KEY, APP_ID)
    query = signed()
    envelope = platform.crypto.encrypt_message(platform.to_xml(platform.text(new_openid(), "查数据")),
                                               query["nonce"], query["timestamp"])
    fields = safe_fields(envelope)
    body = platform.to_xml({"ToUserName": "gh", "Encrypt": fields["Encrypt"]}).encode()
    incoming = decode(body, {**query, "encrypt_type": "aes", "msg_signature": fields["MsgSignature"]}, crypto)
    assert incoming.encrypted and incoming.message.content == "查数据"
    reply = safe_fields(text_reply(incoming.message, "好的]]>", crypto, True, query["nonce"]))
    inner = crypto.decrypt_message(reply, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
    assert safe_fields(inner)["Content"] == "好的]] >"
    with pytest.raises(ProtocolError) as forged:
        decode(body, {**query, "encrypt_type": "aes", "msg_signature": "0" * 40}, crypto)
    assert forged.value.status == 403


def test_a_wrong_aes_key_length_is_a_configuration_error():
    with pytest.raises(ValueError):
        make_crypto(TOKEN, "short", APP_ID)


def test_buttons_become_numbered_options_across_messages():
    rendered = render([{"text": "找到 2 个数据集。", "buttons": [{"title": "查看详情", "payload": "/detail"},
                                                            {"title": "返回", "payload": "/deny"}]},
                       {"text": "还可以：", "buttons": [{"title": "转人工", "payload": "/human_handoff"}]},
                       {"image": "https://example.org/a.png"}], max_bytes=2000)
    assert rendered.pages == ["找到 2 个数据集。\n回复 1 查看详情\n回复 2 返回\n\n还可以：\n回复 3 转人工\n\n"
                              "图片：https://example.org/a.png"]
    assert [o["payload"] for o in rendered.options] == ["/detail", "/deny", "/human_handoff"]
    assert render([], 2000).pages == []


@pytest.mark.parametrize("typed, number", [("1", 1), (" 2 ", 2), ("１", 1), ("回复 3", 3), ("12345", None),
                                           ("第一个", None), ("", None)])
def test_option_numbers(typed, number):
    assert option_number(typed) == number


def test_long_text_is_split_into_pages_within_the_byte_limit():
    text = "\n".join(f"第 {i} 行：贵阳市政府数据共享开放实施办法" for i in range(200)) + "\n" + "长" * 1500
    pages = split_pages(text, 600)
    assert len(pages) > 5
    assert all(len(p.encode()) <= 600 for p in pages)
    assert all(p.endswith(MORE_HINT) for p in pages[:-1]) and not pages[-1].endswith(MORE_HINT)
    assert "".join(p.removesuffix(MORE_HINT).replace("\n", "") for p in pages) == text.replace("\n", "")

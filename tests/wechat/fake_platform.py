"""A fake WeChat platform on loopback, for the channel tests.

`FakeWeChat` plays both sides of the real platform:
- as the *sender*, it pushes messages to a webhook exactly as WeChat does: signed query (signature, timestamp,
  nonce, openid), optionally 安全模式 (only <Encrypt>) or 兼容模式 (plaintext and <Encrypt>) with
  `encrypt_type=aes&msg_signature=…`, and it checks and decrypts encrypted replies the way WeChat does;
- as the *API*, it serves `/cgi-bin/token` and `/cgi-bin/message/custom/send` (aiohttp, own thread), hands out
  access tokens, rejects stale ones with 40001, and can be told to fail (HTTP 500, errcodes) per recipient.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
import xmltodict
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.crypto import _get_signature as msg_signature

TO_USER = "gh_0123456789ab"


def new_openid() -> str:
    """An openid shaped like WeChat's (28 characters, starting with "o")."""
    return "o" + uuid.uuid4().hex[:27]


def query_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


@dataclass
class Reply:
    status: int
    body: str
    fields: dict | None = None  # the (decrypted) reply message, when it is XML

    @property
    def content(self) -> str | None:
        return None if self.fields is None else self.fields.get("Content")


@dataclass
class FakeWeChat:
    token: str
    aes_key: str
    app_id: str
    app_secret: str
    sent: list[dict] = field(default_factory=list)  # delivered 客服消息: {"touser", "content", "token"}
    token_requests: int = 0
    failures: dict[str, list] = field(default_factory=dict)  # openid → queue of errcodes / "http500"
    _tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    _valid_token: str | None = None
    _msg_ids: itertools.count = field(default_factory=lambda: itertools.count(int(time.time() * 1000)))

    # --- the API side ------------------------------------------------------------------------------------
    def start(self) -> FakeWeChat:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/cgi-bin/token", self._token)
            app.router.add_post("/cgi-bin/message/custom/send", self._send)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()

        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop)
        assert started.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def expire_tokens(self) -> None:
        """Invalidate every access_token handed out so far (as when another client fetched a new one)."""
        self._valid_token = None

    def sent_to(self, openid: str) -> list[str]:
        return [m["content"] for m in self.sent if m["touser"] == openid]

    def wait_sent(self, openid: str, count: int = 1, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.sent_to(openid)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.sent_to(openid)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        q = request.query
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.app_id \
                or q.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self._valid_token = f"ACCESS_TOKEN_{next(self._tokens)}"
        return web.json_response({"access_token": self._valid_token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        queue = self.failures.get(body.get("touser"), [])
        failure = queue.pop(0) if queue else None
        if failure == "http500":
            return web.Response(status=500, text="internal error")
        if request.query.get("access_token") != self._valid_token or self._valid_token is None:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        if failure is not None:
            return web.json_response({"errcode": failure, "errmsg": "refused by the fake"})
        assert body["msgtype"] == "text"
        self.sent.append({"touser": body["touser"], "content": body["text"]["content"],
                          "token": request.query["access_token"]})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # --- the sender side ---------------------------------------------------------------------------------
    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.app_id)

    def new_msg_id(self) -> int:
        return next(self._msg_ids)

    def text(self, openid: str, content: str, msg_id: int | None = None) -> dict:
        return self._message(openid, "text", Content=content, MsgId=msg_id or self.new_msg_id())

    def event(self, openid: str, event: str, key: str | None = None, create_time: int | None = None) -> dict:
        extra = {"EventKey": key} if key is not None else {}
        return self._message(openid, "event", create_time, Event=event, **extra)

    def media(self, openid: str, msg_type: str, **fields: str) -> dict:
        return self._message(openid, msg_type, MsgId=self.new_msg_id(), **fields)

    @staticmethod
    def _message(openid: str, msg_type: str, create_time: int | None = None, **fields) -> dict:
        return {"ToUserName": TO_USER, "FromUserName": openid, "CreateTime": create_time or int(time.time()),
                "MsgType": msg_type, **fields}

    @staticmethod
    def to_xml(fields: dict) -> str:
        return xmltodict.unparse({"xml": fields}, full_document=False)

    def signed_query(self, openid: str | None = None, timestamp: int | None = None, token: str | None = None) -> dict:
        ts, nonce = str(timestamp or int(time.time())), uuid.uuid4().hex[:10]
        query = {"signature": query_signature(token or self.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if openid:
            query["openid"] = openid
        return query

    def push(self, url: str, message: dict, mode: str = "plain", timeout: float = 30, **query_overrides) -> Reply:
        """POST `message` to the webhook as WeChat does; mode: plain | safe (安全模式) | compat (兼容模式)."""
        query = {**self.signed_query(message["FromUserName"]), **query_overrides}
        plain = self.to_xml(message)
        if mode == "plain":
            body = plain
        else:
            encrypt = xmltodict.parse(self.crypto.encrypt_message(plain, query["nonce"], query["timestamp"]))
            cipher = encrypt["xml"]["Encrypt"]
            query.update(encrypt_type="aes",
                         msg_signature=msg_signature(self.token, query["timestamp"], query["nonce"], cipher))
            query.update(query_overrides)
            envelope = {"ToUserName": TO_USER, "Encrypt": cipher} if mode == "safe" else {**message, "Encrypt": cipher}
            body = self.to_xml(envelope)
        resp = requests.post(url, params=query, data=body.encode(), timeout=timeout,
                             headers={"Content-Type": "text/xml"})
        return self.read_reply(resp, encrypted=mode != "plain")

    def read_reply(self, resp: requests.Response, encrypted: bool) -> Reply:
        """Check and decrypt a passive reply the way WeChat does."""
        text = resp.text
        if resp.status_code != 200 or not text.startswith("<xml>"):
            return Reply(resp.status_code, text)
        outer = xmltodict.parse(text)["xml"]
        if not encrypted:
            assert "Encrypt" not in outer
            return Reply(resp.status_code, text, outer)
        assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, outer
        inner = self.crypto.decrypt_message(outer, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        return Reply(resp.status_code, text, xmltodict.parse(inner)["xml"])

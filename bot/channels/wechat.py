"""Rasa input channel for the WeChat Official Account (公众号): `bot.channels.wechat.WeChatInput`.

URL `/webhooks/wechat/webhook`.  GET answers WeChat's server verification; POST receives pushed messages.

- Every request is signed (token, timestamp, nonce); stale timestamps are refused; in 安全模式/兼容模式 the
  body is decrypted and the reply encrypted (`wechat_protocol`).  Bodies over `max_body_bytes` → 413.
- Text (and voice carrying WeChat's `Recognition`) goes to Rasa with sender_id = openid and input_channel
  "wechat"; a menu CLICK becomes "/<intent>" (`wechat_menu.yml`); `subscribe` gets the welcome; other message
  types get a polite text.  Bot messages are merged, buttons numbered, long answers paged (`wechat_render`).
- The 5-second rule: the turn runs as its own task; if it finishes within `reply_budget_seconds` the answer is
  the passive reply, otherwise the webhook answers `success` and the finished turn is pushed through 客服消息
  (`wechat_push`).  Each MsgId (events: sender + CreateTime) is processed once across processes through a
  unique DB key (`wechat_store`); a retry waits for and returns the first answer.
- Openids never reach the logs in clear: they are logged as hashes and a filter redacts any that slip through
  (e.g. the `openid=` query parameter in Sanic's access log).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.messages import BaseMessage

import settings
from bot.channels import intake
from bot.channels import wechat_store as store
from bot.channels.wechat_protocol import ProtocolError, decode, make_crypto, text_reply, verify_query
from bot.channels.wechat_push import Pusher, run_db
from bot.channels.wechat_render import MORE_WORD, option_number, render
from privacy import openid_hash

logger = logging.getLogger(__name__)

MENU_FILE = Path(__file__).with_name("wechat_menu.yml")

UNSUPPORTED_TEXT = "抱歉，目前只能处理文字消息，暂时无法识别图片、语音、视频、位置或文件。请用文字描述您的问题，我来帮您。"
UNKNOWN_MENU_TEXT = "抱歉，这个菜单功能暂未开通。请直接输入您的问题。"
EMPTY_TEXT = "请输入您要咨询的问题。"
NO_MORE_TEXT = "没有更多内容了。您可以继续输入新的问题。"
ERROR_TEXT = "抱歉，系统暂时出现问题，请稍后再试，或拨打 12345 政务服务便民热线咨询。"

Produce = Callable[[], Awaitable[str | None]]
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class ChannelConfig:
    token: str
    aes_key: str = ""
    app_id: str = ""
    app_secret: str = ""
    api_base: str = "https://api.weixin.qq.com"
    reply_budget_seconds: float = 4.0
    replay_window_seconds: float = 300.0
    max_body_bytes: int = 64 * 1024
    max_reply_bytes: int = 2000
    push_attempts: int = 4
    push_backoff_seconds: float = 1.0
    drain_seconds: float = 30.0  # on shutdown, how long unfinished turns may still run
    menu_file: str = str(MENU_FILE)


# --- the channel -------------------------------------------------------------------------------------------

class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WeChatInput:
        creds = credentials or {}
        conf = settings.get()
        tuning = {k: type(getattr(ChannelConfig, k))(v) for k, v in creds.items()
                  if k in ChannelConfig.__dataclass_fields__ and k not in _SECRETS and v not in (None, "")}
        return cls(ChannelConfig(
            token=str(creds.get("token") or conf.wechat_token),
            aes_key=str(creds.get("aes_key") or conf.wechat_aes_key),
            app_id=str(creds.get("app_id") or conf.wechat_app_id),
            app_secret=str(creds.get("app_secret") or conf.wechat_app_secret),
            api_base=str(creds.get("api_base") or conf.wechat_api_base).rstrip("/"),
            **tuning,
        ))

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self.crypto = make_crypto(config.token, config.aes_key, config.app_id) if config.token else None
        self.pusher = Pusher(config.api_base, config.app_id, config.app_secret,
                             attempts=config.push_attempts, backoff_seconds=config.push_backoff_seconds)
        menu = yaml.safe_load(Path(config.menu_file).read_text(encoding="utf-8"))
        self.menu: dict[str, dict] = menu.get("menu") or {}
        self.welcome: str = menu.get("welcome", "").strip()
        self._tasks: set[asyncio.Task] = set()  # turns still running after their request returned

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        on_new_message = intake.guard(on_new_message)  # size limits, polite reply when a turn fails
        bp = Blueprint("wechat_webhook", __name__)

        @bp.listener("before_server_stop")
        async def _drain(_app: Any, _loop: Any) -> None:
            if self._tasks:  # turns whose answer still has to be pushed: let them finish
                logger.info("wechat: waiting for %d unfinished turn(s) before stopping", len(self._tasks))
                _, pending = await asyncio.wait(set(self._tasks), timeout=self.config.drain_seconds)
                if pending:
                    logger.error("wechat: %d turn(s) unfinished at shutdown; their rows stay in wechat_messages",
                                 len(pending))

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config.token else "not configured"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                self._check(request)
            except ProtocolError as exc:
                return self._refuse(exc)
            return response.text(request.args.get("echostr", ""))

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                query = self._check(request)
                body = await self._read_body(request)
                incoming = decode(body, query, self.crypto)
            except ProtocolError as exc:
                return self._refuse(exc)
            answer = await self._dispatch(incoming.message, on_new_message)
            if not answer:
                return response.text("success")
            xml = text_reply(incoming.message, answer, self.crypto, incoming.encrypted, query["nonce"])
            return response.text(xml, content_type="application/xml")

        return bp

    # --- HTTP ----------------------------------------------------------------------------------------------

    def _check(self, request: Request) -> dict[str, str]:
        if not self.config.token:
            raise ProtocolError(503, "WeChat channel not configured (WECHAT_TOKEN is empty)")
        query = {key: values[0] for key, values in request.args.items()}
        verify_query(self.config.token, query, self.config.replay_window_seconds)
        return query

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > limit:
            raise ProtocolError(413, f"body larger than {limit} bytes")
        chunks, size = [], 0
        while (chunk := await request.stream.read()) is not None:
            size += len(chunk)
            if size > limit:
                raise ProtocolError(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _refuse(exc: ProtocolError) -> HTTPResponse:
        logger.warning("wechat request refused (%d): %s", exc.status, exc.reason)
        return response.text(exc.reason, status=exc.status)

    # --- what to answer ------------------------------------------------------------------------------------

    async def _dispatch(self, message: BaseMessage, on_new_message: OnNewMessage) -> str | None:
        """The passive reply for `message`, or None for `success` (nothing, or the answer comes by 客服消息)."""
        user = openid_hash(message.source)
        key = f"msg:{message.id}" if message.id else _event_key(message, user)
        produce = self._producer(message, user, on_new_message)
        if produce is None:
            logger.info("wechat %s from user %s ignored", _kind(message), user)
            return None
        logger.info("wechat %s from user %s (%s)", _kind(message), user, key.split(":")[0])
        return await self._answer_once(key, user, message.source, produce)

    def _producer(self, message: BaseMessage, user: str, on_new_message: OnNewMessage) -> Produce | None:
        metadata = {"wechat_msg_type": _kind(message)}
        if message.type == "event":
            if message.event in ("subscribe", "subscribe_scan"):
                return self._show(user, self.welcome, [
                    {"title": item["title"], "payload": f"/{item['intent']}"} for item in self.menu.values()])
            if message.event == "click":
                item = self.menu.get(message.key)
                if item is None:
                    return _static(UNKNOWN_MENU_TEXT)
                metadata["wechat_menu_key"] = message.key
                return self._turn(f"/{item['intent']}", message.source, user, metadata, on_new_message)
            return None
        text = message.content if message.type == "text" else (getattr(message, "recognition", None) or "")
        if message.type not in ("text", "voice") or (message.type == "voice" and not text):
            return _static(UNSUPPORTED_TEXT)
        text = text.strip()
        if not text:
            return _static(EMPTY_TEXT)
        if text == MORE_WORD:
            return self._more(user)
        number = option_number(text)
        if number is not None:
            return self._numbered(number, text, message.source, user, metadata, on_new_message)
        return self._turn(text, message.source, user, metadata, on_new_message)

    def _turn(self, text: str, openid: str, user: str, metadata: dict, on_new_message: OnNewMessage) -> Produce:
        async def produce() -> str | None:
            collector = CollectingOutputChannel()
            await on_new_message(UserMessage(text, collector, sender_id=openid, input_channel=self.name(),
                                             metadata=metadata))
            rendered = render(collector.messages, self.config.max_reply_bytes)
            await run_db(store.save_conversation, user, rendered.options, rendered.pages[1:])
            return rendered.pages[0] if rendered.pages else None
        return produce

    def _numbered(self, number: int, text: str, openid: str, user: str, metadata: dict,
                  on_new_message: OnNewMessage) -> Produce:
        async def produce() -> str | None:
            options = await run_db(store.pending_options, user)
            chosen = options[number - 1]["payload"] if 1 <= number <= len(options) else text
            return await self._turn(chosen, openid, user, metadata, on_new_message)()
        return produce

    def _show(self, user: str, text: str, options: list[dict]) -> Produce:
        async def produce() -> str | None:
            rendered = render([{"text": text, "buttons": options}], self.config.max_reply_bytes)
            await run_db(store.save_conversation, user, rendered.options, rendered.pages[1:])
            return rendered.pages[0]
        return produce

    @staticmethod
    def _more(user: str) -> Produce:
        async def produce() -> str | None:
            return await run_db(store.pop_more_page, user) or NO_MORE_TEXT
        return produce

    # --- once per MsgId, within the budget -------------------------------------------------------------------

    async def _answer_once(self, key: str, user: str, openid: str, produce: Produce) -> str | None:
        if not await run_db(store.begin_message, key, user):
            logger.info("wechat retry of a message from user %s: waiting for the first answer", user)
            return await self._first_answer(key)
        task = asyncio.ensure_future(self._complete(key, openid, produce))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        done, _ = await asyncio.wait({task}, timeout=self.config.reply_budget_seconds)
        if task in done:
            answer, pushed = task.result()
            return None if pushed else answer
        if await run_db(store.request_push, key):
            logger.info("wechat reply budget exceeded for user %s: answering later by 客服消息", user)
            return None
        return (await task)[0]  # finished between the timeout and the hand-over

    async def _first_answer(self, key: str) -> str | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.reply_budget_seconds
        while True:
            state = await run_db(store.message_state, key)
            if state is None or state.delivery is not None:
                return None  # pruned, or on its way through 客服消息
            if state.state == store.DONE:
                return state.answer or None
            if loop.time() >= deadline and await run_db(store.request_push, key):
                return None
            await asyncio.sleep(0.05)

    async def _complete(self, key: str, openid: str, produce: Produce) -> tuple[str, bool]:
        """Run the turn, store its answer, and push it if nobody is waiting for it any more."""
        user = openid_hash(openid)
        try:
            answer = await produce() or ""
        except Exception:  # noqa: BLE001 - the user gets an apology, the log the traceback
            logger.exception("wechat turn failed for user %s", user)
            answer = ERROR_TEXT
        if await run_db(store.finish_message, key, answer) != store.PUSH:
            return answer, False
        if answer:
            delivered = await self.pusher.send_text(openid, answer)
            await run_db(store.set_delivery, key, store.PUSHED if delivered else store.OUTBOX)
        return answer, True


_SECRETS = ("token", "aes_key", "app_id", "app_secret", "api_base")


def _event_key(message: BaseMessage, user: str) -> str:
    """WeChat's de-duplication key for events is sender + CreateTime; event and key are added so that two
    different events in the same second stay apart (a retry repeats all of them)."""
    digest = hashlib.sha256(f"{getattr(message, 'event', '')}|{getattr(message, 'key', '')}".encode()).hexdigest()
    return f"evt:{user}:{message.time}:{digest[:12]}"


def _kind(message: BaseMessage) -> str:
    return f"event/{message.event}" if message.type == "event" else message.type


def _static(text: str) -> Produce:
    async def produce() -> str | None:
        return text
    return produce

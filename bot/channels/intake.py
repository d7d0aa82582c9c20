"""What every chat channel (REST, socket.io, WeChat) does with a user message before Rasa sees it.

- Size: a message over `message_max_bytes` (UTF-8) is refused with a polite Chinese reply and never reaches NLU,
  the tracker store or the action server.  A message over `nlu_max_chars` characters is cut to its informative
  part for NLU (the last sentences, up to the cap: a long message usually ends with the request); the whole text
  stays in the message metadata (`full_text`) for the record, and the user is told the message was long.
- Text that cannot be encoded (a lone surrogate such as ``\\ud800``) is repaired, so no logger, tokenizer or
  database driver fails on it later.
- Failure: when a turn raises (a component fails) or a custom action fails (the action server is down or
  restarting: Rasa logs it, drops the action's events and carries on, so the user would get nothing) the user
  gets "系统繁忙，请稍后再试" instead of silence, and the next message works.  Rasa keeps no hook for the second
  case, so `guard` wraps `RemoteAction.run` once to mark the running turn (a context variable) when the action
  server fails; a form's validation rejection is not a failure.

`guard(on_new_message)` wraps Rasa's callback once per channel, when the channel builds its blueprint.  That is
also the earliest start-up hook inside the Rasa process every channel shares, so it installs the log masking
there (before any user text can reach a log line).
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import UserMessage

import privacy
import settings
from textnorm import informative_part

logger = logging.getLogger(__name__)

BUSY_TEXT = "系统繁忙，请稍后再试。"
TOO_LONG_TEXT = "抱歉，您的消息太长了（约{size}字），我无法处理。请把问题精简到{cap}字以内再发给我。"
LONG_NOTICE = "您的消息比较长，我主要根据最后一部分（约{cap}字）来理解您的问题。如果没理解对，请把问题简短地再说一遍。"
METADATA_MAX_BYTES = 16 * 1024  # client metadata kept with a message (not user text: no polite reply needed)


OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Admission:
    text: str  # what NLU sees
    metadata: dict = field(default_factory=dict)
    notice: str | None = None  # told to the user before the answer
    refusal: str | None = None  # the whole answer: the message is not passed on


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def repair(text: str) -> str:
    """`text` with lone surrogates (not encodable as UTF-8) replaced by '?'."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def acceptable_metadata(metadata: Any) -> bool:
    """Client metadata may be kept with a message: an object of at most METADATA_MAX_BYTES as JSON."""
    return isinstance(metadata, dict) and utf8_size(json.dumps(metadata)) <= METADATA_MAX_BYTES


def admit(text: str, metadata: dict | None = None, conf: settings.Settings | None = None) -> Admission:
    conf = conf or settings.get()
    metadata = dict(metadata or {})
    size = utf8_size(text)
    if size > conf.message_max_bytes:
        return Admission("", metadata, refusal=TOO_LONG_TEXT.format(size=len(text), cap=conf.nlu_max_chars))
    text = repair(text)
    if len(text) <= conf.nlu_max_chars:
        return Admission(text, metadata)
    metadata.update(full_text=text, truncated_for_nlu=True)
    return Admission(informative_part(text, conf.nlu_max_chars), metadata,
                     notice=LONG_NOTICE.format(cap=conf.nlu_max_chars))


@dataclass
class _Turn:
    action_failed: bool = False


_TURN: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("desk_turn", default=None)


def _watch_custom_actions() -> None:
    """Make `RemoteAction.run` mark the running turn when the action server fails (idempotent)."""
    original = RemoteAction.run
    if getattr(original, "watched_by_intake", False):
        return

    @functools.wraps(original)
    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise
        except Exception:
            turn = _TURN.get()
            if turn is not None:
                turn.action_failed = True
            raise

    run.watched_by_intake = True  # type: ignore[attr-defined]
    RemoteAction.run = run  # type: ignore[method-assign]


def guard(on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message` with the size limits applied and a polite reply when the turn fails."""
    privacy.install_log_masking()
    _watch_custom_actions()
    conf = settings.get()  # the limits are read once, when the channel is built

    async def guarded(message: UserMessage) -> None:
        out, sender = message.output_channel, message.sender_id
        admission = admit(message.text or "", message.metadata, conf)
        if admission.refusal:
            logger.warning("message of %d bytes from sender %s refused (too long)",
                           utf8_size(message.text or ""), sender)
            await out.send_text_message(sender, admission.refusal)
            return
        if admission.notice:
            logger.info("message of %d characters from sender %s cut to %d for NLU",
                        len(message.text or ""), sender, len(admission.text))
            await out.send_text_message(sender, admission.notice)
        turn = UserMessage(admission.text, out, sender, parse_data=message.parse_data,
                           input_channel=message.input_channel, message_id=message.message_id,
                           metadata=admission.metadata)
        state = _Turn()
        token = _TURN.set(state)
        try:
            await on_new_message(turn)
        except Exception:  # noqa: BLE001 - whatever failed, the user gets an answer and the log the traceback
            logger.exception("turn failed for sender %s", sender)
            state.action_failed = True
        finally:
            _TURN.reset(token)
        if state.action_failed:
            await out.send_text_message(sender, BUSY_TEXT)

    return guarded

"""What kind of message a text is, judged from the text alone: a sentence, or one of the short things people send
that are not one (a button payload, a phone number, a ticket number, "88", "好的", "？").

NLU cannot be trusted on messages without words ("123" came out as a goodbye), so both sides read the text itself:
the Rasa server (`bot/wordless.py`: no greeting, thanks or goodbye for a message without words) and the action
server (`actions/fallback.py`: the reply to each kind).  A button payload ("/intent" or "/intent{...json...}") is what
a button, a WeChat menu click or a numbered option sends: it carries an intent (and entities), never the user's own
words, so no slot or query is taken from it.
"""

from __future__ import annotations

import re
import unicodedata

from privacy import find_phone
from tickets import numbering

PAYLOAD = re.compile(r"/[A-Za-z_][\w/]*(\{.*\})?", re.S)


def is_payload(text: str | None) -> bool:
    return bool(PAYLOAD.fullmatch((text or "").strip()))


# -- kinds --------------------------------------------------------------------------------------
BUTTON = "button"  # a button payload
PHONE = "phone"
TICKET_NO = "ticket_no"
NUMBER = "number"
FAREWELL = "farewell"
NOTHING_PENDING = "nothing_pending"
ACKNOWLEDGEMENT = "acknowledgement"
NOISE = "noise"
WORDS = "words"

# Words that answer a confirmation step ("提交 / 修改"): outside a form there is nothing to confirm.
_PENDING = re.compile(r"(确认|确定)?(提交|修改)(吧|了|啦)?|确认|确定")
_ACK = re.compile(
    r"(好的?|好吧|好滴|好哒|嗯+|哦+|噢+|喔+|行吧?|可以|ok(ay)?|收到了?|知道了?|明白了?|了解了?|懂了|没问题|是的?|对的?"
    r"|👍|👌|🆗|✅|✔|🙏|🤝)+",
    re.I,
)
_PHONE_CHARS = re.compile(r"[\d\s+\-－()（）]+")
_FAREWELL = re.compile(r"8{2,4}6?[~～]*")  # 88 / 886: 拜拜 / 拜拜了 in chat
_EMOJI_MODIFIERS = re.compile("[\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\u200d]")  # variation selectors, skin tones, ZWJ


def core_text(text: str) -> str:
    """``text`` without whitespace, punctuation and emoji modifiers, lower-cased."""
    text = _EMOJI_MODIFIERS.sub("", text)
    return "".join(ch for ch in text if not (unicodedata.category(ch)[0] in "PZC" or ch.isspace())).lower()


def read(text: str) -> str:
    """What kind of message ``text`` is, judged from the text alone (one of the constants above)."""
    bare = text.strip()
    if is_payload(bare):
        return BUTTON
    core = core_text(bare)
    if not core:
        return NOISE
    if numbering.PATTERN.fullmatch(core.upper()):
        return TICKET_NO
    if find_phone(bare) and _PHONE_CHARS.fullmatch(bare):
        return PHONE
    if _FAREWELL.fullmatch(core):
        return FAREWELL
    if core.isdigit():
        return NUMBER
    if _PENDING.fullmatch(core):
        return NOTHING_PENDING
    if _ACK.fullmatch(core):
        return ACKNOWLEDGEMENT
    if not any(ch.isalpha() for ch in core):
        return NOISE  # emoji, symbols, digits mixed with symbols
    return WORDS

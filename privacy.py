"""Personal data out of sight: phone numbers and WeChat openids.

One module for every process (Rasa server, action server, web/API service, CLIs):
- phones: `find_phone` (validate + normalise), `mask_phone` (138****1234), `phone_tail`, `mask_text` (every
  phone-looking number in free text, also inside JSON with ``\\uXXXX`` escapes and in full-width digits);
- openids: `openid_hash` (a stable pseudonym), `redact_openids`;
- `scrub(text)`: both, for anything written to a log;
- `install_log_masking()`: the start-up hook each process calls once. It wraps `logging.Handler.format`, the one
  place every handler turns a record into text, so the message, its arguments, a traceback, `extra` fields (Sanic's
  access line) and whatever a library's formatter adds are all scrubbed, whichever logger or handler is used.
"""

from __future__ import annotations

import hashlib
import logging
import re

# mainland mobile, optionally +86/86 in front; landline with area code (0851-8xxxxxxx)
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９－＋", "0123456789-+")
# anything that looks like a phone number inside free text (for masking); not inside a longer word or hash, but
# right after a JSON escape such as \u673a (机) it is a phone again
_NOT_IN_WORD = r"(?:(?<=\\u[0-9a-fA-F]{4})|(?<![\dA-Za-z]))"
_ANY_PHONE = re.compile(_NOT_IN_WORD + r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"
                        r"|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ESCAPED_FULL_WIDTH_DIGIT = re.compile(r"\\u[fF][fF]1([0-9])")  # ０..９ as JSON escapes

_OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])|(?<=openid=)[^&\s\"']+")


def find_phone(text: str | None) -> str | None:
    """The first mainland mobile or landline number in `text`, normalised (13812341234 / 0851-86861234)."""
    if not text:
        return None
    text = text.translate(_FULL_WIDTH)
    mobile = MOBILE.search(text)
    if mobile:
        return "".join(mobile.groups())
    landline = LANDLINE.search(text)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    return None


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("0") and "-" in phone:
        area, local = phone.split("-", 1)
        return f"{area}-****{local[-4:]}"
    return f"{digits[:3]}****{digits[-4:]}"


def phone_tail(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")[-4:]


def mask_text(text: str) -> str:
    """`text` with every phone-looking number masked (full-width digits are read as digits)."""
    text = _ESCAPED_FULL_WIDTH_DIGIT.sub(r"\1", text).translate(_FULL_WIDTH)
    return _ANY_PHONE.sub(lambda m: mask_phone(find_phone(m.group(0)) or m.group(0)), text)


def openid_hash(openid: str) -> str:
    """A stable pseudonym for an openid: used in logs, keys and the conversation table."""
    return hashlib.sha256(f"wechat-openid:{openid}".encode()).hexdigest()[:16]


def redact_openids(text: str) -> str:
    return _OPENID.sub(lambda m: f"<openid {openid_hash(m.group(0))}>", text)


def scrub(text: str) -> str:
    """`text` as it may be written to a log: phones masked, openids replaced by their hash."""
    return redact_openids(mask_text(text))


_original_format = logging.Handler.format


def _scrubbing_format(self: logging.Handler, record: logging.LogRecord) -> str:
    return scrub(_original_format(self, record))


def install_log_masking() -> None:
    """Scrub every line any log handler of this process writes (idempotent; call once at start-up)."""
    logging.Handler.format = _scrubbing_format  # type: ignore[method-assign]

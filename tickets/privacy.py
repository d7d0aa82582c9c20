"""Phone numbers: validation, normalisation and masking (138****1234), also in every log record."""

from __future__ import annotations

import logging
import re

# mainland mobile, optionally +86/86 in front; landline with area code (0851-8xxxxxxx)
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
# anything that looks like a phone number inside free text (for masking)
_ANY_PHONE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")


def find_phone(text: str | None) -> str | None:
    """The first mainland mobile or landline number in `text`, normalised (13812341234 / 0851-86861234)."""
    if not text:
        return None
    text = text.translate(str.maketrans("０１２３４５６７８９－＋", "0123456789-+"))
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
    """`text` with every phone-looking number masked."""
    return _ANY_PHONE.sub(lambda m: mask_phone(find_phone(m.group(0)) or m.group(0)), text)


class PhoneMaskFilter(logging.Filter):
    """A logging filter that masks phone numbers in the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is the logger's business, not ours
        return
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, ()


_installed = False


def install_log_masking() -> None:
    """Mask phone numbers in every log record created in this process, whatever logger or handler is used.

    A filter on the root logger would miss records of child loggers (filters do not propagate), so the record
    factory is wrapped instead; the filter is also added to the root handlers present now.
    """
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)
    for handler in logging.getLogger().handlers:
        handler.addFilter(PhoneMaskFilter())

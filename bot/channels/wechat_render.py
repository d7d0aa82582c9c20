"""Turning the bot's messages into WeChat text: merged, buttons as numbered options, split into pages.

WeChat text has no buttons, so a button becomes a line "回复 1 查看详情" and the user's "1" is mapped back to the
button's payload by the channel.  A text reply is limited in size (bytes of UTF-8), so a long answer is split
into pages; every page but the last ends with a hint to reply "更多".
"""

from __future__ import annotations

from dataclasses import dataclass, field

MORE_WORD = "更多"
MORE_HINT = f"（内容较长，回复 {MORE_WORD} 查看后续内容）"
FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass(frozen=True)
class Rendered:
    pages: list[str]  # empty: nothing to say
    options: list[dict] = field(default_factory=list)  # [{"title": …, "payload": …}], numbered from 1


def option_number(text: str) -> int | None:
    """The option number a user typed ("1", "１", " 2 ", "回复 1"), or None."""
    cleaned = text.strip().translate(FULLWIDTH_DIGITS).removeprefix("回复").strip()
    return int(cleaned) if cleaned.isdigit() and len(cleaned) <= 2 else None


def render(messages: list[dict], max_bytes: int) -> Rendered:
    """Merge Rasa's collected messages into pages of at most `max_bytes` UTF-8 bytes."""
    blocks: list[str] = []
    options: list[dict] = []
    for msg in messages:
        lines = [msg["text"]] if msg.get("text") else []
        custom = msg.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("text"), str):
            lines.append(custom["text"])
        if msg.get("image"):
            lines.append(f"图片：{msg['image']}")
        if msg.get("attachment"):
            lines.append(f"附件：{msg['attachment']}")
        for button in (msg.get("buttons") or []) + (msg.get("quick_replies") or []):
            options.append({"title": button.get("title", ""), "payload": button.get("payload") or button.get("title", "")})
            lines.append(f"回复 {len(options)} {button.get('title', '')}")
        if lines:
            blocks.append("\n".join(lines))
    text = "\n\n".join(blocks).strip()
    return Rendered(split_pages(text, max_bytes) if text else [], options)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _hard_split(line: str, limit: int) -> list[str]:
    """Split one over-long line by characters so that every piece fits `limit` bytes."""
    pieces, current = [], ""
    for char in line:
        if _size(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    return pieces + [current] if current else pieces


def split_pages(text: str, max_bytes: int) -> list[str]:
    """Pages of at most `max_bytes` bytes, cut at line ends where possible; all but the last carry MORE_HINT."""
    if _size(text) <= max_bytes:
        return [text]
    budget = max_bytes - _size("\n" + MORE_HINT)
    if budget < 16:
        raise ValueError(f"max_reply_bytes={max_bytes} leaves no room for text")
    pages, current = [], ""
    for line in text.split("\n"):
        for piece in _hard_split(line, budget) if _size(line) > budget else [line]:
            candidate = f"{current}\n{piece}" if current else piece
            if _size(candidate) > budget:
                pages.append(current)
                candidate = piece
            current = candidate
    pages.append(current)
    pages = [page.strip("\n") for page in pages if page.strip()]
    return [f"{page}\n{MORE_HINT}" for page in pages[:-1]] + pages[-1:]

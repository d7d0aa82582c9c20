"""How sources and confidence are shown to users, and how to read them back from an answer.

Every answer about the Measures ends with one line::

    出处：《办法》第二条（已确认）；解读第二部分（三）（推断，原文未核实）

Each item is a passage ``source`` followed by the plain-Chinese label of its confidence.
"""

from __future__ import annotations

import re

PREFIX = "出处："
SEPARATOR = "；"
LABELS = {
    "确认": "已确认",
    "推断": "推断，原文未核实",
    "未找到": "未能确认，资料中没有取得原文",
}
_ITEM = re.compile(r"^(?P<source>.+)（(?P<label>" + "|".join(map(re.escape, LABELS.values())) + r")）$")


def format_citation(source: str, confidence: str) -> str:
    return f"{source}（{LABELS[confidence]}）"


def citation_line(items: list[tuple[str, str]]) -> str:
    """``[(source, confidence), ...]`` → the 出处 line."""
    return PREFIX + SEPARATOR.join(format_citation(s, c) for s, c in items)


def parse_citations(message: str) -> list[tuple[str, str]]:
    """The ``(source, confidence)`` pairs of the 出处 line of ``message``; ``ValueError`` if malformed."""
    lines = [line for line in message.splitlines() if line.startswith(PREFIX)]
    if len(lines) != 1:
        raise ValueError(f"expected exactly one line starting with {PREFIX!r}, found {len(lines)}")
    by_label = {label: confidence for confidence, label in LABELS.items()}
    pairs = []
    for item in lines[0][len(PREFIX):].split(SEPARATOR):
        match = _ITEM.match(item.strip())
        if not match:
            raise ValueError(f"citation {item!r} does not end with a confidence label such as （已确认）")
        pairs.append((match["source"], by_label[match["label"]]))
    return pairs

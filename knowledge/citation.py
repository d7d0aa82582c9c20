"""How sources and confidence are shown to users, and how to read them back from an answer.

An answer about the Measures is written for a citizen, in three parts::

    <one clear sentence first, then any detail>
    出处：《条例》第三条；《条例》第四章（不是现行条文原文，仅供参考）
    请注意：<what the sources do not settle, in plain words, and where to check>

The 出处 line lists passage ``source``s.  A source whose wording was seen is shown bare; any other carries, in
brackets, what it is in plain words (``LABELS``), so an unconfirmed point is never shown as a rule.  The 请注意
line is there whenever a cited source is not confirmed (and may be there when one is, for the part that is not).
"""

from __future__ import annotations

import re

PREFIX = "出处："
CAVEAT_PREFIX = "请注意："
SEPARATOR = "；"
LABELS = {
    "确认": "",
    "推断": "不是现行条文原文，仅供参考",
    "未找到": "这部分原文我没有查到",
}
_ITEM = re.compile(r"^(?P<source>.+?)（(?P<label>" + "|".join(map(re.escape, filter(None, LABELS.values()))) + r")）$")


def format_citation(source: str, confidence: str) -> str:
    label = LABELS[confidence]
    return f"{source}（{label}）" if label else source


def citation_line(items: list[tuple[str, str]]) -> str:
    """``[(source, confidence), ...]`` → the 出处 line."""
    return PREFIX + SEPARATOR.join(format_citation(s, c) for s, c in items)


def parse_citations(message: str) -> list[tuple[str, str]]:
    """The ``(source, confidence)`` pairs of the 出处 line of ``message``; ``ValueError`` if malformed."""
    lines = [line for line in message.splitlines() if line.startswith(PREFIX)]
    if len(lines) != 1:
        raise ValueError(f"expected exactly one line starting with {PREFIX!r}, found {len(lines)}")
    by_label = {label: confidence for confidence, label in LABELS.items() if label}
    pairs = []
    for item in lines[0][len(PREFIX):].split(SEPARATOR):
        item = item.strip()
        if not item:
            raise ValueError(f"empty citation in {lines[0]!r}")
        match = _ITEM.match(item)
        pairs.append((match["source"], by_label[match["label"]]) if match else (item, "确认"))
    return pairs

"""The one Chinese text normaliser: what every part compares text with (search, demand report, knowledge base).

`normalize(text)`: full-width → half-width and compatibility forms folded (NFKC), traditional → simplified
characters (zhconv, mainland vocabulary), lower case, runs of whitespace → one space, no leading or trailing
space, a Chinese full stop between digits read as a decimal point (a Chinese keyboard's "." is 。), a lone Chinese
character between spaces joined to its neighbours (a typed word spaced out).
"醫療機構　名錄" → "医疗机构 名录", "ＰＭ２．５  ＡＰＩ" → "pm2.5 api", "PM2。5" → "pm2.5", "停 车 场" → "停车场".

zhconv is slow (tens of microseconds even for short text), so it only runs on text that holds at least one
character with a simplified form; text already in simplified characters (nearly all) is returned as it is.
Consequence: a mainland-vocabulary rewrite that zhconv would make on simplified text alone (人工智慧 →
人工智能) happens only when the text also holds a traditional character.  The search index is built with this
function, so changing it means `python -m catalog_index reindex`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import zhconv

_SPACES = re.compile(r"\s+")
_DECIMAL_POINT = re.compile(r"(?<=\d)。(?=\d)")
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")


@cache
def _traditional_chars() -> frozenset[str]:
    """Characters that zhconv writes differently in simplified Chinese."""
    zhconv.loaddict()
    table = zhconv.zhconv.zhcdicts["zh2Hans"]
    return frozenset(key for key, value in table.items() if len(key) == 1 and key != value)


def simplified(text: str) -> str:
    """`text` in simplified characters (unchanged, and fast, when it has no traditional character)."""
    if _traditional_chars().isdisjoint(text):
        return text
    return zhconv.convert(text, "zh-cn")


def normalize(text: str | None, fold_case: bool = True) -> str:
    """Simplified Chinese, half-width, single-spaced text; lower-case unless `fold_case` is False (NLU keeps the
    case of ticket numbers and format words for its extractors)."""
    text = _SPACES.sub(" ", simplified(unicodedata.normalize("NFKC", text or ""))).strip()
    text = _join_spaced_characters(_DECIMAL_POINT.sub(".", text))
    return text.lower() if fold_case else text


def _join_spaced_characters(text: str) -> str:
    """A lone Chinese character between spaces is part of its neighbour's word: "停 车 场 收 费" → "停车场收费",
    "充电 桩 分布" → "充电桩分布"; words of two characters or more stay apart ("计划停电 通知")."""
    if " " not in text:
        return text
    out: list[str] = []
    previous = ""
    for token in text.split(" "):
        if out and _CJK_WORD.fullmatch(previous) and _CJK_WORD.fullmatch(token) and 1 in (len(previous), len(token)):
            out[-1] += token
        else:
            out.append(token)
        previous = token
    return " ".join(out)


# a sentence ends after 。！？!?；; or a line break; the split keeps the punctuation with its sentence
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


def informative_part(text: str, cap: int) -> str:
    """At most `cap` characters of `text`: its last whole sentences, or its last `cap` characters when the last
    sentence alone is longer."""
    text = text.strip()
    if len(text) <= cap:
        return text
    kept: list[str] = []
    size = 0
    for sentence in reversed(_SENTENCE_END.split(text)):
        if size + len(sentence) > cap:
            break
        kept.append(sentence)
        size += len(sentence)
    part = "".join(reversed(kept)).strip()
    return part or text[-cap:].strip()

"""Chinese text analysis shared by indexing and querying.

- `normalize()` is the project's one normaliser (`textnorm`): simplified, half-width, lower case, one space.
- `Analyzer`: a private `jieba.Tokenizer` (never the global jieba, which the Rasa NLU tokenizer configures in
  other processes) loaded with the domain dictionary `data/search/domain_dict.txt`, the synonym keys and
  targets, and the generic/stop word lists.  `index_tokens()` is jieba's search mode, generalised: every word
  of the precise cut is followed by every dictionary word inside it (jieba itself only emits the 2- and
  3-character ones), so a query word always finds the documents that contain it inside a longer word.
  Latin/digit runs ("pm2.5", "5g", "12345") are kept whole and lower-cased.
- `pinyin_key()`: toneless pinyin of a Chinese word, indexed in the `fuzzy` column so that typos and
  homophones (医苗 → 疫苗, 幼儿圆 → 幼儿园) still find their dataset.
- The domain dictionary is generated from the catalogue by `build_domain_dictionary()`
  (`python -m catalog_index dict`, then `python -m catalog_index reindex`).

Operator-editable files live in data/search/: `synonyms.txt` ("everyday => catalogue term, …"),
`generic_words.txt` (words that never decide a ranking: 数据, 信息, 名录 …), `stop_words.txt` (fillers and
question words: 我想, 有没有, 哪里 …) and the generated `domain_dict.txt`.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import jieba
from pypinyin import Style, lazy_pinyin

from textnorm import normalize

SEARCH_DATA = Path(__file__).resolve().parent.parent / "data" / "search"
DOMAIN_DICT = SEARCH_DATA / "domain_dict.txt"
SYNONYMS = SEARCH_DATA / "synonyms.txt"
GENERIC_WORDS = SEARCH_DATA / "generic_words.txt"
STOP_WORDS = SEARCH_DATA / "stop_words.txt"

DOMAIN_WORD_FREQ = 50000  # high enough that catalogue terms win over jieba's general-purpose splits
# Latin/digit runs (dots and plus signs inside, e.g. pm2.5, c++) or single CJK-or-other runs.
_RUN = re.compile(r"[a-z0-9]+(?:[.+][a-z0-9]+)*\+?|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
# Title cores for the domain dictionary: split at conjunctions and punctuation.
_TITLE_SPLIT = re.compile(r"[及和与、（）()，,：:；;“”\"《》·\s/]+")


def is_cjk(word: str) -> bool:
    return bool(_CJK.match(word))


@cache
def _char_pinyin(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL)[0]


def pinyin_key(word: str) -> str:
    """Toneless pinyin of a Chinese word, character by character, e.g. 疫苗 → yimiao (empty for non-Chinese
    text).  Index and query use the same per-character reading, so homophones meet."""
    return "".join(_char_pinyin(ch) for ch in word) if is_cjk(word) else ""


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def read_synonyms(path: Path = SYNONYMS) -> dict[str, list[str]]:
    """`看病 => 医疗机构, 医院` lines → {"看病": ["医疗机构", "医院"]} (keys and targets normalised)."""
    synonyms: dict[str, list[str]] = {}
    for number, line in enumerate(_read_lines(path), 1):
        if "=>" not in line:
            raise ValueError(f"{path}: entry {number} lacks '=>': {line!r}")
        left, right = line.split("=>", 1)
        targets = [normalize(t) for t in re.split(r"[,，、]", right) if t.strip()]
        for key in re.split(r"[,，、]", left):
            key = normalize(key)
            if key:
                synonyms.setdefault(key, [])
                synonyms[key] += [t for t in targets if t != key and t not in synonyms[key]]
    return synonyms


def read_word_list(path: Path) -> frozenset[str]:
    return frozenset(normalize(w) for line in _read_lines(path) for w in line.split())


@dataclass
class Analyzer:
    """Tokenizer plus word lists; build one with `get_analyzer()` (cached)."""

    dictionary: Path = DOMAIN_DICT
    synonyms_path: Path = SYNONYMS
    generic_path: Path = GENERIC_WORDS
    stop_path: Path = STOP_WORDS
    synonyms: dict[str, list[str]] = field(init=False)
    generic: frozenset[str] = field(init=False)
    stop: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.synonyms = read_synonyms(self.synonyms_path)
        self.generic = read_word_list(self.generic_path)
        self.stop = read_word_list(self.stop_path)
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        if self.dictionary.exists():
            self.tokenizer.load_userdict(str(self.dictionary))
        extra = set(self.synonyms) | {t for ts in self.synonyms.values() for t in ts} | self.generic | self.stop
        for word in sorted(extra):
            if is_cjk(word) and len(word) > 1:
                self.tokenizer.add_word(word, DOMAIN_WORD_FREQ)
        self._freq = self.tokenizer.FREQ
        # Catalogue text repeats a lot (keywords, 信息项, district editions): cache per text run.
        self._cut_run = lru_cache(maxsize=200_000)(self._cut_run_uncached)
        self.sub_words = lru_cache(maxsize=200_000)(self._sub_words_uncached)
        self._value_text = lru_cache(maxsize=500_000)(lambda value: " ".join(self.index_tokens(value)))
        self._value_keys = lru_cache(maxsize=500_000)(self._fuzzy_keys)

    def _cut_run_uncached(self, run: str) -> tuple[str, ...]:
        return tuple(w for w in self.tokenizer.cut(run, HMM=True) if w.strip())

    def is_word(self, word: str) -> bool:
        return self._freq.get(word, 0) > 0

    def cut(self, text: str) -> list[str]:
        """Precise-mode words of normalised text: Chinese words via jieba, Latin/digit runs whole."""
        words: list[str] = []
        for match in _RUN.finditer(normalize(text)):
            run = match.group()
            if is_cjk(run):
                words += self._cut_run(run)
            else:
                words.append(run)
        return words

    def _sub_words_uncached(self, word: str) -> list[str]:
        """Dictionary words strictly inside `word` (length ≥ 2), left to right, longest first
        (`self.sub_words`, cached)."""
        if not is_cjk(word) or len(word) < 3:
            return []
        found = []
        for start in range(len(word)):
            for end in range(len(word), start + 1, -1):
                piece = word[start:end]
                if len(piece) < len(word) and piece not in found and self.is_word(piece):
                    found.append(piece)
        return found

    def split(self, word: str) -> list[str]:
        """The most probable segmentation of `word` into smaller dictionary words (jieba's unigram model,
        without `word` itself), keeping pieces of two or more characters: 地铁站 → [地铁], 三甲医院 → [三甲, 医院]."""
        if not is_cjk(word) or len(word) < 3:
            return []
        total = math.log(self.tokenizer.total)
        best: list[tuple[float, int]] = [(0.0, 0)] * (len(word) + 1)  # (log probability, start of last piece)
        for end in range(1, len(word) + 1):
            candidates = []
            for start in range(end):
                piece = word[start:end]
                if piece == word:
                    continue
                freq = self._freq.get(piece, 0)
                if freq > 0 or end - start == 1:
                    candidates.append((best[start][0] + math.log(freq or 1) - total, start))
            best[end] = max(candidates)
        pieces, end = [], len(word)
        while end > 0:
            start = best[end][1]
            pieces.append(word[start:end])
            end = start
        return [p for p in reversed(pieces) if len(p) >= 2]

    def index_tokens(self, text: str) -> list[str]:
        """Search-mode tokens: each precise word followed by its dictionary sub-words."""
        tokens: list[str] = []
        for word in self.cut(text):
            tokens.append(word)
            tokens += self.sub_words(word)
        return tokens

    def index_text(self, values: str | Iterable[str]) -> str:
        """Space-joined search-mode tokens of a string or of each string in a list."""
        if isinstance(values, str):
            values = [values]
        return " ".join(filter(None, map(self._value_text, values)))

    def fuzzy_text(self, values: Iterable[str]) -> str:
        """Pinyin keys of the Chinese words (length ≥ 2) in `values`, for typo/homophone recall."""
        keys: dict[str, None] = {}
        for value in values:
            keys.update(dict.fromkeys(self._value_keys(value)))
        return " ".join(keys)

    def _fuzzy_keys(self, value: str) -> tuple[str, ...]:
        keys: dict[str, None] = {}
        for word in self.cut(value):
            for w in [word, *self.sub_words(word)]:
                key = pinyin_key(w) if len(w) >= 2 else ""
                if key:
                    keys[key] = None
        return tuple(keys)


_cache: dict[tuple, Analyzer] = {}
_cache_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide analyzer; reloaded when one of the data/search files changes."""
    paths = (DOMAIN_DICT, SYNONYMS, GENERIC_WORDS, STOP_WORDS)
    key = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in paths)
    with _cache_lock:
        analyzer = _cache.get(key)
        if analyzer is None:
            _cache.clear()
            analyzer = _cache[key] = Analyzer()
        return analyzer


def title_terms(title: str, generic: frozenset[str], places: Iterable[str]) -> list[str]:
    """Core terms of a title (2–6 characters) for the domain dictionary, e.g. 执业律师名录 → 执业律师."""
    terms = []
    for piece in _TITLE_SPLIT.split(normalize(title)):
        for place in places:
            if piece.startswith(place):
                piece = piece[len(place):]
        changed = True
        while changed:
            changed = False
            for word in generic:
                if len(piece) > len(word) and piece.endswith(word):
                    piece, changed = piece[: -len(word)], True
        if 2 <= len(piece) <= 6 and is_cjk(piece):
            terms.append(piece)
    return terms


def build_domain_dictionary(departments: Iterable[dict], datasets: Iterable[dict], districts: Iterable[str],
                            categories: Iterable[str], generic: frozenset[str]) -> list[str]:
    """Sorted unique domain words: department names and abbreviations, districts, categories, keywords,
    信息项 names and title core terms (Chinese, 2–12 characters)."""
    places = sorted({*districts, "贵阳市", "贵阳", "全市", "市级"}, key=len, reverse=True)
    words: set[str] = set()
    for dep in departments:
        words.add(normalize(dep["name"]))
        words.update(normalize(s) for s in dep.get("short_names") or [])
    words.update(normalize(d) for d in districts)
    words.update(normalize(d)[:-1] for d in districts if len(d) >= 3 and d != "市本级")
    words.update(normalize(c) for c in categories)
    for ds in datasets:
        words.update(normalize(k) for k in ds.get("keywords") or [])
        words.update(normalize(f) for f in ds.get("fields") or [])
        words.update(title_terms(ds["title"], generic, places))
    return sorted(w for w in words if is_cjk(w) and 2 <= len(w) <= 12)


def write_domain_dictionary(words: list[str], path: Path = DOMAIN_DICT) -> None:
    """Write jieba's user-dictionary format ("word freq" lines; jieba allows no comments in it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{w} {DOMAIN_WORD_FREQ}\n" for w in words), encoding="utf-8")

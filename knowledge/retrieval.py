"""BM25 passage retrieval over jieba tokens, and the long-tail answer built from the best passage."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi

import settings
from knowledge.citation import CAVEAT_PREFIX, citation_line
from knowledge.kb import DEFAULT_DIR, Passage, load, yaml_files
from textnorm import normalize

JIEBA_DICT_DIR = settings.ROOT / "data" / "jieba_dict"

# A passage is only used when its BM25 score reaches this value and the question shares at least
# MIN_MATCHED distinct content tokens with it.  Tuned on tests/knowledge (in-scope vs. out-of-scope).
MIN_SCORE = 6.0
MIN_MATCHED = 2

HUMAN_HELP = (
    "请以官方文本为准（贵阳市人民政府门户网站“规章”栏目、贵阳市人大常委会网站），"
    "也可以拨打12345政务服务热线或联系工作人员。"
)
# Said under every passage the long-tail search picks: it may not be the answer to the question asked.
RETRIEVED_NOTE = (
    "以上是我找到的最相关的内容，是我的转述，不是原文，请以官方文本为准；"
    "如果没有答到您问的，请换个说法，或拨打12345政务服务热线咨询。"
)

# Function words, question words and words that every passage shares: they must not make a match.
STOPWORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 么 嘛 哦 哈 是 有 在 和 与 及 或 就 都 也 还 要 会 能 可以 可 把 被 对 从 给 让 为 以 之 其 这 那
    这个 那个 哪个 哪些 什么 啥 怎么 怎样 怎么样 如何 为什么 多少 几 谁 哪 哪里 请问 问 一下 一个 我 我们 你 你们 他 它 想 知道
    告诉 说 讲 请 帮 帮忙 下 个 上 中 不 没 没有 吗? 等 等等 里 里面 一些 所 于 被 按 按照 依 依据 应当 应 规定 相关 有关
    贵阳 贵阳市 市 本市 政府 数据 共享开放 管理 工作 行政 行政机关 机关 部门 人民政府
    """.split()
)
_WORD = re.compile(r"\w", re.UNICODE)
# "第三十条" must stay one token: jieba's search mode would also emit 第三/三十/十条, which match
# unrelated numbers such as "第三十二次会议".
_ARTICLE = re.compile(r"第[零〇一二两三四五六七八九十百0-9]+[条章]")


@dataclass(frozen=True)
class Answer:
    text: str
    citation: str  # the passage source, e.g. 《办法》第二条
    confidence: str  # 确认 | 推断 | 未找到
    score: float
    passage_id: str
    caveat: str = ""  # what is not confirmed, in plain words

    @property
    def message(self) -> str:
        """The user-facing reply: the passage, the 出处 line, what is not confirmed, and where to check."""
        lines = [self.text, citation_line([(self.citation, self.confidence)])]
        if self.caveat:
            lines.append(f"{CAVEAT_PREFIX}{self.caveat}")
        return "\n".join([*lines, RETRIEVED_NOTE])


NOT_FOUND_MESSAGE = "这个问题我手头的《办法》《条例》材料里没有可靠出处，我不能给您确定的答复，以免说错。" + HUMAN_HELP


class _Tokenizer:
    """A private jieba instance (jieba's default one is process-global and shared with Rasa)."""

    def __init__(self, dict_dir: Path) -> None:
        self._jieba = jieba.Tokenizer()
        if dict_dir.is_dir():
            for path in sorted(p for p in dict_dir.iterdir() if p.is_file()):
                self._jieba.load_userdict(str(path))

    def __call__(self, text: str) -> list[str]:
        text = normalize(text)
        articles = _ARTICLE.findall(text)
        words = (t.strip() for t in self._jieba.cut_for_search(_ARTICLE.sub(" ", text)))
        return articles + [token for token in words if token and _WORD.search(token) and token not in STOPWORDS]


class Index:
    """BM25 over the passages of one knowledge directory."""

    def __init__(self, passages: list[Passage], tokenizer: _Tokenizer) -> None:
        self.passages = passages
        self._tokenize = tokenizer
        self._docs = [self._tokenize(self._document(p)) for p in passages]
        self._bm25 = BM25Okapi(self._docs)

    @staticmethod
    def _document(passage: Passage) -> str:
        keywords = " ".join(passage.keywords)
        return f"{passage.source} {passage.chapter} {passage.text} {passage.caveat} {keywords} {keywords}"

    def search(self, question: str, k: int = 3) -> list[Answer]:
        """The best ``k`` passages that pass the thresholds, best first."""
        query = self._tokenize(question)
        if not query:
            return []
        # An article number ("第十一条") is the most precise thing a user can ask for: count it twice.
        query += [token for token in query if _ARTICLE.fullmatch(token)]
        scores = self._bm25.get_scores(query)
        ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
        results = []
        for i in ranked[:k]:
            matched = set(query) & set(self._docs[i])
            if scores[i] < MIN_SCORE or len(matched) < MIN_MATCHED:
                continue
            p = self.passages[i]
            results.append(Answer(p.text, p.source, p.confidence, float(scores[i]), p.id, p.caveat))
        return results


_lock = threading.Lock()
_cache: dict[Path, tuple[tuple, Index]] = {}
_tokenizers: dict[Path, _Tokenizer] = {}


def _signature(directory: Path) -> tuple:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in yaml_files(directory))


def index(directory: Path | str | None = None) -> Index:
    """The index of ``directory`` (default ``data/knowledge``), rebuilt when a file is added or changed."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    with _lock:
        signature = _signature(directory) if directory.is_dir() else ()
        cached = _cache.get(directory)
        if cached and cached[0] == signature:
            return cached[1]
        if JIEBA_DICT_DIR not in _tokenizers:
            _tokenizers[JIEBA_DICT_DIR] = _Tokenizer(JIEBA_DICT_DIR)
        built = Index(load(directory), _tokenizers[JIEBA_DICT_DIR])
        _cache[directory] = (signature, built)
        return built


def search(question: str, k: int = 3, directory: Path | str | None = None) -> list[Answer]:
    return index(directory).search(question, k)


def answer(question: str, directory: Path | str | None = None) -> Answer | None:
    """The best passage for ``question`` with its citation, or ``None`` when nothing relevant is found."""
    results = search(question, 1, directory)
    return results[0] if results else None

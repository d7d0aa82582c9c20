"""Hybrid passage retrieval (BM25 over jieba tokens + passage vectors), and the long-tail answer built from the
best passage.

A passage is an answer only when the match is strong: lexically (BM25 score >= MIN_SCORE and at least
MIN_MATCHED shared content tokens, as before vectors; ordered by BM25), or, when no passage is, semantically
(cosine >= DENSE_MIN with at least DENSE_MIN_MATCHED shared content token, since a vector alone also finds
"something close" for unrelated questions; ordered by cosine, which is then the answer's `score`).  Fusing the
two rankings (reciprocal rank) was tried and dropped: it moved correct lexical answers ("考核结果公开吗",
"个人隐私会被开放吗") below semantically similar passages of other documents.  Passage vectors are computed when
the index is built (the embedder's machine-wide passage cache, `EMBED_CACHE`, keeps them, so a process start only
encodes new or changed passages; 66 passages: see README "Measured"); without a working embedder the retrieval
is BM25 only (logged)."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np
from rank_bm25 import BM25Okapi

import settings
from knowledge.citation import CAVEAT_PREFIX, citation_line
from knowledge.kb import DEFAULT_DIR, Passage, load, yaml_files
from textnorm import normalize

log = logging.getLogger(__name__)

JIEBA_DICT_DIR = settings.ROOT / "data" / "jieba_dict"

# A passage is only used when its BM25 score reaches this value and the question shares at least
# MIN_MATCHED distinct content tokens with it.  Tuned on tests/knowledge (in-scope vs. out-of-scope).
MIN_SCORE = 6.0
MIN_MATCHED = 2
# The semantic route (chosen on the NLU examples: ask_measures questions against search and out-of-scope ones,
# see the test in tests/knowledge/test_retrieval.py).
DENSE_MIN = 0.89
DENSE_MIN_MATCHED = 1

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


def _passage_text(passage: Passage) -> str:
    """What a passage's vector encodes: where it sits, what it says, its keywords."""
    return "；".join([passage.chapter, passage.text, "、".join(passage.keywords)])


def _vectors(passages: list[Passage]) -> np.ndarray | None:
    """(n, dim) vectors of the passages (the embedder's passage cache, EMBED_CACHE, keeps them across processes:
    only new or changed passages are encoded), None without a working embedder."""
    try:
        from embedding import get_embedder

        return get_embedder().encode_passages([_passage_text(p) for p in passages])
    except Exception as exc:  # noqa: BLE001 - BM25 alone still answers
        log.warning("knowledge passages not embedded (%s): BM25 retrieval only", exc)
        return None


def _query_vector(question: str) -> np.ndarray | None:
    try:
        from embedding import get_embedder

        return get_embedder().query_vector(question)
    except Exception as exc:  # noqa: BLE001
        log.warning("question not embedded (%s): BM25 retrieval only", exc)
        return None


class Index:
    """BM25 and passage vectors over the passages of one knowledge directory."""

    def __init__(self, passages: list[Passage], tokenizer: _Tokenizer) -> None:
        self.passages = passages
        self._tokenize = tokenizer
        self._docs = [self._tokenize(self._document(p)) for p in passages]
        self._bm25 = BM25Okapi(self._docs) if passages else None
        self._vectors = _vectors(passages)

    @staticmethod
    def _document(passage: Passage) -> str:
        keywords = " ".join(passage.keywords)
        return f"{passage.source} {passage.chapter} {passage.text} {passage.caveat} {keywords} {keywords}"

    def _semantic(self, question: str, query: list[str], matched: list[int], k: int) -> list[tuple[int, float]]:
        """(passage, cosine) of the passages whose vector is close enough, nearest first; none for a question
        naming an article (第三十条: an exact reference that a similar passage does not answer)."""
        if self._vectors is None or not len(self._vectors) or any(_ARTICLE.fullmatch(t) for t in query):
            return []
        vector = _query_vector(question)
        if vector is None:
            return []
        cosines = self._vectors @ vector
        return [(int(i), float(cosines[i])) for i in np.argsort(-cosines, kind="stable")[:k]
                if cosines[i] >= DENSE_MIN and matched[i] >= DENSE_MIN_MATCHED]

    def search(self, question: str, k: int = 3) -> list[Answer]:
        """The best ``k`` passages that pass the thresholds, best first."""
        query = self._tokenize(question)
        if not query or self._bm25 is None:
            return []
        # An article number ("第十一条") is the most precise thing a user can ask for: count it twice.
        query += [token for token in query if _ARTICLE.fullmatch(token)]
        scores = self._bm25.get_scores(query)
        matched = [len(set(query) & set(doc)) for doc in self._docs]
        lexical = [i for i in np.argsort(-scores, kind="stable")[:k]
                   if scores[i] >= MIN_SCORE and matched[i] >= MIN_MATCHED]
        if lexical:
            chosen = [(int(i), float(scores[i])) for i in lexical]
        else:
            chosen = self._semantic(question, query, matched, k)
        results = []
        for i, score in chosen:
            p = self.passages[i]
            results.append(Answer(p.text, p.source, p.confidence, score, p.id, p.caveat))
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

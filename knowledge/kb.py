"""Load and validate the knowledge base: every ``*.yml``/``*.yaml`` file under ``data/knowledge/``.

One file holds one document::

    document: 《贵阳市政府数据共享开放实施办法》   # full title
    short_name: 《办法》
    kind: 贵阳市人民政府规章
    chapters:
      - title: 第一章 总则
        passages:
          - id: measures.art1              # unique across the whole knowledge base
            source: 《办法》第一条          # citation text shown to users
            confidence: 确认               # 确认 | 推断 | 未找到
            text: ...                      # our own words: one clear sentence first
            caveat: ...                    # what is not confirmed, in plain words (required unless 确认)
            keywords: [立法目的, 依据]

An operator adds a document (e.g. the full official text) by dropping another file of this shape into
the directory; nothing else changes.  Any schema error raises ``KnowledgeBaseError`` naming the file and
the exact place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

import settings

DEFAULT_DIR = settings.ROOT / "data" / "knowledge"
CONFIDENCES = ("确认", "推断", "未找到")

# YAML folded text joins lines with a space; Chinese text must not keep it.
_SPACE_NEAR_CJK = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")

_DOCUMENT_KEYS = {"document": True, "short_name": True, "kind": False, "chapters": True}
_CHAPTER_KEYS = {"title": True, "passages": True}
_PASSAGE_KEYS = {"id": True, "source": True, "confidence": True, "text": True, "caveat": False, "keywords": False}


class KnowledgeBaseError(ValueError):
    """The knowledge base directory or one of its files is malformed."""


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    confidence: str
    text: str
    keywords: tuple[str, ...]
    document: str
    chapter: str
    file: str
    caveat: str = ""  # what the sources do not settle, in plain words


def yaml_files(directory: Path) -> list[Path]:
    """The knowledge files of a directory, in a stable order."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml"))


def _check_keys(where: str, node: object, spec: dict[str, bool]) -> dict:
    if not isinstance(node, dict):
        raise KnowledgeBaseError(f"{where}: expected a mapping, got {type(node).__name__}")
    unknown = sorted(set(node) - set(spec))
    if unknown:
        raise KnowledgeBaseError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(spec)}")
    for key, required in spec.items():
        if required and key not in node:
            raise KnowledgeBaseError(f"{where}: missing required key '{key}'")
    return node


def _text(where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeBaseError(f"{where}: must be a non-empty string, got {value!r}")
    return _SPACE_NEAR_CJK.sub("", " ".join(value.split()))


def _list(where: str, value: object) -> list:
    if not isinstance(value, list) or not value:
        raise KnowledgeBaseError(f"{where}: must be a non-empty list")
    return value


def _passage(where: str, node: object, document: str, chapter: str, file: str) -> Passage:
    node = _check_keys(where, node, _PASSAGE_KEYS)
    confidence = _text(f"{where}.confidence", node["confidence"])
    if confidence not in CONFIDENCES:
        raise KnowledgeBaseError(
            f"{where}.confidence: {confidence!r} is not one of {list(CONFIDENCES)} (write it without brackets)"
        )
    caveat = _text(f"{where}.caveat", node["caveat"]) if "caveat" in node else ""
    if confidence != "确认" and not caveat:
        raise KnowledgeBaseError(
            f"{where}: a {confidence} passage needs a 'caveat' saying in plain words what is not confirmed"
        )
    keywords = node.get("keywords", [])
    if not isinstance(keywords, list):
        raise KnowledgeBaseError(f"{where}.keywords: must be a list of strings")
    return Passage(
        id=_text(f"{where}.id", node["id"]),
        source=_text(f"{where}.source", node["source"]),
        confidence=confidence,
        text=_text(f"{where}.text", node["text"]),
        keywords=tuple(_text(f"{where}.keywords[{i}]", k) for i, k in enumerate(keywords)),
        document=document,
        chapter=chapter,
        file=file,
        caveat=caveat,
    )


def load_file(path: Path) -> list[Passage]:
    """Validate one document file and return its passages."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise KnowledgeBaseError(f"{path}: not UTF-8 text: {exc}") from exc
    data = _check_keys(str(path), data, _DOCUMENT_KEYS)
    document = _text(f"{path}: document", data["document"])
    passages = []
    for c, chapter in enumerate(_list(f"{path}: chapters", data["chapters"])):
        where = f"{path}: chapters[{c}]"
        chapter = _check_keys(where, chapter, _CHAPTER_KEYS)
        title = _text(f"{where}.title", chapter["title"])
        for p, node in enumerate(_list(f"{where}.passages", chapter["passages"])):
            passages.append(_passage(f"{where}.passages[{p}]", node, document, title, path.name))
    return passages


def load(directory: Path | str | None = None) -> list[Passage]:
    """Every passage of every knowledge file; passage ids must be unique across files."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    if not directory.is_dir():
        raise KnowledgeBaseError(f"{directory}: knowledge base directory does not exist")
    files = yaml_files(directory)
    if not files:
        raise KnowledgeBaseError(f"{directory}: no .yml/.yaml knowledge files")
    passages: list[Passage] = []
    seen: dict[str, str] = {}
    for path in files:
        for passage in load_file(path):
            if passage.id in seen:
                raise KnowledgeBaseError(
                    f"{path}: passage id {passage.id!r} is already used in {seen[passage.id]}"
                )
            seen[passage.id] = path.name
            passages.append(passage)
    return passages

"""The knowledge-base loader: the real files validate, schema errors are precise, operator files are picked up."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

import knowledge
from knowledge.kb import DEFAULT_DIR, KnowledgeBaseError, load

VALID = """\
document: 《测试文件》
short_name: 《测试》
chapters:
  - title: 第一章
    passages:
      - id: {id}
        source: 《测试》第一条
        confidence: 确认
        text: >-
          这是一段
          测试文字。
        keywords: [测试]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_real_knowledge_base_loads_with_every_document():
    passages = load()
    documents = {p.document for p in passages}
    assert {
        "《贵阳市政府数据共享开放实施办法》",
        "《贵阳市政府数据共享开放条例》",
        "《贵阳市政府数据共享开放实施办法》的解读",
        "《贵州省政府数据共享开放条例》",
        "《贵阳市政府数据共享开放考核暂行办法》",
    } <= documents
    assert len({p.id for p in passages}) == len(passages)
    assert {p.confidence for p in passages} == {"确认", "推断", "未找到"}


def test_unconfirmed_passages_say_so_in_plain_words():
    for p in load():
        if p.confidence == "未找到":
            assert any(w in p.text for w in ("没有查到", "无法确认")), p.id
        if p.confidence == "推断":
            # where it comes from (the 解读, news, a question bank, a draft), in the text itself
            assert any(w in p.text for w in ("解读", "新闻", "题库", "草案", "研究材料")), p.id
        if p.confidence != "确认":
            assert any(w in p.caveat for w in ("没有查到", "没有可靠出处", "没有核对", "不能确定", "没有看到")), p.id
        for phrase in ("资料中", "没有取得", "推断", "未核实", "据新闻", "据间接资料", "条号不详"):
            assert phrase not in p.text + p.caveat + p.source, (p.id, phrase)


def test_unconfirmed_passage_without_caveat_is_rejected(tmp_path):
    write(tmp_path, "a.yml", VALID.format(id="t.1").replace("confidence: 确认", "confidence: 推断"))
    with pytest.raises(KnowledgeBaseError, match=r"passages\[0\]: a 推断 passage needs a 'caveat'"):
        load(tmp_path)


def test_folded_chinese_text_has_no_stray_spaces(tmp_path):
    write(tmp_path, "a.yml", VALID.format(id="t.1"))
    (passage,) = load(tmp_path)
    assert passage.text == "这是一段测试文字。"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID.format(id="t.1").replace("        source: 《测试》第一条\n", ""), "passages[0]: missing required key 'source'"),
        (VALID.format(id="t.1").replace("confidence: 确认", "confidence: 可能"), "'可能' is not one of"),
        (VALID.format(id="t.1").replace("confidence: 确认", "confidence: '[确认]'"), "write it without brackets"),
        (VALID.format(id="t.1").replace("short_name:", "shortname:"), "unknown key(s) ['shortname']"),
        (VALID.format(id="t.1").replace("keywords: [测试]", "keywords: 测试"), "keywords: must be a list"),
        (VALID.format(id="t.1").replace("    passages:\n", "    passage:\n"), "chapters[0]: unknown key(s) ['passage']"),
        ("document: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping, got list"),
        ("document: 《测试》\nshort_name: 《测试》\nchapters: []\n", "chapters: must be a non-empty list"),
    ],
)
def test_schema_errors_name_file_and_place(tmp_path, text, message):
    path = write(tmp_path, "broken.yml", text)
    with pytest.raises(KnowledgeBaseError) as err:
        load(tmp_path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    write(tmp_path, "a.yml", VALID.format(id="same"))
    write(tmp_path, "b.yml", VALID.format(id="same"))
    with pytest.raises(KnowledgeBaseError, match=r"b\.yml: passage id 'same' is already used in a\.yml"):
        load(tmp_path)


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        load(tmp_path / "nope")
    with pytest.raises(KnowledgeBaseError, match="no .yml/.yaml knowledge files"):
        load(tmp_path)


def test_operator_added_file_is_loaded_and_retrieved_without_code_change(tmp_path):
    kb = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, kb)
    question = "办法第十五条关于数据脱敏是怎么规定的"
    before = knowledge.answer(question, directory=kb)
    assert before is None or before.citation != "《办法》第十五条"
    write(
        kb,
        "measures_official_text.yaml",
        """\
        document: 《贵阳市政府数据共享开放实施办法》（正式文本）
        short_name: 《办法》
        kind: 运维人员补充的正式文本
        chapters:
          - title: 第三章 数据共享
            passages:
              - id: official.measures.art15
                source: 《办法》第十五条
                confidence: 确认
                text: 第十五条（示例）：提供开放数据前应当进行数据脱敏处理。
                keywords: [数据脱敏, 脱敏]
        """,
    )
    assert "official.measures.art15" in {p.id for p in load(kb)}
    after = knowledge.answer(question, directory=kb)
    assert after is not None
    assert (after.passage_id, after.citation, after.confidence) == ("official.measures.art15", "《办法》第十五条", "确认")

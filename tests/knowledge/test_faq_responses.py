"""Every FAQ answer cites passages that exist in the knowledge base, with their confidence, and is honest
where the sources do not settle the question."""

from __future__ import annotations

import re

import pytest
import yaml

import settings
from knowledge import LABELS, load, parse_citations

DOMAIN = settings.ROOT / "domain" / "faq.yml"
NLU = settings.ROOT / "data" / "nlu" / "faq.yml"
HELDOUT = settings.ROOT / "tests" / "data" / "nlu_test.yml"
PREFIX = "utter_ask_measures/"
PROVINCIAL = "《贵州省政府数据共享开放条例》"
# How research notes read; a citizen gets plain words instead ("我没有查到原文", "不是现行条文原文，仅供参考").
RESEARCH_NOTE_PHRASES = ("资料中", "没有取得", "推断", "未核实", "据新闻", "据间接资料", "条号不详", "知识库", "已确认")
WAYS_ON = ("12345", "工作人员", "门户网站", "人大常委会网站", "官方文本", "我要投诉", "开放平台")


def responses() -> dict[str, str]:
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    return {name[len(PREFIX):]: variants[0]["text"] for name, variants in domain["responses"].items()}


def examples(path) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = {}
    for block in data["nlu"]:
        intent, _, topic = block["intent"].partition("/")
        if intent == "ask_measures":
            found[topic] = [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
    return found


RESPONSES = responses()


def test_at_least_40_snake_case_topics():
    assert len(RESPONSES) >= 40
    for topic in RESPONSES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", topic), topic


@pytest.mark.parametrize("topic", sorted(RESPONSES))
def test_every_citation_is_a_knowledge_base_passage_with_its_confidence(topic):
    text = RESPONSES[topic]
    assert "《" in text or "解读" in text
    confidences: dict[str, set[str]] = {}
    for p in load():
        confidences.setdefault(p.source, set()).add(p.confidence)
    cited = parse_citations(text)
    assert cited, topic
    for source, confidence in cited:
        assert source in confidences, f"{topic}: {source} is not a passage source in data/knowledge/"
        assert confidence in confidences[source], f"{topic}: {source} is {confidences[source]}, cited as {confidence}"



@pytest.mark.parametrize("topic", sorted(RESPONSES))
def test_answer_first_then_source_then_what_is_not_confirmed(topic):
    lines = RESPONSES[topic].splitlines()
    assert not lines[0].startswith(("出处：", "请注意：")), "one clear sentence comes first"
    lead = re.split("[。：]", lines[0])[0]
    assert len(lead) <= 60, f"the first sentence is short enough to read: {lead}"
    sources = [i for i, line in enumerate(lines) if line.startswith("出处：")]
    caveats = [i for i, line in enumerate(lines) if line.startswith("请注意：")]
    assert len(sources) == 1 and len(caveats) <= 1
    assert lines[sources[0] + 1:] == [lines[i] for i in caveats], "after the source only the 请注意 line follows"
    if any(confidence != "确认" for _, confidence in parse_citations(RESPONSES[topic])):
        assert caveats, "an answer citing an unconfirmed source says in plain words what is not confirmed"
        assert any(way in lines[caveats[0]] for way in WAYS_ON), "and where to check"


@pytest.mark.parametrize("topic", sorted(RESPONSES))
def test_plain_language_without_research_note_phrases(topic):
    text = RESPONSES[topic]
    found = [phrase for phrase in RESEARCH_NOTE_PHRASES if phrase in text]
    assert not found, f"{topic}: {found}"


def test_unconfirmed_labels_are_plain_words():
    assert LABELS["确认"] == ""
    for label in filter(None, LABELS.values()):
        assert not any(phrase in label for phrase in RESEARCH_NOTE_PHRASES), label


@pytest.mark.parametrize("topic", sorted(RESPONSES))
def test_provincial_numbers_and_categories_are_labelled_as_provincial(topic):
    text = RESPONSES[topic]
    provincial_only = ("10个工作日", "15个工作日", "1万元", "10倍", "无条件共享", "有条件共享", "无条件开放", "45条")
    if any(term in text for term in provincial_only):
        assert PROVINCIAL in text, topic
        assert any(source.startswith(PROVINCIAL) for source, _ in parse_citations(text)), topic


@pytest.mark.parametrize(
    "topic",
    ["sharing_time_limit", "opening_time_limit", "penalties", "number_of_articles", "cloud_platform_application",
     "data_user_obligations", "complaints", "fees", "measures_amendments"],
)
def test_unsettled_questions_say_so_and_offer_a_way_on(topic):
    text = RESPONSES[topic]
    assert "无法确认" in text
    assert any(way in text for way in ("12345", "工作人员", "门户网站", "人大常委会网站", "我要投诉"))
    assert any(confidence != "确认" for _, confidence in parse_citations(text))


def test_nlu_topics_match_responses_with_enough_paraphrases():
    train = examples(NLU)
    assert set(train) == set(RESPONSES)
    for topic, lines in train.items():
        assert len(lines) >= 5, topic


def test_heldout_questions_cover_known_topics():
    heldout = examples(HELDOUT)
    assert len(heldout) >= 40
    assert set(heldout) <= set(RESPONSES)

"""Every FAQ answer cites passages that exist in the knowledge base, with their confidence, and is honest
where the sources do not settle the question."""

from __future__ import annotations

import re

import pytest
import yaml

import settings
from knowledge import load, parse_citations

DOMAIN = settings.ROOT / "domain" / "faq.yml"
NLU = settings.ROOT / "data" / "nlu" / "faq.yml"
HELDOUT = settings.ROOT / "tests" / "data" / "nlu_test.yml"
PREFIX = "utter_ask_measures/"
PROVINCIAL = "《贵州省政府数据共享开放条例》"


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
    assert text.splitlines()[-1].startswith("出处："), "the 出处 line comes last"


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

"""BM25 retrieval: known questions find the right passage and citation; unrelated ones find nothing."""

from __future__ import annotations

import pytest

import knowledge
from knowledge import parse_citations


@pytest.mark.parametrize(
    ("question", "passage_id", "citation"),
    [
        ("条例第十一条讲什么", "regulation.art11", "《条例》第十一条（2017年公布本）"),
        ("通过共享平台拿到的证照和纸质原件一样有效吗", "regulation.sharing_validity", "《条例》第三章"),
        ("首席数据官是什么", "assessment.art7_8", "《考核暂行办法》第七条、第八条"),
        ("云上贵州贵阳分平台怎么申请使用", "interp.2.2", "《办法》解读第二部分（二）"),
        ("信息公开和数据开放有什么区别", "related.disclosure", "《贵阳市政府信息公开规定》"),
        ("个人隐私会被开放吗", "regulation.negative_list", "《条例》第四章"),
        ("申请开放数据多久答复", "regulation.time_limits", "《条例》（具体时限）"),
        ("對答覆不滿意怎麼辦", "regulation.review", "《条例》第四章"),
        ("考核结果公开吗", "regulation.art27", "《条例》第二十七条（2017年公布本）"),
    ],
)
def test_known_question_gets_passage_and_citation(question, passage_id, citation):
    found = knowledge.answer(question)
    assert found is not None
    assert (found.passage_id, found.citation) == (passage_id, citation)
    assert found.score > 0


@pytest.mark.parametrize(
    "question",
    ["今天天气怎么样", "贵阳有什么好吃的", "帮我订一张机票", "社保怎么交", "hello", "", "？？？", "我要申请数据",
     "办法第三十条讲什么"],
)
def test_question_outside_the_sources_gets_none(question):
    assert knowledge.answer(question) is None


def test_answer_message_carries_citation_and_human_help():
    found = knowledge.answer("申请开放数据多久答复")
    assert parse_citations(found.message) == [(found.citation, found.confidence)]
    lines = found.message.splitlines()
    assert lines[0] == found.text  # the answer first, then its source, then what is not confirmed
    assert lines[1].startswith("出处：") and lines[2] == f"请注意：{found.caveat}"
    assert "12345" in found.message and "不是原文" in found.message


def test_confirmed_passage_is_cited_bare_and_an_unconfirmed_one_says_so_in_plain_words():
    confirmed = knowledge.answer("条例第十一条讲什么")
    assert "出处：《条例》第十一条（2017年公布本）\n" in confirmed.message
    inferred = knowledge.answer("通过共享平台拿到的证照和纸质原件一样有效吗")
    assert "出处：《条例》第三章（不是现行条文原文，仅供参考）" in inferred.message
    assert "请注意：" in inferred.message


def test_not_found_message_offers_official_text_and_human():
    assert "12345" in knowledge.NOT_FOUND_MESSAGE
    assert "贵阳市人民政府门户网站" in knowledge.NOT_FOUND_MESSAGE


def test_search_ranks_best_first():
    results = knowledge.search("有条件共享的申请要多少个工作日答复", k=3)
    assert results[0].passage_id == "provincial.conditional_sharing_limit"
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)

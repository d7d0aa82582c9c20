"""action_answer_from_knowledge with real rasa-sdk trackers and dispatcher."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions.faq import FAQ_MIN_CONFIDENCE, ActionAnswerFromKnowledge


def tracker(text: str, intent: str = "ask_measures", topic: str | None = None, confidence: float = 0.0) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if topic:
        message["response_selector"] = {
            "ask_measures": {
                "response": {
                    "utter_action": f"utter_ask_measures/{topic}",
                    "intent_response_key": f"ask_measures/{topic}",
                    "confidence": confidence,
                }
            }
        }
    return Tracker("u1", {}, message, [], False, None, {}, "action_listen")


def run(t: Tracker) -> list[dict]:
    dispatcher = CollectingDispatcher()
    assert ActionAnswerFromKnowledge().run(dispatcher, t, {}) == []
    return dispatcher.messages


def test_confident_topic_utters_the_curated_response():
    messages = run(tracker("办法什么时候施行", topic="measures_dates", confidence=0.93))
    assert [m["response"] for m in messages] == ["utter_ask_measures/measures_dates"]


def test_unsure_topic_answers_from_the_knowledge_base_with_citation():
    question = "通过共享平台拿到的证照和纸质原件一样有效吗"
    messages = run(tracker(question, topic="measures_dates", confidence=FAQ_MIN_CONFIDENCE - 0.01))
    expected = knowledge.answer(question)
    assert [m["text"] for m in messages] == [expected.message]
    assert "《条例》第三章（不是现行条文原文，仅供参考）" in messages[0]["text"]


def test_nothing_relevant_says_it_cannot_confirm_and_offers_a_human():
    messages = run(tracker("帮我订一张去北京的机票", intent="nlu_fallback"))
    assert [m["text"] for m in messages] == [knowledge.NOT_FOUND_MESSAGE]
    assert "12345" in messages[0]["text"]


def test_selection_for_another_intent_is_ignored():
    messages = run(tracker("首席数据官是什么", intent="search_dataset", topic="measures_dates", confidence=0.99))
    assert "《考核暂行办法》第七条、第八条" in messages[0]["text"]

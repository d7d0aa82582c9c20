"""Answers on the Measures and the Regulation: the curated FAQ answer when the ResponseSelector is
confident, otherwise the best knowledge-base passage with its citation, otherwise an honest
"cannot confirm" with a pointer to the official text and a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import knowledge

RETRIEVAL_INTENT = "ask_measures"
# Below this ResponseSelector confidence the curated topic answer is not trusted and the
# knowledge base is searched instead (a wrong legal answer is worse than no answer).  Chosen on the held-out
# FAQ file (tests/data/nlu_heldout_faq.yml, 116 questions, selector 90.5% right): at 0.3 it keeps 96 of the 105
# right answers and 6 of the 11 wrong ones (at 0.5: 70/105 and 4/11).
FAQ_MIN_CONFIDENCE = 0.3


def confident_faq_response(latest_message: dict[str, Any]) -> str | None:
    """The name of the selected ``utter_ask_measures/<topic>`` response, if the selection is confident."""
    if (latest_message.get("intent") or {}).get("name") != RETRIEVAL_INTENT:
        return None
    selector = (latest_message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    response = selector.get("response") or {}
    utter_action = response.get("utter_action")
    if utter_action and float(response.get("confidence") or 0.0) >= FAQ_MIN_CONFIDENCE:
        return utter_action
    return None


class ActionAnswerFromKnowledge(Action):
    def name(self) -> str:
        return "action_answer_from_knowledge"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[dict[str, Any]]:
        faq_response = confident_faq_response(tracker.latest_message)
        if faq_response:
            dispatcher.utter_message(response=faq_response)
            return []
        found = knowledge.answer(tracker.latest_message.get("text") or "")
        dispatcher.utter_message(text=found.message if found else knowledge.NOT_FOUND_MESSAGE)
        return []

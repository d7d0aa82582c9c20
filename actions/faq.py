"""Answers on the Measures and the Regulation: the curated FAQ answer when the ResponseSelector is
confident (and NLU sure of the intent), otherwise the best knowledge-base passage with its citation, otherwise an
honest "cannot confirm" with a pointer to the official text and a human.

When NLU was unsure or no passage is confident, the catalogue is asked too (`actions.routing`), also before a
curated answer: a message that finds datasets with confidence and no knowledge-base passage ("贵阳有哪些养老院",
which NLU takes for a Measures question with confidence 1.0) is answered as a search."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from actions import catalog_view as view
from actions import routing
from actions.search import run_search

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
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        unsure = routing.nlu_unsure(message)
        faq_response = confident_faq_response(message)
        found = knowledge.answer(text)
        if faq_response and not unsure and found is not None:
            dispatcher.utter_message(response=faq_response)
            return []
        if (found is None or unsure) and not tracker.active_loop_name:
            choice, found_there = routing.decide(text, message)
            if choice == routing.SEARCH:
                return run_search(dispatcher, tracker, text, view.entity_filters(tracker), page=1)
            found = found or found_there
        if faq_response:
            dispatcher.utter_message(response=faq_response)
            return []
        dispatcher.utter_message(text=found.message if found else knowledge.NOT_FOUND_MESSAGE)
        return []

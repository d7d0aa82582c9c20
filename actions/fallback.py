"""Low NLU confidence: knowledge-base answer, else clarify, twice in a row → offer a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import knowledge


def previous_turn_was_fallback(tracker: Tracker) -> bool:
    """Whether the user message before the latest one also fell back."""
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"]
    if len(users) < 2:
        return False
    return (users[1].get("parse_data") or {}).get("intent", {}).get("name") == "nlu_fallback"


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        found = knowledge.answer(tracker.latest_message.get("text") or "")
        if found is not None:
            dispatcher.utter_message(text=found.message)
        elif previous_turn_was_fallback(tracker):
            dispatcher.utter_message(text="抱歉，我还是没能理解您的问题。")
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_default")
        return []

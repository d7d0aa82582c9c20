"""Low NLU confidence: knowledge-base answer, else clarify, twice in a row → offer a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import knowledge

CLARIFY = "抱歉，我没有完全理解您的意思。您可以换个说法，或者试试下面这些："
SUGGESTIONS = [
    {"title": "查找开放数据", "payload": "/search_dataset"},
    {"title": "《办法》是什么", "payload": "贵阳市政府数据共享开放实施办法是什么"},
    {"title": "转人工", "payload": "/human_handoff"},
]


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
            dispatcher.utter_message(text=CLARIFY, buttons=SUGGESTIONS)
        return []

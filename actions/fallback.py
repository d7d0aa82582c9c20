"""A reply to every message the assistant cannot act on.

Short messages outside a form ("好的", "？", "👍", "提交", a bare phone number, "123", a button of an earlier
turn) used to get no reply at all: NLU reads them as affirm/deny/inform (or, for messages without any word, as
whatever its untrained corner says: "123" was a goodbye), no rule applies outside a form, and Rasa's default
fallback reverted the turn silently.  Here the text itself is read first (``message_kind.read``), because NLU
cannot be trusted on messages without words, and each kind gets a short, useful reply:

- a button payload of an earlier turn ("/affirm" when nothing is pending) → why nothing happened, and the menu;
- a bare phone number / number / ticket number → asked what it is, with the ticket-lookup button ("88", "886"
  are the chat way of saying goodbye: the goodbye);
- "提交"/"确认" with no form open → there is nothing to submit, and the menu;
- an acknowledgement ("好的", "嗯嗯", "👍") → acknowledged, and the menu;
- punctuation, emoji, gibberish → "没太明白" with suggestions; twice in a row → a human is offered;
- words NLU could not place → the catalogue and the knowledge base are asked (`actions.routing`): datasets
  found with confidence → the search's answer, a confident passage → that passage, neither → "没太明白".

Two actions share this: ``action_fallback`` (low NLU confidence, which is also what a greeting, thanks or goodbye
without words becomes: ``bot/wordless.py``; affirm/deny/inform outside a form) and an override of Rasa's
``action_default_fallback`` (no policy confident), which still reverts the turn but no longer stays silent.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

import message_kind as kinds
from actions import catalog_view as view
from actions import routing
from actions.search import run_search
from privacy import find_phone, mask_phone
from tickets import numbering

# An intent NLU gives this confidently to a short message with words is taken as an acknowledgement.
ACK_INTENTS = {"affirm", "deny"}
ACK_MIN_CONFIDENCE = 0.8


# -- replies --------------------------------------------------------------------------------------------------
SEARCH = {"title": "查找开放数据", "payload": "/search_dataset"}
MEASURES = {"title": "《办法》是什么", "payload": "贵阳市政府数据共享开放实施办法是什么"}
APPLY = {"title": "申请数据", "payload": "/request_data"}
COMPLAIN = {"title": "投诉举报", "payload": "/file_complaint"}
CHECK_TICKET = {"title": "查询工单进度", "payload": "/check_ticket"}
HUMAN = {"title": "转人工", "payload": "/human_handoff"}
MENU = [SEARCH, MEASURES, APPLY, COMPLAIN, CHECK_TICKET, HUMAN]
TICKET_BUTTONS = [CHECK_TICKET, APPLY, COMPLAIN]

ACKNOWLEDGED = "好的。还有什么可以帮您？您可以直接告诉我，或者点下面的按钮："
NOTHING_TO_CONFIRM = "现在没有需要您提交或确认的内容（之前的表单可能已经提交或取消了）。您想办什么事？"
STALE = "这个按钮属于前面的对话，对应的步骤已经结束，所以这次没有执行。请告诉我您现在想办什么事："
ASK_PHONE = (
    "您发的是电话号码（{phone}）吗？现在没有正在填写的表单，这个号码我没有记录。"
    "查询工单进度请点“查询工单进度”；申请数据或投诉时，我会在表单里请您留电话。"
)
ASK_NUMBER = (
    "您发的“{number}”是工单号吗？工单号像 SQ20261127-7K3M9Q 这样，查询进度请点“查询工单进度”。"
    "如果是别的意思，请用一句话告诉我您想办什么事。"
)
ASK_TICKET = "您发的是工单号 {number} 吗？要查询它的办理进度，请点“查询工单进度”。"
NOT_UNDERSTOOD = "没太明白您的意思。您可以换个说法，或者点下面的按钮："
STILL_NOT_UNDERSTOOD = "抱歉，我还是没能理解您的意思。"


def previous_reply(tracker: Tracker) -> list[str]:
    """The texts the assistant sent in reply to the user message before the latest one."""
    texts: list[str] = []
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                break
        elif event.get("event") == "bot" and users == 1:
            texts.append(event.get("text") or "")
    return texts


def not_understood(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """"没太明白" with suggestions; when the last reply already said so, offer a human instead."""
    if NOT_UNDERSTOOD in previous_reply(tracker):
        dispatcher.utter_message(text=STILL_NOT_UNDERSTOOD)
        dispatcher.utter_message(response="utter_offer_human")
    else:
        dispatcher.utter_message(text=NOT_UNDERSTOOD, buttons=[SEARCH, APPLY, COMPLAIN, MEASURES, HUMAN])


def reply_without_words(dispatcher: CollectingDispatcher, kind: str, text: str) -> bool:
    """Reply to a message that is not a sentence (a payload, a number, an acknowledgement); False for others."""
    bare = text.strip()
    if kind == kinds.BUTTON:
        dispatcher.utter_message(text=STALE, buttons=MENU)
    elif kind == kinds.PHONE:
        dispatcher.utter_message(text=ASK_PHONE.format(phone=mask_phone(find_phone(bare))), buttons=TICKET_BUTTONS)
    elif kind == kinds.TICKET_NO:
        number = numbering.normalise(bare)
        lookup = {"title": CHECK_TICKET["title"], "payload": f'/check_ticket{{"ticket_no": "{number}"}}'}
        dispatcher.utter_message(text=ASK_TICKET.format(number=number), buttons=[lookup])
    elif kind == kinds.NUMBER:
        dispatcher.utter_message(text=ASK_NUMBER.format(number=kinds.core_text(bare)[:20]), buttons=TICKET_BUTTONS)
    elif kind == kinds.NOTHING_PENDING:
        dispatcher.utter_message(text=NOTHING_TO_CONFIRM, buttons=MENU)
    elif kind == kinds.ACKNOWLEDGEMENT:
        dispatcher.utter_message(text=ACKNOWLEDGED, buttons=MENU)
    elif kind == kinds.FAREWELL:
        dispatcher.utter_message(response="utter_goodbye")
    else:
        return False
    return True


def reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The reply to a message no rule or story acts on (see the module docstring); the events of a search
    (its slots, for 下一页 and refinements) when the message was answered as one."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    kind = kinds.read(text)
    intent = message.get("intent") or {}
    if kind == kinds.WORDS and intent.get("name") in ACK_INTENTS and float(intent.get("confidence") or 0) >= ACK_MIN_CONFIDENCE:
        kind = kinds.ACKNOWLEDGEMENT
    if reply_without_words(dispatcher, kind, text):
        return []
    choice, found = routing.decide(text, message) if kind == kinds.WORDS else (None, None)
    if choice == routing.SEARCH:
        return run_search(dispatcher, tracker, text, view.entity_filters(tracker), page=1)
    if found is not None:
        dispatcher.utter_message(text=found.message)
    else:
        not_understood(dispatcher, tracker)
    return []


class ActionFallback(Action):
    """Low NLU confidence, and affirm/deny/inform when no form is open (rules in data/rules/core.yml)."""

    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        return reply(dispatcher, tracker)


class ActionDefaultFallback(Action):
    """Replaces Rasa's core fallback (no policy confident): still reverts the turn, but always replies."""

    def name(self) -> str:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        return [UserUtteranceReverted(), *reply(dispatcher, tracker)]

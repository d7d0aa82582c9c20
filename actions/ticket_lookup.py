"""Ticket status lookup in the conversation: number and phone tail, then the public view of the ticket."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.form_answers import AnswersFirst
from database import session_scope
from privacy import find_phone
from tickets import lookup, numbering, service, transitions, types, workdays
from tickets.fields import clean, is_cancel


def _prefixes() -> dict[str, str]:
    """The template variables that list the ticket types' numbers."""
    every = list(types.TYPES.values())
    return {"prefixes": types.either([t.prefix for t in every]), "example": every[0].example,
            "examples": types.either([f"{t.example}（{t.label}）" for t in every])}


class ActionAskTicketNo(Action):
    def name(self) -> str:
        return "action_ask_ticket_no"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        dispatcher.utter_message(response="utter_ask_ticket_no", **_prefixes())
        return []


class ValidateTicketLookupForm(AnswersFirst, FormValidationAction):  # the answer first (actions/form_answers.py)
    def name(self) -> str:
        return "validate_ticket_lookup_form"

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any] | None:
        if is_cancel((tracker.latest_message or {}).get("text") or ""):
            return SlotSet(REQUESTED_SLOT, None)  # ends the form; action_check_ticket then says "不查了"
        return await super().next_requested_slot(dispatcher, tracker, domain)

    async def validate_ticket_no(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        if is_cancel(clean(value)):
            return {"ticket_no": None}
        number = numbering.normalise(clean(value))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_ticket_no", **_prefixes())
        return {"ticket_no": number}

    async def validate_phone_tail(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return {"phone_tail": None}
        digits = re.sub(r"\D", "", text)
        if len(digits) == 4 or find_phone(text):
            return {"phone_tail": digits[-4:]}
        dispatcher.utter_message(response="utter_invalid_phone_tail")
        return {"phone_tail": None}


def status_variables(view: dict) -> dict[str, str]:
    """The template variables of utter_ticket_status for a ticket's public view."""
    lines = []
    for item in view["history"]:
        at = datetime.fromisoformat(item["at"]).astimezone(workdays.CHINA)
        note = f"：{item['note']}" if item.get("note") else ""
        lines.append(f"· {at:%Y-%m-%d %H:%M} {item['label']}{note}")
    if view["status"] in transitions.OPEN_STATUSES and view["due_date"]:
        due = date.fromisoformat(view["due_date"])
        lines.append(workdays.describe_due(view["type"], due, view["due_date_exact_calendar"]))
    return {"number": view["number"], "ticket_label": types.get(view["type"]).label,
            "status_label": view["status_label"], "history": "\n".join(lines)}


class ActionCheckTicket(Action):
    def name(self) -> str:
        return "action_check_ticket"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        number, tail = tracker.get_slot("ticket_no"), tracker.get_slot("phone_tail")
        events = [SlotSet("ticket_no", None), SlotSet("phone_tail", None), SlotSet("requested_slot", None)]
        if not number or not tail:
            dispatcher.utter_message(response="utter_lookup_cancelled")
            return events
        try:  # the public lookup's limits and audit log (tickets/lookup.py)
            with session_scope() as session:
                ticket = lookup.check(session, number, tail, lookup.chat_client(tracker.sender_id))
                view = service.public_view(ticket) if ticket is not None else None
        except lookup.Limited as exc:
            dispatcher.utter_message(text=exc.message)
            return events
        if view is None:
            dispatcher.utter_message(response="utter_ticket_not_found")
        else:
            dispatcher.utter_message(response="utter_ticket_status", **status_variables(view))
        return events

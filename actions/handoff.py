"""转人工: the 12345 hotline and the staff's working hours, and, outside a form, a callback request (回电预约).

Inside working hours (settings WORK_HOURS on Chinese working days) staff call back within the callback deadline
(tickets/deadlines.yml); outside them the assistant says when the next working period starts.  Outside a form it
offers 预约回电 (starts callback_form, the ticket type `callback` of tickets/types.py) and 不用了; inside another form
it only states the hotline and the hours, and the form resumes (data/rules/tickets.yml).  Every text is a domain
response (domain/handoff.yml).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from tickets import hours, types, workdays

Clock = Callable[[], datetime]


def beijing_now() -> datetime:
    return datetime.now(workdays.CHINA)


class ActionOfferHuman(Action):
    def __init__(self, clock: Clock = beijing_now) -> None:
        self.clock = clock  # tests pass a fixed moment

    def name(self) -> str:
        return "action_offer_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_human_hotline", hours=hours.describe_hours())
        if (tracker.active_loop or {}).get("name"):
            return []  # inside a form: the form asks its question again
        now = self.clock()
        state = hours.at(now)
        if state.open:
            within = f"{workdays.deadline(types.CALLBACK.name).working_days}个工作日"
            dispatcher.utter_message(response="utter_offer_callback_in_hours", within=within)
        else:
            dispatcher.utter_message(response="utter_offer_callback_after_hours",
                                     when=hours.describe_start(state.next_start, hours.local(now).date()))
        return []

"""Inside a form, the answer to the question being asked fills its slot unless it is clearly something else.

A form's slots map from the text of any message while the form asks for them (domain/tickets.yml: only a cancel
and a human request are left to the rules), so "住建局" as a complaint's department, "我叫张三" or the data wanted,
"全市公园的位置和开放时间", reach the form's validation whatever NLU takes them for (a search, a question on the
Measures, out of scope, inform ...).  The validation action decides, with `AnswersFirst` mixed in before
rasa-sdk's `FormValidationAction`:

- a *confident* question on the Measures (NLU sure of ask_measures, worded as a question, and a knowledge-base
  passage for it) is answered exactly as `action_answer_from_knowledge` answers it; the slot stays empty, so the
  form asks its question again;
- a message that is just a phone number, given while a form that asks for a phone asks something else, is the
  phone, and the question is asked again;
- anything else is the answer to the question and goes through the field's rule.

Rasa's FormAction validates only the slot candidates set after the user's message (`tracker.slots_to_validate()`),
so the decision is taken on those candidates, before the field rules see them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

import knowledge
from actions import routing
from actions.faq import RETRIEVAL_INTENT, ActionAnswerFromKnowledge
from privacy import find_phone

PHONE_SLOT = "phone"
# NLU must be at least this sure that a message inside a form is a question on the Measures (and not unsure by
# routing's standard) before the message is taken for a digression rather than the answer.
MEASURES_CONFIDENCE = 0.8
QUESTION = re.compile(r"[?？]|吗|呢|么|什么|啥|怎|如何|哪|谁|几|多少|多久|多长|为何|为什么|是否|能否|可否|有没有|是不是|"
                      r"能不能|可不可以|会不会|要不要")
# What may stand around a phone number in a message that only gives the phone ("我的电话是 138 1234 5678").
PHONE_WORDS = re.compile(r"我的|我|联系|电话|手机|号码|号|是|为|:|：|[\s,，.。!！]")


def clearly_measures(message: dict[str, Any]) -> bool:
    """A question on the Measures, not an answer to the form's question: NLU is sure, the words ask something,
    and the knowledge base has a passage for it."""
    text = message.get("text") or ""
    intent = message.get("intent") or {}
    return (intent.get("name") == RETRIEVAL_INTENT
            and float(intent.get("confidence") or 0.0) >= MEASURES_CONFIDENCE
            and not routing.nlu_unsure(message)
            and bool(QUESTION.search(text))
            and knowledge.answer(text) is not None)


def just_phone(text: str) -> bool:
    """The message gives a phone number and nothing else."""
    text = unicodedata.normalize("NFKC", text or "")
    digits = re.sub(r"[\s\-+()]", "", text)
    phone = find_phone(text)
    return phone is not None and PHONE_WORDS.sub("", digits.replace(re.sub(r"\D", "", phone), "", 1)) in ("", "86")


class AnswersFirst:
    """A form validation mixin (before FormValidationAction): the slot answer wins unless the message is clearly
    something else (module docstring)."""

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[dict[str, Any]]:
        asked = tracker.get_slot(REQUESTED_SLOT)
        candidates = tracker.slots_to_validate()
        if asked not in candidates:
            return await super().get_validation_events(dispatcher, tracker, domain)
        message = tracker.latest_message or {}
        if clearly_measures(message):
            ActionAnswerFromKnowledge().run(dispatcher, tracker, domain)
            candidates.pop(asked)
        elif asked != PHONE_SLOT and PHONE_SLOT in self.domain_slots(domain) and just_phone(message.get("text")):
            candidates.pop(asked)
            candidates[PHONE_SLOT] = message.get("text")
        else:
            return await super().get_validation_events(dispatcher, tracker, domain)
        tracker.slots[asked] = None
        tracker.slots_to_validate = lambda: dict(candidates)  # what rasa-sdk validates: the rest
        events = await super().get_validation_events(dispatcher, tracker, domain)
        return [SlotSet(asked, None), *events]  # (Rasa already holds the text in the slot: empty it again)

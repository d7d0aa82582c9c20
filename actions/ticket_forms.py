"""Ticket forms in the conversation: one validation action and one submit action per ticket type.

The actions are made from `tickets.types.TYPES`: every answer goes through its field's rule (tickets/fields.py);
a rejection is explained with the response utter_invalid_<slot> (utter_invalid_<form>_<slot> where one form
words it differently), and after 3 invalid answers for one slot a human is offered.  A confirmation summary
leads to submit / change one field / cancel, and the submit action creates the ticket exactly once (the
idempotency key is kept in a slot, so a retried action call or a repeated "提交" returns the same ticket).
Every state lives in the tracker: the action server is stateless and a half-filled form survives restarts of
both servers.  Inside a form the answer to the question being asked wins unless the message is clearly something
else (actions/form_answers.py).  What only data requests do (a catalogue dataset picked with the 申请此数据
button) and what only complaints do (a description given early, the department it names) is in the mixins at
the end.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions.form_answers import AnswersFirst
from message_kind import is_payload
from privacy import mask_phone
from tickets import fields, service, types, workdays
from tickets.fields import Context, Field, Invalid, clean, is_cancel
from tickets.models import INPUT_CHANNELS
from tickets.types import TicketType

MAX_INVALID = 3
BOOKKEEPING = ("confirm_submit", "form_invalid", "submission_key", "requested_slot")
CHANGE_WORDS = re.compile(r"改|修改|更改|换|错了|不对|更正")
NEW_VALUE = re.compile(r"(?:改成|改为|换成|更正为|应该是|是)[:：]?\s*(.+)$")
CANCEL_BUTTON = {"title": "取消", "payload": "/cancel"}  # the way out every question of a form offers
CONFIRM = re.compile(r"(确认|提交|确定|没问题|对|是的?|好的?|可以|ok|yes)[了吧的！!。.]*", re.I)


def activated_this_turn(tracker: Tracker, form: str) -> bool:
    """Whether `form` was activated in the current turn (Rasa sets the active loop before the activation's
    validation call, so `tracker.active_loop` cannot tell; the ActiveLoop event after the user message can)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def ticket_channel(tracker: Tracker) -> str:
    return INPUT_CHANNELS.get(tracker.get_latest_input_channel() or "", "other")


def named_field(ticket_type: TicketType, text: str) -> Field | None:
    """The field of `ticket_type` that `text` names ("修改电话"), if any."""
    fields = sorted(ticket_type.fields, key=lambda f: f.precedence)
    return next((f for f in fields if f.words.search(text or "")), None)


def reset_events(domain: DomainDict, form: str | None) -> list[dict[str, Any]]:
    """Forget a form's answers: a ticket type's fields (and the other fields the domain holds in slots, such as
    a picked dataset), or another form's required slots; and the bookkeeping."""
    t = types.by_form(form)
    if t is not None:
        slots = [f.slot for f in t.fields] + [f.slot for f in t.extra if f.slot in domain.get("slots", {})]
    else:
        slots = (domain.get("forms", {}).get(form) or {}).get("required_slots", [])
    return [SlotSet(slot, None) for slot in dict.fromkeys((*slots, *BOOKKEEPING))]


class TicketFormValidation(AnswersFirst):
    """The machinery of a ticket form (a mixin: rasa-sdk registers every `Action` subclass, so this one is not
    one): the slot answer first (actions/form_answers.py), rules, invalid-answer counting, the cancel safety net,
    the idempotency key, field changes."""

    ticket_type: TicketType

    def name(self) -> str:
        return f"validate_{self.ticket_type.form}"

    def form_name(self) -> str:
        return self.ticket_type.form

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        events = await super().run(dispatcher, tracker, domain)
        if activated_this_turn(tracker, self.form_name()):  # a new submission
            events.append(SlotSet("submission_key", uuid.uuid4().hex))
        return events

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any] | None:
        if tracker.get_slot("confirm_submit") == "cancelled":
            return SlotSet(REQUESTED_SLOT, None)  # ends the form; the submit action says "cancelled"
        return await super().next_requested_slot(dispatcher, tracker, domain)

    async def check(self, field: Field, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                    domain: DomainDict) -> dict[str, Any]:
        """The answer through its field's rule: keep it, or explain, count, and offer a human at the third."""
        text = clean(value)
        if is_cancel(text):  # "算了" in words the NLU did not catch: end the form; the submit action says cancelled
            return {field.slot: None, "confirm_submit": "cancelled", REQUESTED_SLOT: None}
        label = self.ticket_type.label
        try:
            kept = field.rule(text, Context(self.ticket_type, tracker.slots))
        except Invalid as exc:
            state = tracker.get_slot("form_invalid") or {}
            count = (state.get("count", 0) if state.get("slot") == field.slot else 0) + 1
            dispatcher.utter_message(response=self.explanation(domain, field.slot, exc.reason),
                                     **{"ticket_label": label, **exc.variables})
            if count >= MAX_INVALID:
                dispatcher.utter_message(response="utter_offer_human")
                dispatcher.utter_message(response="utter_continue_or_cancel")
            return {field.slot: None, "form_invalid": {"slot": field.slot, "count": count}}
        if kept in field.notices:
            dispatcher.utter_message(response=field.notices[kept], ticket_label=label)
        return {field.slot: kept, "form_invalid": None}

    def explanation(self, domain: DomainDict, slot: str, reason: str | None) -> str:
        suffix = f"_{reason}" if reason else ""
        own = f"utter_invalid_{self.form_name()}_{slot}{suffix}"
        return own if own in domain.get("responses", {}) else f"utter_invalid_{slot}{suffix}"

    async def validate_confirm_submit(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        said = clean((tracker.latest_message or {}).get("text"))
        if text == "change" and named_field(self.ticket_type, said):
            text = said  # "修改电话" classified as deny: the words say which field
        if text == "yes" or CONFIRM.fullmatch(text):
            return {"confirm_submit": "yes"}
        if text == "cancelled" or is_cancel(text):
            return {"confirm_submit": "cancelled", REQUESTED_SLOT: None}
        if text == "change":
            return {"confirm_submit": None}
        return await self.change_field(dispatcher, tracker, text, domain)

    async def change_field(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str,
                           domain: DomainDict) -> dict[str, Any]:
        """Answer to the confirmation summary other than 提交: find the field to change (and maybe its value)."""
        field = named_field(self.ticket_type, text)
        if field is None:
            if not CHANGE_WORDS.search(text):
                dispatcher.utter_message(response="utter_submit_or_change")
            return {"confirm_submit": None}
        if field.instead and tracker.get_slot(field.instead):  # a picked dataset: ask for the data in words
            return {field.instead: None, field.slot: None, "confirm_submit": None}
        new_value = NEW_VALUE.search(text)
        if new_value:
            result = await self.check(field, new_value.group(1), dispatcher, tracker, domain)
            if result.get(field.slot) not in (None, tracker.get_slot(field.slot)):
                result.update(dict.fromkeys(field.dependents))
            return {**result, "confirm_submit": None}  # an invalid value was explained and is asked again
        dispatcher.utter_message(response="utter_refill_field", field_label=field.label)
        return {field.slot: None, "confirm_submit": None, "form_invalid": None}


def _validator(field: Field) -> Any:
    async def validate(self: TicketFormValidation, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        return await self.check(field, value, dispatcher, tracker, domain)

    return validate


class TicketSubmission:
    """`action_submit_<type>`: create the ticket after 提交, or say that nothing was submitted (a mixin)."""

    ticket_type: TicketType

    def name(self) -> str:
        return f"action_submit_{self.ticket_type.name}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        t = self.ticket_type
        if tracker.get_slot("confirm_submit") != "yes":
            dispatcher.utter_message(response="utter_form_cancelled")
        else:
            answers = {f.slot: tracker.get_slot(f.slot) for f in (*t.extra, *t.fields)}
            self.submit(dispatcher, tracker, t.columns(answers, Context(t, answers)))
        return reset_events(domain, t.form)

    def submit(self, dispatcher: CollectingDispatcher, tracker: Tracker, columns: dict[str, Any]) -> None:
        t = self.ticket_type
        stamp = tracker.get_slot("submission_key") or _activation_stamp(tracker, t.form)
        receipt = service.submit(None, t.name, ticket_channel(tracker), f"{tracker.sender_id}:{t.form}:{stamp}",
                                 columns)
        due = workdays.describe_due(t.name, receipt.due_date, receipt.due_date_exact)
        if receipt.anonymous:
            dispatcher.utter_message(response="utter_ticket_submitted_anonymous", ticket_label=t.label,
                                     number=receipt.number, due=due)
        else:
            dispatcher.utter_message(response="utter_ticket_submitted", ticket_label=t.label, number=receipt.number,
                                     due=due, masked_phone=mask_phone(receipt.phone))
        if not receipt.created:
            dispatcher.utter_message(response="utter_ticket_submitted_before")


def _activation_stamp(tracker: Tracker, form: str) -> str:
    """Fallback idempotency component: when the form was activated (the same for every retry)."""
    stamps = [e.get("timestamp") for e in tracker.events if e.get("event") == "active_loop" and e.get("name") == form]
    return str(stamps[-1]) if stamps else "no-activation"


class ActionAskConfirmSubmit(Action):
    """The confirmation step: the summary with 提交/修改/取消, or, after "修改", which field to change."""

    def name(self) -> str:
        return "action_ask_confirm_submit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        t = types.by_form((tracker.active_loop or {}).get("name")) or types.DATA_REQUEST
        latest = tracker.latest_message or {}
        said = latest.get("text") or ""
        wants_change = ((latest.get("intent") or {}).get("name") == "deny" or CHANGE_WORDS.search(said)) \
            and tracker.get_slot("requested_slot") == "confirm_submit" and not named_field(t, said)
        if wants_change:
            dispatcher.utter_message(response="utter_which_field", buttons=[
                *({"title": f.label, "payload": f"修改{f.label}"} for f in t.fields), CANCEL_BUTTON])
            return []
        dispatcher.utter_message(response="utter_confirm_ticket", summary=t.render_summary(tracker.slots))
        return []


class ActionCancelForm(Action):
    """"算了 / 不填了 / 取消" during a form: close it and forget what was typed."""

    def name(self) -> str:
        return "action_cancel_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        dispatcher.utter_message(response="utter_form_cancelled")
        return [ActiveLoop(None), *reset_events(domain, (tracker.active_loop or {}).get("name"))]


# -- what only data requests do: a dataset picked from the catalogue -------------------------------------------
OPEN = "无条件开放"
UNSTATED_CONDITION = "目录未写明具体条件"
UNSTATED_REASON = "目录未写明原因"
LISTED_FORMATS = "目录所列格式"


class DatasetPick:
    """The data request form with a dataset picked with the 申请此数据 button (a mixin)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        """At activation, check the dataset picked with the 申请此数据 button (or forget an older one).

        The dataset slot is not a required slot of the form, so rasa-sdk does not validate it by itself; a
        dataset_id left over from an earlier search is not what "我要申请数据" refers to.
        """
        events: list[dict] = []
        dataset_id = tracker.get_slot("dataset_id")
        if dataset_id and activated_this_turn(tracker, self.form_name()):
            entities = (tracker.latest_message or {}).get("entities") or []
            picked = any(e.get("entity") == "dataset_id" for e in entities)
            result = await self.validate_dataset_id(dataset_id, dispatcher, tracker, domain) if picked \
                else {"dataset_id": None}
            tracker.slots.update(result)
            events = [SlotSet(key, value) for key, value in result.items()]
        return events + await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        dataset_id = tracker.get_slot("dataset_id")
        if not dataset_id:
            return domain_slots
        record = Context(self.ticket_type, tracker.slots).dataset(dataset_id)
        if record is not None and record.get("open_type") == OPEN:
            return []  # nothing to apply for: the submit action points to the download
        return ["dataset_id", *[s for s in domain_slots if s != "requested_data"]]

    async def extract_dataset_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        return {}  # filled by Rasa's from_entity mapping (domain/search.yml); only validated here

    async def validate_dataset_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        record = Context(self.ticket_type, tracker.slots).dataset(value)
        if record is None:
            dispatcher.utter_message(response="utter_dataset_unknown", given=clean(value))
            return {"dataset_id": None}
        about = {"title": record["title"], "department": record.get("department", "")}
        if record.get("open_type") == "有条件开放":
            dispatcher.utter_message(response="utter_dataset_conditional", **about,
                                     condition=record.get("open_condition") or UNSTATED_CONDITION)
        elif record.get("open_type") == "不予开放":
            dispatcher.utter_message(response="utter_dataset_not_open", **about,
                                     reason=record.get("open_condition") or UNSTATED_REASON)
        return {"dataset_id": record["id"]}


class OpenDataSubmission:
    """An unconditionally open dataset needs no application: point to the download instead (a mixin)."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        record = Context(self.ticket_type, tracker.slots).dataset(tracker.get_slot("dataset_id"))
        if record is None or record.get("open_type") != OPEN:
            return super().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_dataset_open_with_api" if record.get("has_api") else "utter_dataset_open",
                                 title=record["title"], formats="、".join(record.get("formats") or []) or LISTED_FORMATS)
        return reset_events(domain, self.ticket_type.form)


# -- what only complaints do: a description given early is kept, and the department it names is taken ---------
DESCRIPTION_NOT_CATEGORY = 16  # characters from which an answer to "哪一类问题" is a description, whatever it names


class ComplaintDetails:
    """The complaint form (a mixin).  A description given in the message that opens the complaint, or while the
    category is asked, is kept (the category is asked again); a description that names a department fills the
    department, so it is not asked (the confirmation summary shows it and "修改涉及部门" changes it)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        events = await super().run(dispatcher, tracker, domain)
        text = clean((tracker.latest_message or {}).get("text"))
        if activated_this_turn(tracker, self.form_name()) and not is_payload(text):
            kept = await self.keep_description(text, dispatcher, tracker, domain)
            events += [SlotSet(slot, value) for slot, value in (kept or {}).items()]
        return events

    async def validate_complaint_category(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                          domain: DomainDict) -> dict[str, Any]:
        kept = await self.keep_description(clean(value), dispatcher, tracker, domain)
        if kept is not None:
            return {"complaint_category": None, **kept}
        return await self.check(fields.COMPLAINT_CATEGORY, value, dispatcher, tracker, domain)

    async def keep_description(self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any] | None:
        """The slots of `text` kept as the description (and the department it names), when no description is
        held yet and `text` tells what happened; None otherwise."""
        if tracker.get_slot("complaint_description") is not None or not self.describes(text, tracker):
            return None
        dispatcher.utter_message(response="utter_description_kept")
        return await self.validate_complaint_description(text, dispatcher, tracker, domain)

    async def validate_complaint_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                             domain: DomainDict) -> dict[str, Any]:
        result = await self.check(fields.COMPLAINT_DESCRIPTION, value, dispatcher, tracker, domain)
        described = result.get("complaint_description")
        if described and not tracker.get_slot("complaint_department"):
            named = Context(self.ticket_type, tracker.slots).department(clean(value))
            if named:
                dispatcher.utter_message(response="utter_department_from_description", department=named)
                result["complaint_department"] = named
        return result

    def describes(self, text: str, tracker: Tracker) -> bool:
        """`text` tells what happened: a valid description that picks no category ("我要反映数据质量方面的问题"
        picks one), or one too long to be a category's answer (the categories' words are broad: "开放平台…")."""
        ctx = Context(self.ticket_type, tracker.slots)
        try:
            fields.COMPLAINT_DESCRIPTION.rule(text, ctx)
        except Invalid:
            return False
        try:
            fields.COMPLAINT_CATEGORY.rule(text, ctx)
        except Invalid:
            return True
        return len(re.sub(r"\W", "", text)) >= DESCRIPTION_NOT_CATEGORY


MIXINS = {"data_request": ((DatasetPick,), (OpenDataSubmission,)),  # (validation, submission) extras per type
          "complaint": ((ComplaintDetails,), ())}


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


VALIDATION: dict[str, type] = {}
SUBMISSION: dict[str, type] = {}
for _t in types.TYPES.values():
    _validation_mixins, _submission_mixins = MIXINS.get(_t.name, ((), ()))
    VALIDATION[_t.name] = type(f"Validate{_camel(_t.form)}",
                               (*_validation_mixins, TicketFormValidation, FormValidationAction),
                               {"ticket_type": _t, **{f"validate_{f.slot}": _validator(f) for f in _t.fields
                                                      if not any(hasattr(m, f"validate_{f.slot}")
                                                                 for m in _validation_mixins)}})
    SUBMISSION[_t.name] = type(f"ActionSubmit{_camel(_t.name)}", (*_submission_mixins, TicketSubmission, Action),
                               {"ticket_type": _t})

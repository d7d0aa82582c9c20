"""The ticket types, each declared once.  Numbering, the service, the staff API, the conversation's forms, their
confirmation summaries and the texts that list the types are all made from `TYPES`.

Adding a type: one `TicketType` here (with its fields from tickets/fields.py, or new ones there), its deadline in
tickets/deadlines.yml, a migration for new columns (tickets/models.py), and its conversation in the data: the form,
its slots and questions (domain/tickets.yml, or a capability's own file such as domain/handoff.yml), the intent that
starts it (data/nlu) and the rules that start, finish and cancel it (data/rules/).
The validation action `validate_<form>` and the submit action `action_submit_<name>` are made from the entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tickets import fields as f
from tickets.fields import Context, Field, Invalid, clean

Show = Callable[[Mapping[str, Any]], str]  # the answers (slot → value) → the text shown


@dataclass(frozen=True)
class TicketType:
    name: str  # stored in tickets.type; the staff API's and the CLI's word for it
    prefix: str  # two capital letters that start its numbers (SQ20261127-7K3M9Q)
    label: str  # what the assistant calls it: "您的{label}已提交", "工单 …（{label}）"
    form: str  # its form in domain/tickets.yml
    fields: tuple[Field, ...]  # what the form asks, in the order of the "修改哪一项" buttons
    summary: tuple[tuple[str, Show], ...]  # the lines of the confirmation summary
    deadline: str  # its rule in tickets/deadlines.yml
    extension: bool  # staff may extend the due date once (by the rule's extension_working_days)
    anonymous: bool = False  # may be filed without a phone
    extra: tuple[Field, ...] = ()  # columns the staff API may set that the form does not ask
    complete: Callable[[dict[str, Any], Context], None] | None = None  # fills derived columns before saving

    @property
    def example(self) -> str:
        return f"{self.prefix}20261127-7K3M9Q"

    def render_summary(self, answers: Mapping[str, Any]) -> str:
        return "\n".join([f"请核对您的{self.label}：", *(f"· {name}：{show(answers)}" for name, show in self.summary)])

    def columns(self, answers: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        """The ticket columns for accepted answers (slot → kept value)."""
        columns: dict[str, Any] = {}
        for field in (*self.extra, *self.fields):
            if answers.get(field.slot) is not None:
                columns.update(field.columns(answers[field.slot]))
        if self.complete:
            self.complete(columns, ctx)
        return columns


def _slot(name: str) -> Show:
    return lambda answers: str(answers.get(name))


def _requested(answers: Mapping[str, Any]) -> str:
    record = Context(DATA_REQUEST, answers).dataset(answers.get("dataset_id"))
    if record is not None:
        return f"{record['title']}（{record['id']}，{record.get('department', '')}，{record.get('open_type', '')}）"
    return f"{answers.get('requested_data')}（目录外数据需求）"


def _request_columns(columns: dict[str, Any], ctx: Context) -> None:
    """A catalogue dataset names the data and its department; free text may name a department."""
    record = ctx.dataset(columns.get("dataset_id"))
    if record is not None:
        columns.update(dataset_id=record["id"], requested_data=record["title"])
        columns["department"] = columns.get("department") or record.get("department")
    elif not columns.get("department"):
        columns["department"] = ctx.department(columns.get("requested_data") or "")


DATA_REQUEST = TicketType(
    name="data_request", prefix="SQ", label="数据申请", form="data_request_form",
    fields=(f.REQUESTED_DATA, f.PURPOSE, f.APPLICANT_TYPE, f.APPLICANT_NAME, f.PHONE, f.EMAIL_FIELD),
    summary=(("申请数据", _requested), ("用途", _slot("purpose")),
             ("申请人", lambda a: f"{a.get('applicant_type')}｜{a.get('applicant_name')}"),
             ("联系电话", lambda a: f.shown_phone(a.get("phone"))), ("电子邮箱", lambda a: f.shown_email(a.get("email")))),
    deadline="data_request", extension=True, extra=(f.DATASET, f.DEPARTMENT), complete=_request_columns,
)
COMPLAINT = TicketType(
    name="complaint", prefix="TS", label="投诉", form="complaint_form",
    fields=(f.COMPLAINT_CATEGORY, f.COMPLAINT_DESCRIPTION, f.COMPLAINT_DEPARTMENT, f.PHONE),
    summary=(("问题类别", _slot("complaint_category")), ("涉及部门", _slot("complaint_department")),
             ("问题描述", _slot("complaint_description")), ("联系电话", lambda a: f.shown_phone(a.get("phone")))),
    deadline="complaint", extension=False, anonymous=True,
)

CALLBACK = TicketType(  # 转人工 → 预约回电 (actions/handoff.py; its form and texts in domain/handoff.yml)
    name="callback", prefix="HD", label="回电预约", form="callback_form",
    fields=(f.CONTACT_NAME, f.PHONE, f.BEST_TIME, f.CALLBACK_QUESTION),
    summary=(("称呼", lambda a: f.shown_name(a.get("contact_name"))),
             ("回电号码", lambda a: f.shown_phone(a.get("phone"))),
             ("方便接听的时间", _slot("best_time")), ("咨询的问题", _slot("callback_question"))),
    deadline="callback", extension=False,
)

TYPES: dict[str, TicketType] = {t.name: t for t in (DATA_REQUEST, COMPLAINT, CALLBACK)}
NAMES = tuple(TYPES)
COLUMNS = tuple(dict.fromkeys(column for t in TYPES.values() for field in (*t.extra, *t.fields)
                              for column in field.columns(f.ANONYMOUS)))  # every column a ticket type fills
if len({t.prefix for t in TYPES.values()}) < len(TYPES) or not all(re.fullmatch("[A-Z]{2}", t.prefix)
                                                                   for t in TYPES.values()):
    raise ValueError("ticket type prefixes must be distinct pairs of capital letters")


def get(name: str | None) -> TicketType:
    if name not in TYPES:
        raise ValueError(f"unknown ticket type {name!r}; types: {', '.join(NAMES)}")
    return TYPES[name]


def by_form(form: str | None) -> TicketType | None:
    return next((t for t in TYPES.values() if t.form == form), None)


def either(items: list[str]) -> str:
    """"A 或 B", "A、B 或 C": how the assistant lists alternatives."""
    return " 或 ".join(filter(None, ["、".join(items[:-1]), items[-1]]))


def from_api(body: Mapping[str, Any], db_url: str | None = None) -> tuple[TicketType, dict[str, Any]]:
    """The ticket type and columns of a ticket created through the staff API, by the conversation's rules.

    The body names columns (`category`, not the slot `complaint_category`); `anonymous: true` stands for the
    phone where the type allows it.  Raises `Invalid` with an English message naming the field.
    """
    ticket_type = body.get("type")
    if ticket_type not in TYPES:
        raise Invalid(f"type must be one of {', '.join(NAMES)}")
    t = TYPES[ticket_type]
    given: dict[str, str] = {}
    for field in (*t.extra, *t.fields):
        raw = body.get(field.column)
        if raw is not None and not isinstance(raw, str):
            raise Invalid("ticket fields must be strings")
        given[field.column] = clean(raw)
    if body.get("anonymous") is True:
        given["phone"] = f.ANONYMOUS
    answers: dict[str, Any] = {}
    missing = []
    for field in (*t.extra, *t.fields):
        text = given[field.column]
        if not text:
            if field.required and not (field.instead and given.get(field.instead)):
                missing.append(f"{field.column} or {field.instead}" if field.instead else field.column)
            continue
        try:
            answers[field.slot] = field.rule(text, Context(t, answers, db_url))
        except Invalid as exc:
            raise Invalid(f"{field.column} {exc.message}") from None
    if missing:
        raise Invalid(f"missing fields for a {t.name}: {', '.join(missing)}")
    return t, t.columns(answers, Context(t, answers, db_url))

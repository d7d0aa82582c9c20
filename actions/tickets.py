"""Ticket forms in the conversation: data applications, complaints and status lookups.

Thin layer over `tickets.*`: validation actions check every answer (re-ask with an explanation; after 3 invalid
answers for one slot, offer a human), a confirmation summary leads to submit / change one field / cancel, and
the submit actions create the ticket exactly once (the idempotency key is kept in a slot, so a retried action
call or a repeated "提交" returns the same ticket).  Every state lives in the tracker: the action server is
stateless and a half-filled form survives restarts of both servers.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from catalog_index.departments import alias_table, resolve
from catalog_index.search import get_dataset
from database import session_scope
from privacy import find_phone, mask_phone, mask_text
from tickets import numbering, service, transitions, workdays
from tickets.models import COMPLAINT_CATEGORIES

log = logging.getLogger(__name__)

CHANNELS = {"socketio": "web", "rest": "rest", "wechat": "wechat"}
MAX_INVALID = 3
ANONYMOUS = "anonymous"
NO_EMAIL = "none"
UNKNOWN_DEPARTMENT = "不清楚"
CHINA = timezone(timedelta(hours=8))

DATA_FORM_SLOTS = ("dataset_id", "requested_data", "purpose", "applicant_type", "applicant_name", "phone", "email")
COMPLAINT_FORM_SLOTS = ("complaint_category", "complaint_department", "complaint_description", "phone")
BOOKKEEPING = ("confirm_submit", "form_invalid", "submission_key", "requested_slot")
FORM_SLOTS = {
    "data_request_form": DATA_FORM_SLOTS,
    "complaint_form": COMPLAINT_FORM_SLOTS,
    "ticket_lookup_form": ("ticket_no", "phone_tail"),
}

CANCEL = re.compile(r"^(算了|不填了|取消|不办了|不申请了|不投诉了|不查了|退出|不要了|cancel)(吧|了|啦)?[。.!！]*$", re.I)
SKIP = re.compile(r"^(跳过|没有|无|不用|不需要|不填|不留|没|skip|no)([了啊吧]|邮箱)*[。.!！]*$", re.I)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ANONYMOUS_WORDS = re.compile(r"匿名|不留|不想留|不方便留|不愿意留|保密")
NOT_SURE = re.compile(r"不.?清楚|不.?知道|不.?确定|不.?了解|说不清|不晓得|不懂")
APPLICANT_TYPES = (
    ("企业", re.compile(r"企业|公司|商户|个体户|厂|集团|有限|enterprise|company", re.I)),
    ("机构", re.compile(r"机构|单位|事业|高校|大学|学院|学校|研究|医院|协会|学会|社会组织|基金会|中心|院|所")),
    ("个人", re.compile(r"个人|自己|本人|私人|我一个人|市民|个体|person", re.I)),
)
CATEGORIES = (
    ("数据开放", re.compile(r"开放|申请.*(没|不)|不给|不公开|下载不了数据|^1$")),
    ("数据共享", re.compile(r"共享|部门之间|调取|^2$")),
    ("数据质量", re.compile(r"质量|错误|不准|有误|过时|没更新|不更新|缺失|乱码|重复|^3$")),
    ("平台服务", re.compile(r"平台|网站|网页|系统|app|接口|api|打不开|登录|登不上|服务|客服|^4$", re.I)),
    ("其他", re.compile(r"其他|其它|别的|^5$")),
)
FIELD_WORDS = (  # what a user says to change one field, in the order of checking
    ("phone", re.compile(r"电话|手机|号码|联系方式")),
    ("email", re.compile(r"邮箱|邮件|email|e-mail", re.I)),
    ("applicant_name", re.compile(r"名称|名字|姓名|全称|单位名|公司名")),
    ("applicant_type", re.compile(r"身份|类型|个人|企业|机构")),
    ("purpose", re.compile(r"用途|目的|用来")),
    ("complaint_category", re.compile(r"类别|分类|问题类型")),
    ("complaint_department", re.compile(r"部门|单位")),
    ("complaint_description", re.compile(r"描述|内容|经过|情况|发生")),
    ("requested_data", re.compile(r"数据|申请的")),
)
CHANGE_WORDS = re.compile(r"改|修改|更改|换|错了|不对|更正")
NEW_VALUE = re.compile(r"(?:改成|改为|换成|更正为|应该是|是)[:：]?\s*(.+)$")
FIELD_LABELS = {"requested_data": "申请的数据", "purpose": "用途", "applicant_type": "申请人类型",
                "applicant_name": "申请人名称", "phone": "联系电话", "email": "电子邮箱",
                "complaint_category": "问题类别", "complaint_department": "涉及部门",
                "complaint_description": "问题描述"}


def activated_this_turn(tracker: Tracker, form: str) -> bool:
    """Whether `form` was activated in the current turn (Rasa sets the active loop before the activation's
    validation call, so `tracker.active_loop` cannot tell; the ActiveLoop event after the user message can)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def names_field(text: str) -> bool:
    return any(words.search(text or "") for _, words in FIELD_WORDS)


def ticket_channel(tracker: Tracker) -> str:
    return CHANNELS.get(tracker.get_latest_input_channel() or "", "other")


def clean(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def is_cancel(text: str) -> bool:
    return bool(CANCEL.match(clean(text)))


def load_dataset(dataset_id: str | None) -> dict | None:
    if not dataset_id:
        return None
    with session_scope() as session:
        return get_dataset(session, str(dataset_id).strip())


def find_department(text: str) -> str | None:
    """The full name of the department named in `text` (exactly, or as a part of it), else None."""
    text = clean(text)
    if not text:
        return None
    with session_scope() as session:
        found = resolve(session, text)
        if found is None:
            table = alias_table(session)
            for alias in sorted(table, key=len, reverse=True):
                if len(alias) >= 3 and alias in text:
                    found = table[alias]
                    break
        return found.name if found is not None else None


def reset_events(form: str) -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in (*FORM_SLOTS[form], *BOOKKEEPING)]


class TicketFormValidation:
    """Shared machinery of the two ticket forms (a mixin: rasa-sdk registers every `Action` subclass, so this
    one is not one): invalid-answer counting, the cancel safety net, the idempotency key, field changes."""

    def name(self) -> str:
        return f"validate_{self.form_name()}"

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

    # -- helpers for the validators ---------------------------------------------------------------
    def invalid(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, why: str) -> dict[str, Any]:
        """Reject an answer: explain, count, and offer a human at the third invalid answer for this slot."""
        state = tracker.get_slot("form_invalid") or {}
        count = (state.get("count", 0) if state.get("slot") == slot else 0) + 1
        dispatcher.utter_message(text=why)
        if count >= MAX_INVALID:
            dispatcher.utter_message(response="utter_offer_human")
            dispatcher.utter_message(text="您也可以继续回答，或者说“取消”结束填写。")
        return {slot: None, "form_invalid": {"slot": slot, "count": count}}

    @staticmethod
    def valid(slot: str, value: Any) -> dict[str, Any]:
        return {slot: value, "form_invalid": None}

    @staticmethod
    def cancelled(slot: str) -> dict[str, Any]:
        """The user said "算了" in words the NLU did not catch: end the form; the submit action says cancelled."""
        return {slot: None, "confirm_submit": "cancelled", REQUESTED_SLOT: None}

    async def change_field(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str,
                           validators: dict[str, Any]) -> dict[str, Any]:
        """Answer to the confirmation summary other than 提交: find the field to change (and maybe its value)."""
        field = next((f for f, words in FIELD_WORDS if f in validators and words.search(text)), None)
        if field is None:
            if not CHANGE_WORDS.search(text):
                dispatcher.utter_message(text="请点“提交”确认，或者告诉我要修改哪一项，例如“修改电话”；不想提交可以说“取消”。")
            return {"confirm_submit": None}
        if field == "requested_data" and tracker.get_slot("dataset_id"):
            return {"dataset_id": None, "requested_data": None, "confirm_submit": None}
        new_value = NEW_VALUE.search(text)
        if new_value:
            result = await validators[field](new_value.group(1), dispatcher, tracker, {})
            if field == "applicant_type" and result.get(field) not in (None, tracker.get_slot(field)):
                result["applicant_name"] = None  # a new kind of applicant needs its own name
            return {**result, "confirm_submit": None}  # an invalid value was explained and is asked again
        dispatcher.utter_message(text=f"好的，我们重新填写“{FIELD_LABELS[field]}”。")
        return {field: None, "confirm_submit": None, "form_invalid": None}

    # -- validators shared by the forms ---------------------------------------------------------
    async def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return self.cancelled("phone")
        if text == ANONYMOUS or (self.form_name() == "complaint_form" and ANONYMOUS_WORDS.search(text)):
            if self.form_name() != "complaint_form":
                return self.invalid(dispatcher, tracker, "phone", "数据申请需要联系电话，办理部门要通过它联系您。")
            dispatcher.utter_message(text="好的，按匿名投诉处理。请注意：匿名投诉无法接收办理结果，也不能查询进度。")
            return self.valid("phone", ANONYMOUS)
        phone = find_phone(text)
        if phone is None:
            why = ("这个号码好像不对。请输入 11 位手机号（如 138 1234 5678），或带区号的座机（如 0851-8686 1234）。")
            if self.form_name() == "complaint_form":
                why += "不想留电话可以说“匿名”。"
            return self.invalid(dispatcher, tracker, "phone", why)
        return self.valid("phone", phone)


class ValidateDataRequestForm(TicketFormValidation, FormValidationAction):
    def form_name(self) -> str:
        return "data_request_form"

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
        record = load_dataset(dataset_id)
        if record is not None and record.get("open_type") == "无条件开放":
            return []  # nothing to apply for: the submit action points to the download
        return ["dataset_id", *[s for s in domain_slots if s != "requested_data"]]

    def validators(self) -> dict[str, Any]:
        return {"requested_data": self.validate_requested_data, "purpose": self.validate_purpose,
                "applicant_type": self.validate_applicant_type, "applicant_name": self.validate_applicant_name,
                "phone": self.validate_phone, "email": self.validate_email}

    async def extract_dataset_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        return {}  # filled by Rasa's from_entity mapping (domain/search.yml); only validated here

    async def validate_dataset_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        record = load_dataset(value)
        if record is None:
            dispatcher.utter_message(text=f"数据目录里没有编号为“{clean(value)}”的数据集，请直接告诉我您需要什么数据。")
            return {"dataset_id": None}
        label = f"“{record['title']}”（{record.get('department', '')}）"
        open_type = record.get("open_type")
        if open_type == "有条件开放":
            condition = record.get("open_condition") or "目录未写明具体条件"
            dispatcher.utter_message(text=f"您申请的是{label}。该数据为有条件开放，开放条件：{condition}。"
                                          "下面请填写几项信息，提交后由提供部门审核。")
        elif open_type == "不予开放":
            reason = record.get("open_condition") or "目录未写明原因"
            dispatcher.utter_message(text=(
                f"{label}在目录中标为“不予开放”（原因：{reason}）。这类数据一般不向社会提供"
                "（类别名称采用《贵州省政府数据共享开放条例》的分类）。您可以：\n"
                "1. 继续提交需求，说明用途，例如申请脱敏或统计汇总后的数据，我们转给提供部门评估，但不保证能够提供；\n"
                "2. 对提供部门的答复有异议的，据《贵阳市政府数据共享开放条例》的解读材料，可以向市大数据行政主管部门申请复核"
                "（具体期限未能核实）；\n3. 拨打12345热线咨询。\n不想继续可以说“取消”。"))
        return {"dataset_id": record["id"]}

    async def validate_requested_data(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        text = mask_text(clean(value))
        if is_cancel(text):
            return self.cancelled("requested_data")
        if len(re.sub(r"\W", "", text)) < 2:
            return self.invalid(dispatcher, tracker, "requested_data", "请具体说明需要什么数据，例如“全市充电桩位置和数量”。")
        return self.valid("requested_data", text[:500])

    async def validate_purpose(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        text = mask_text(clean(value))
        if is_cancel(text):
            return self.cancelled("purpose")
        if len(re.sub(r"\W", "", text)) < 4:
            return self.invalid(dispatcher, tracker, "purpose", "用途写得再具体一点（至少几个字），例如“用于开发公交查询小程序”。")
        return self.valid("purpose", text[:1000])

    async def validate_applicant_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return self.cancelled("applicant_type")
        kind = next((name for name, words in APPLICANT_TYPES if words.search(text)), None)
        if kind is None:
            return self.invalid(dispatcher, tracker, "applicant_type", "请从“个人”“企业”“机构”中选一个。")
        return self.valid("applicant_type", kind)

    async def validate_applicant_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        text = mask_text(clean(value))
        if is_cancel(text):
            return self.cancelled("applicant_name")
        kind = tracker.get_slot("applicant_type")
        shortest = 2 if kind == "个人" else 4
        if len(re.sub(r"\W", "", text)) < shortest or len(text) > 100 or find_phone(clean(value)):
            why = "请输入您的姓名。" if kind == "个人" else "请输入完整的单位名称（例如“贵州某某科技有限公司”）。"
            return self.invalid(dispatcher, tracker, "applicant_name", why)
        return self.valid("applicant_name", text)

    async def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return self.cancelled("email")
        if text == NO_EMAIL or SKIP.match(text):
            return self.valid("email", NO_EMAIL)
        email = EMAIL.search(text)
        if email is None:
            return self.invalid(dispatcher, tracker, "email", "邮箱格式不对，例如 name@example.com；不需要邮箱可以说“跳过”。")
        return self.valid("email", email.group(0))

    async def validate_confirm_submit(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        return await confirm(self, value, dispatcher, tracker)


class ValidateComplaintForm(TicketFormValidation, FormValidationAction):
    def form_name(self) -> str:
        return "complaint_form"

    def validators(self) -> dict[str, Any]:
        return {"complaint_category": self.validate_complaint_category,
                "complaint_department": self.validate_complaint_department,
                "complaint_description": self.validate_complaint_description, "phone": self.validate_phone}

    async def validate_complaint_category(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                          domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return self.cancelled("complaint_category")
        if text in COMPLAINT_CATEGORIES:
            return self.valid("complaint_category", text)
        category = next((name for name, words in CATEGORIES if words.search(text)), None)
        if category is None:
            return self.invalid(dispatcher, tracker, "complaint_category",
                                "请从这几类中选一个：数据开放、数据共享、数据质量、平台服务、其他。")
        return self.valid("complaint_category", category)

    async def validate_complaint_department(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                            domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return self.cancelled("complaint_department")
        if NOT_SURE.search(text):
            return self.valid("complaint_department", UNKNOWN_DEPARTMENT)
        name = find_department(text)
        if name is None:
            return self.invalid(dispatcher, tracker, "complaint_department",
                                f"没有在部门名单里找到“{mask_text(text)[:30]}”。请换个说法，例如“市交委”“市公安局”“市卫健委”；"
                                "不清楚的话说“不清楚”。")
        return self.valid("complaint_department", name)

    async def validate_complaint_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                             domain: DomainDict) -> dict[str, Any]:
        text = mask_text(clean(value))
        if is_cancel(text):
            return self.cancelled("complaint_description")
        if len(re.sub(r"\W", "", text)) < 10:
            return self.invalid(dispatcher, tracker, "complaint_description",
                                "描述有点简单，办理部门可能无法核实。请补充：在哪个平台或哪个数据集、什么时间、遇到了什么问题"
                                "（至少10个字）。")
        return self.valid("complaint_description", text[:2000])

    async def validate_confirm_submit(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        return await confirm(self, value, dispatcher, tracker)


async def confirm(form: ValidateDataRequestForm | ValidateComplaintForm, value: Any,
                  dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    text = clean(value)
    said = clean((tracker.latest_message or {}).get("text"))
    if text == "change" and names_field(said):
        text = said  # "修改电话" classified as deny: the words say which field
    if text == "yes" or re.fullmatch(r"(确认|提交|确定|没问题|对|是的?|好的?|可以|ok|yes)[了吧的！!。.]*", text, re.I):
        return {"confirm_submit": "yes"}
    if text == "cancelled" or is_cancel(text):
        return form.cancelled("confirm_submit")
    if text == "change":
        return {"confirm_submit": None}
    return await form.change_field(dispatcher, tracker, text, form.validators())


class ValidateTicketLookupForm(FormValidationAction):
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
            dispatcher.utter_message(text="工单号格式不对：应为 SQ 或 TS 开头，加 8 位日期和 6 位字母数字，"
                                          "例如 SQ20261127-7K3M9Q。提交成功时的回复里有完整工单号。")
            return {"ticket_no": None}
        return {"ticket_no": number}

    async def validate_phone_tail(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        text = clean(value)
        if is_cancel(text):
            return {"phone_tail": None}
        digits = re.sub(r"\D", "", text)
        if len(digits) == 4 or find_phone(text):
            return {"phone_tail": digits[-4:]}
        dispatcher.utter_message(text="请只输入联系电话的最后 4 位数字，例如 5678。")
        return {"phone_tail": None}


def data_request_summary(tracker: Tracker) -> str:
    record = load_dataset(tracker.get_slot("dataset_id"))
    if record is not None:
        what = f"{record['title']}（{record['id']}，{record.get('department', '')}，{record.get('open_type', '')}）"
    else:
        what = f"{tracker.get_slot('requested_data')}（目录外数据需求）"
    email = tracker.get_slot("email")
    return "\n".join([
        "请核对您的数据申请：",
        f"· 申请数据：{what}",
        f"· 用途：{tracker.get_slot('purpose')}",
        f"· 申请人：{tracker.get_slot('applicant_type')}｜{tracker.get_slot('applicant_name')}",
        f"· 联系电话：{mask_phone(tracker.get_slot('phone'))}",
        f"· 电子邮箱：{email if email and email != NO_EMAIL else '未填写'}",
    ])


def complaint_summary(tracker: Tracker) -> str:
    phone = tracker.get_slot("phone")
    return "\n".join([
        "请核对您的投诉：",
        f"· 问题类别：{tracker.get_slot('complaint_category')}",
        f"· 涉及部门：{tracker.get_slot('complaint_department')}",
        f"· 问题描述：{tracker.get_slot('complaint_description')}",
        f"· 联系电话：{'匿名（无法接收办理结果，也不能查询进度）' if phone == ANONYMOUS else mask_phone(phone)}",
    ])


class ActionAskConfirmSubmit(Action):
    """The confirmation step: the summary with 提交/修改/取消, or, after "修改", which field to change."""

    def name(self) -> str:
        return "action_ask_confirm_submit"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        form = (tracker.active_loop or {}).get("name")
        latest = tracker.latest_message or {}
        said = latest.get("text") or ""
        wants_change = ((latest.get("intent") or {}).get("name") == "deny" or CHANGE_WORDS.search(said)) \
            and tracker.get_slot("requested_slot") == "confirm_submit" and not names_field(said)
        fields = DATA_FORM_SLOTS[1:] if form == "data_request_form" else COMPLAINT_FORM_SLOTS
        if wants_change:
            dispatcher.utter_message(text="请问要修改哪一项？", buttons=[
                {"title": FIELD_LABELS[f], "payload": f"修改{FIELD_LABELS[f]}"} for f in fields])
            return []
        summary = data_request_summary(tracker) if form == "data_request_form" else complaint_summary(tracker)
        dispatcher.utter_message(
            text=summary + "\n确认无误请点“提交”；要修改某一项请直接说，例如“修改电话”或“电话改成13912345678”；不想提交可以说“取消”。",
            buttons=[{"title": "提交", "payload": "/affirm"}, {"title": "修改", "payload": "/deny"},
                     {"title": "取消", "payload": "/cancel"}])
        return []


def _submit(dispatcher: CollectingDispatcher, tracker: Tracker, form: str, ticket_type: str,
            fields: dict[str, Any]) -> None:
    key = f"{tracker.sender_id}:{form}:{tracker.get_slot('submission_key') or _activation_stamp(tracker, form)}"
    receipt = service.submit(None, ticket_type, ticket_channel(tracker), key, fields)
    due = workdays.describe_due(ticket_type, receipt.due_date, receipt.due_date_exact)
    kind = "数据申请" if ticket_type == "data_request" else "投诉"
    again = "" if receipt.created else "（这份表单之前已经提交过，没有重复创建。）"
    if receipt.anonymous:
        dispatcher.utter_message(text=f"您的匿名{kind}已提交，编号：{receipt.number}。{again}\n{due}\n"
                                      "由于没有留下联系方式，我们无法向您反馈办理结果，也不能查询进度。感谢您的反映！")
        return
    dispatcher.utter_message(text=(
        f"您的{kind}已提交，工单号：{receipt.number}。{again}\n{due}\n"
        f"办理部门会通过 {mask_phone(receipt.phone)} 联系您。查询进度时，请对我说“查询工单”，"
        "并提供工单号和联系电话后四位。"))


def _activation_stamp(tracker: Tracker, form: str) -> str:
    """Fallback idempotency component: when the form was activated (the same for every retry)."""
    stamps = [e.get("timestamp") for e in tracker.events if e.get("event") == "active_loop" and e.get("name") == form]
    return str(stamps[-1]) if stamps else "no-activation"


def _cancelled(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(text="好的，已取消，刚才填写的内容没有提交。还有什么可以帮您？")


class ActionSubmitDataRequest(Action):
    def name(self) -> str:
        return "action_submit_data_request"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        record = load_dataset(tracker.get_slot("dataset_id"))
        if record is not None and record.get("open_type") == "无条件开放":
            formats = "、".join(record.get("formats") or []) or "目录所列格式"
            api = "，也提供API接口" if record.get("has_api") else ""
            dispatcher.utter_message(text=(
                f"“{record['title']}”是无条件开放的数据，不需要申请，可以直接在政府数据开放平台下载"
                f"（{formats}{api}）。如果下载遇到问题，可以对我说“我要投诉”反映平台问题。"))
        elif tracker.get_slot("confirm_submit") != "yes":
            _cancelled(dispatcher)
        else:
            email = tracker.get_slot("email")
            if record is not None:
                department = record.get("department")
            else:
                department = find_department(tracker.get_slot("requested_data") or "")
            _submit(dispatcher, tracker, "data_request_form", "data_request", {
                "dataset_id": record["id"] if record else None,
                "requested_data": record["title"] if record else tracker.get_slot("requested_data"),
                "purpose": tracker.get_slot("purpose"), "applicant_type": tracker.get_slot("applicant_type"),
                "applicant_name": tracker.get_slot("applicant_name"), "phone": tracker.get_slot("phone"),
                "email": email if email and email != NO_EMAIL else None, "department": department,
            })
        return reset_events("data_request_form")


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        if tracker.get_slot("confirm_submit") != "yes":
            _cancelled(dispatcher)
        else:
            phone = tracker.get_slot("phone")
            department = tracker.get_slot("complaint_department")
            _submit(dispatcher, tracker, "complaint_form", "complaint", {
                "category": tracker.get_slot("complaint_category"),
                "department": None if department == UNKNOWN_DEPARTMENT else department,
                "description": tracker.get_slot("complaint_description"),
                "phone": None if phone == ANONYMOUS else phone, "anonymous": phone == ANONYMOUS,
            })
        return reset_events("complaint_form")


NOT_FOUND = ("没有查到与这个工单号和电话后四位相符的工单。请核对工单号和提交时所留电话的后四位；"
             "匿名投诉无法查询进度。需要帮助可以拨打12345热线。")


def status_message(view: dict) -> str:
    kind = "数据申请" if view["type"] == "data_request" else "投诉"
    lines = [f"工单 {view['number']}（{kind}）", f"当前状态：{view['status_label']}", "办理记录："]
    for item in view["history"]:
        at = datetime.fromisoformat(item["at"]).astimezone(CHINA)
        note = f"：{item['note']}" if item.get("note") else ""
        lines.append(f"· {at:%Y-%m-%d %H:%M} {item['label']}{note}")
    if view["status"] in transitions.OPEN_STATUSES and view["due_date"]:
        due = date.fromisoformat(view["due_date"])
        lines.append(workdays.describe_due(view["type"], due, view["due_date_exact_calendar"]))
    return "\n".join(lines)


class ActionCheckTicket(Action):
    def name(self) -> str:
        return "action_check_ticket"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        number, tail = tracker.get_slot("ticket_no"), tracker.get_slot("phone_tail")
        events = [SlotSet("ticket_no", None), SlotSet("phone_tail", None), SlotSet("requested_slot", None)]
        if not number or not tail:
            dispatcher.utter_message(text="好的，不查了。还有什么可以帮您？")
            return events
        with session_scope() as session:
            ticket = service.lookup_public(session, number, tail)
            view = service.public_view(ticket) if ticket is not None else None
        dispatcher.utter_message(text=status_message(view) if view else NOT_FOUND)
        return events


class ActionCancelForm(Action):
    """"算了 / 不填了 / 取消" during a form: close it and forget what was typed."""

    def name(self) -> str:
        return "action_cancel_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        form = (tracker.active_loop or {}).get("name")
        _cancelled(dispatcher)
        return [ActiveLoop(None), *reset_events(form if form in FORM_SLOTS else "data_request_form")]

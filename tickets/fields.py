"""The fields of a ticket and their rules: one rule per field, used by the conversation's forms and the staff API.

A rule takes the answer as text (already trimmed) and returns the value the form keeps in its slot, or raises
`Invalid`.  The conversation words a rejection with the response `utter_invalid_<slot>` (domain/tickets.yml);
the API answers 400 with the rule's English message.  `Field.store` turns a kept value into ticket columns
(the sentinels ANONYMOUS, NO_EMAIL and UNKNOWN_DEPARTMENT become empty columns).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from catalog_index.departments import alias_table, resolve
from catalog_index.filters import read_text
from catalog_index.search import get_dataset
from database import session_scope
from privacy import find_phone, mask_phone, mask_text

if TYPE_CHECKING:
    from tickets.types import TicketType

ANONYMOUS = "anonymous"
NO_EMAIL = "none"
UNKNOWN_DEPARTMENT = "不清楚"

CANCEL = re.compile(r"^(算了|不填了|取消|不办了|不申请了|不投诉了|不查了|退出|不要了|cancel)(吧|了|啦)?[。.!！]*$", re.I)
SKIP = re.compile(r"^(跳过|没有|无|不用|不需要|不填|不留|没|skip|no)([了啊吧]|邮箱)*[。.!！]*$", re.I)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ANONYMOUS_WORDS = re.compile(r"匿名|不留|不想留|不方便留|不愿意留|保密")
NOT_SURE = re.compile(r"不.?清楚|不.?知道|不.?确定|不.?了解|说不清|不晓得|不懂")
APPLICANT_TYPES = (  # (stored value, the words that choose it), in the order of checking
    ("企业", re.compile(r"企业|公司|商户|个体户|厂|集团|有限|enterprise|company", re.I)),
    ("机构", re.compile(r"机构|单位|事业|高校|大学|学院|学校|研究|医院|协会|学会|社会组织|基金会|中心|院|所")),
    ("个人", re.compile(r"个人|自己|本人|私人|我一个人|市民|个体|person", re.I)),
)
# How people introduce a name they give ("我叫张三", "我们是贵州某某科技有限公司"): not part of the name.
NAME_SAID = re.compile(r"^(我的名字(是|叫)|我叫|我是|本人是?|我们(公司|单位)?是|(姓名|名字|名称|全称)(是|叫|为)?)[:：\s]*")
COMPLAINT_CATEGORIES = (
    ("数据开放", re.compile(r"开放|申请.*(没|不)|不给|不公开|下载不了数据|^1$")),
    ("数据共享", re.compile(r"共享|部门之间|调取|^2$")),
    ("数据质量", re.compile(r"质量|错误|不准|有误|过时|没更新|不更新|缺失|乱码|重复|^3$")),
    ("平台服务", re.compile(r"平台|网站|网页|系统|app|接口|api|打不开|登录|登不上|服务|客服|^4$", re.I)),
    ("其他", re.compile(r"其他|其它|别的|^5$")),
)


class Invalid(ValueError):
    """An answer a rule rejects: `message` for the API (English), `reason` and `variables` for the response
    that explains it in the conversation (utter_invalid_<slot>[_<reason>])."""

    def __init__(self, message: str, reason: str | None = None, **variables: Any) -> None:
        super().__init__(message)
        self.message, self.reason, self.variables = message, reason, variables


@dataclass(frozen=True)
class Context:
    """What a rule may look at besides the answer: the ticket type, the answers so far, the catalogue."""

    ticket_type: TicketType
    answers: Mapping[str, Any]
    db_url: str | None = None

    def dataset(self, dataset_id: Any) -> dict | None:
        if not dataset_id:
            return None
        with session_scope(self.db_url) as session:
            return get_dataset(session, str(dataset_id).strip())

    def department(self, text: str) -> str | None:
        """The full name of the department named in `text` (exactly, or as a part of it, read the way the search
        reads a department out of a query: "城管的数据不准" → 贵阳市综合行政执法局), else None."""
        if not text:
            return None
        with session_scope(self.db_url) as session:
            found = resolve(session, text)
            if found is not None:
                return found.name
            table = alias_table(session)
            code = read_text(text, table)[1].get("department")
            return next((ref.name for ref in table.values() if ref.code == code), None) if code else None


Rule = Callable[[str, Context], Any]


@dataclass(frozen=True)
class Field:
    slot: str  # the form slot that asks for it (domain/tickets.yml)
    column: str  # the ticket column it fills, and its key in the staff API's JSON body
    label: str  # how the assistant names it ("请问要修改哪一项？", "好的，我们重新填写…")
    rule: Rule
    words: re.Pattern  # what a user says to change this field at the confirmation
    precedence: int  # which field's words are checked first (lower first: "企业名称" is the name, not the type)
    required: bool = True  # False: the staff API may leave it out
    instead: str | None = None  # a column that may stand in for this one in the staff API (dataset_id)
    notices: Mapping[Any, str] = field(default_factory=dict)  # kept value → response said on accepting it
    store: Callable[[Any], dict[str, Any]] | None = None  # kept value → columns (default: {column: value})
    dependents: tuple[str, ...] = ()  # slots to ask again when this one changes (a new kind of applicant: its name)

    def columns(self, value: Any) -> dict[str, Any]:
        return self.store(value) if self.store else {self.column: value}


def clean(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def is_cancel(text: str) -> bool:
    return bool(CANCEL.match(clean(text)))


def _words(text: str) -> int:
    return len(re.sub(r"\W", "", text))


def free_text(shortest: int, longest: int, what: str) -> Rule:
    def rule(text: str, ctx: Context) -> str:
        text = mask_text(text)
        if _words(text) < shortest:
            raise Invalid(f"must say {what} in at least {shortest} characters")
        return text[:longest]

    return rule


def _choice(choices: tuple[tuple[str, re.Pattern], ...]) -> Rule:
    def rule(text: str, ctx: Context) -> str:
        names = [name for name, _ in choices]
        found = text if text in names else next((name for name, words in choices if words.search(text)), None)
        if found is None:
            raise Invalid(f"must be one of {', '.join(names)}", choices="、".join(names))
        return found

    return rule


def applicant_name(text: str, ctx: Context) -> str:
    person = ctx.answers.get("applicant_type") == "个人"
    masked = NAME_SAID.sub("", mask_text(text)) or mask_text(text)
    if _words(masked) < (2 if person else 4) or len(masked) > 100 or find_phone(text):
        raise Invalid("must be a person's name or an organisation's full name")
    return masked


def phone(text: str, ctx: Context) -> str:
    anonymous_allowed = ctx.ticket_type.anonymous
    if text == ANONYMOUS or (anonymous_allowed and ANONYMOUS_WORDS.search(text)):
        if not anonymous_allowed:
            raise Invalid(f"is required for a {ctx.ticket_type.name} (it cannot be anonymous)", reason="anonymous",
                          ticket_label=ctx.ticket_type.label)
        return ANONYMOUS
    found = find_phone(text)
    if found is None:
        raise Invalid("must be a mainland mobile (13812345678) or a landline with area code (0851-86861234)")
    return found


def email(text: str, ctx: Context) -> str:
    if text == NO_EMAIL or SKIP.match(text):
        return NO_EMAIL
    found = EMAIL.search(text)
    if found is None:
        raise Invalid("must be an e-mail address like name@example.com")
    return found.group(0)


def department(text: str, ctx: Context) -> str:
    if text == UNKNOWN_DEPARTMENT or NOT_SURE.search(text):
        return UNKNOWN_DEPARTMENT
    name = ctx.department(text)
    if name is None:
        raise Invalid("must name a department of the department list", said=mask_text(text)[:30])
    return name


def dataset_id(text: str, ctx: Context) -> str:
    record = ctx.dataset(text)
    if record is None:
        raise Invalid(f"no dataset with id {text!r} in the catalogue", given=text)
    return record["id"]


def shown_phone(value: Any) -> str:
    return "匿名（无法接收办理结果，也不能查询进度）" if value == ANONYMOUS else mask_phone(value)


def shown_email(value: Any) -> str:
    return value if value and value != NO_EMAIL else "未填写"


# -- the fields, shared by the ticket types that ask for them -------------------------------------------------
PHONE = Field("phone", "phone", "联系电话", phone, re.compile(r"电话|手机|号码|联系方式"), 0,
              notices={ANONYMOUS: "utter_anonymous_accepted"},
              store=lambda v: {"phone": None if v == ANONYMOUS else v, "anonymous": v == ANONYMOUS})
EMAIL_FIELD = Field("email", "email", "电子邮箱", email, re.compile(r"邮箱|邮件|email|e-mail", re.I), 1,
                    required=False, store=lambda v: {"email": None if v == NO_EMAIL else v})
APPLICANT_NAME = Field("applicant_name", "applicant_name", "申请人名称", applicant_name,
                       re.compile(r"名称|名字|姓名|全称|单位名|公司名"), 2)
APPLICANT_TYPE = Field("applicant_type", "applicant_type", "申请人类型", _choice(APPLICANT_TYPES),
                       re.compile(r"身份|类型|个人|企业|机构"), 3, dependents=("applicant_name",))
PURPOSE = Field("purpose", "purpose", "用途", free_text(4, 1000, "the purpose"), re.compile(r"用途|目的|用来"), 4)
REQUESTED_DATA = Field("requested_data", "requested_data", "申请的数据", free_text(2, 500, "which data"),
                       re.compile(r"数据|申请的"), 9, instead="dataset_id")
DATASET = Field("dataset_id", "dataset_id", "数据集", dataset_id, re.compile(r"数据集"), 8, required=False)
DEPARTMENT = Field("department", "department", "部门", department, re.compile(r"部门|单位"), 6, required=False,
                   store=lambda v: {"department": None if v == UNKNOWN_DEPARTMENT else v})
COMPLAINT_CATEGORY = Field("complaint_category", "category", "问题类别", _choice(COMPLAINT_CATEGORIES),
                           re.compile(r"类别|分类|问题类型"), 5)
COMPLAINT_DEPARTMENT = replace(DEPARTMENT, slot="complaint_department", label="涉及部门")
COMPLAINT_DESCRIPTION = Field("complaint_description", "description", "问题描述",
                              free_text(10, 2000, "what happened"), re.compile(r"描述|内容|经过|情况|发生"), 7)


# -- the callback request (回电预约, 转人工) -----------------------------------------------------------------------
NO_NAME = "不方便透露"
NO_NAME_WORDS = re.compile(r"^(不方便|不想|不愿意?|不用|不必|不需要|跳过|匿名|保密|不说|不留|不告诉|skip)")


def contact_name(text: str, ctx: Context) -> str:
    """How staff should address the caller ("王女士"), or NO_NAME: the name is optional."""
    if text == NO_NAME or NO_NAME_WORDS.match(text):
        return NO_NAME
    masked = mask_text(text)
    if _words(masked) < 1 or len(masked) > 30 or find_phone(text):
        raise Invalid("must be how to address the caller (at most 30 characters), or skipped")
    return masked


def shown_name(value: Any) -> str:
    return "未提供" if not value or value == NO_NAME else str(value)


CONTACT_NAME = Field("contact_name", "contact_name", "称呼", contact_name, re.compile(r"称呼|姓名|名字|怎么叫"), 10,
                     required=False, store=lambda v: {"contact_name": None if v == NO_NAME else v})
BEST_TIME = Field("best_time", "best_time", "方便接听的时间", free_text(2, 100, "when to call"),
                  re.compile(r"时间|时段|几点|什么时候|上午|下午|晚上"), 11)
CALLBACK_QUESTION = Field("callback_question", "question", "咨询的问题", free_text(4, 1000, "what the call is about"),
                          re.compile(r"问题|事情|内容|咨询|什么事"), 12)

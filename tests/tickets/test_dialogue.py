"""The ticket forms end to end: real Rasa server, real action server, REST channel, tickets checked in the DB."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
import uuid

from sqlalchemy import select

from database import session_scope
from tickets.models import Ticket

PHONE = "13985012345"
MASKED = "139****2345"


def talk(desk, sender: str, *texts: str) -> str:
    """Send each text in turn; the bot's texts of the last turn."""
    reply = ""
    for text in texts:
        reply = desk.texts(desk.say(sender, text))
    return reply


def tickets_of(desk, **where) -> list[Ticket]:
    with session_scope(desk.db_url) as session:
        query = select(Ticket)
        for key, value in where.items():
            query = query.where(getattr(Ticket, key) == value)
        rows = list(session.execute(query).scalars())
        session.expunge_all()
        return rows


def sender() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def fill_free_text_request(desk, user: str, purpose: str = "用于交通出行研究，写一篇论文") -> str:
    talk(desk, user, "我要申请数据", "花溪区共享单车停放点的位置和数量", purpose, "个人", "张伟")
    return talk(desk, user, PHONE, "跳过")


def test_free_text_request_happy_path(desk):
    user = sender()
    summary = fill_free_text_request(desk, user)
    assert "请核对您的数据申请" in summary and MASKED in summary and PHONE not in summary
    assert "共享单车停放点" in summary and "未填写" in summary
    reply = talk(desk, user, "/affirm")
    number = re.search(r"SQ\d{8}-[0-9A-Z]{6}", reply).group(0)
    assert MASKED in reply and PHONE not in reply and "预计在" in reply and "估算" in reply
    [ticket] = tickets_of(desk, number=number)
    assert (ticket.type, ticket.channel, ticket.status, ticket.dataset_id) == ("data_request", "rest", "submitted", None)
    assert (ticket.applicant_type, ticket.applicant_name, ticket.phone, ticket.email) == ("个人", "张伟", PHONE, None)
    assert "共享单车" in ticket.requested_data and ticket.due_date is not None
    assert re.fullmatch(rf"{user}:data_request_form:[0-9a-f]{{32}}", ticket.idempotency_key)  # made at activation
    # a second click on 提交 creates nothing new
    talk(desk, user, "/affirm")
    mine = [t.number for t in tickets_of(desk, channel="rest") if t.idempotency_key.startswith(f"{user}:")]
    assert mine == [number]  # (the session's desk is shared: other tests file tickets for 张伟 too)


def test_request_for_a_conditionally_open_dataset(desk):
    user = sender()
    first = talk(desk, user, '/request_data{"dataset_id":"CDC-0001"}')
    assert "有条件开放" in first and "数据使用协议" in first and "用途" in first
    talk(desk, user, "用于儿童疫苗接种的学术研究", "机构", "贵州大学公共卫生学院", PHONE)
    summary = talk(desk, user, "zhang.wei@example.com")
    assert "免疫规划疫苗接种率统计" in summary and "CDC-0001" in summary
    reply = talk(desk, user, "提交")
    number = re.search(r"SQ\d{8}-[0-9A-Z]{6}", reply).group(0)
    [ticket] = tickets_of(desk, number=number)
    assert ticket.dataset_id == "CDC-0001" and ticket.department == "贵阳市疾病预防控制中心"
    assert ticket.email == "zhang.wei@example.com"


def test_unconditionally_open_dataset_needs_no_application(desk):
    user = sender()
    reply = talk(desk, user, '/request_data{"dataset_id":"CDC-0003"}')
    assert "无条件开放" in reply and "直接" in reply and "下载" in reply
    assert tickets_of(desk, dataset_id="CDC-0003") == []
    assert "没有正在填写的表单" in talk(desk, user, "算了")  # the form is not left open


def test_not_opened_dataset_is_explained(desk):
    user = sender()
    reply = talk(desk, user, '/request_data{"dataset_id":"CDC-0007"}')
    assert "不予开放" in reply and "复核" in reply and "12345" in reply
    assert "取消" in talk(desk, user, "取消")


def test_invalid_phone_is_reasked_and_a_human_offered_after_three(desk):
    user = sender()
    talk(desk, user, "我要申请数据", "全市公共充电桩的位置", "开发充电导航小程序", "企业", "贵州云数科技有限公司")
    first = talk(desk, user, "139123")
    assert "号码好像不对" in first and "联系电话" in first
    talk(desk, user, "不知道")
    third = talk(desk, user, "138123")
    assert "12345" in third and "政务服务便民热线" in third
    assert "电子邮箱" in talk(desk, user, "0851-86861234")  # a landline is fine, the form goes on


def test_cancel_in_the_middle(desk):
    user = sender()
    talk(desk, user, "我要申请数据", "全市停车场实时空位")
    reply = talk(desk, user, "算了，不填了")
    assert "已取消" in reply
    assert tickets_of(desk, requested_data="全市停车场实时空位") == []
    assert "没有正在填写的表单" in talk(desk, user, "取消")


def test_question_on_the_measures_mid_form_then_resume(desk):
    user = sender()
    talk(desk, user, "我要投诉", "平台服务")
    reply = desk.say(user, "贵阳市政府数据共享开放实施办法是什么时候施行的？")
    text = desk.texts(reply)
    assert "2018年3月1日" in text or "出处" in text
    assert "请具体说说发生了什么" in text  # the form asks its question again
    assert "取消" in [b["title"] for b in reply[-1].get("buttons", [])]
    talk(desk, user, "开放平台上公交线路数据的下载链接点开一直是404，已经一周了")
    assert "贵阳市交通委员会" in talk(desk, user, "交委", "匿名")


def test_change_one_field_at_confirmation(desk):
    user = sender()
    talk(desk, user, "我要投诉", "数据质量", "公交站点数据里的站名和实际站牌对不上，花溪区有十几个站都错了",
         "市交委")
    summary = talk(desk, user, PHONE)
    assert "请核对您的投诉" in summary and MASKED in summary
    changed = talk(desk, user, "电话改成13900001111")
    assert "139****1111" in changed and "请核对您的投诉" in changed
    asked = talk(desk, user, "/deny")
    assert "要修改哪一项" in asked
    assert "哪一类问题" in talk(desk, user, "修改问题类别")
    talk(desk, user, "数据开放")
    reply = talk(desk, user, "/affirm")
    number = re.search(r"TS\d{8}-[0-9A-Z]{6}", reply).group(0)
    [ticket] = tickets_of(desk, number=number)
    assert (ticket.phone, ticket.category, ticket.department) == ("13900001111", "数据开放", "贵阳市交通委员会")


def test_thin_complaint_is_reasked_and_anonymous_explained(desk):
    user = sender()
    talk(desk, user, "我要投诉", "其他")
    assert "至少10个字" in talk(desk, user, "不好用")
    talk(desk, user, "开放平台的数据目录搜索功能搜不到已经发布的数据集，试了很多次", "不清楚")
    anonymous = talk(desk, user, "匿名")
    assert "无法接收办理结果" in anonymous
    reply = talk(desk, user, "确认")
    number = re.search(r"TS\d{8}-[0-9A-Z]{6}", reply).group(0)
    assert "匿名" in reply and "不能查询进度" in reply
    [ticket] = tickets_of(desk, number=number)
    assert ticket.anonymous and ticket.phone is None and ticket.department is None


def test_check_ticket_and_neutral_not_found(desk):
    user = sender()
    fill_free_text_request(desk, user, purpose="做公共交通可达性分析")
    number = re.search(r"SQ\d{8}-[0-9A-Z]{6}", talk(desk, user, "/affirm")).group(0)
    found = talk(desk, user, f"查询{number.lower()}", "2345")
    assert "当前状态：已提交" in found and number in found and "办理记录" in found and "预计在" in found
    wrong_tail = talk(desk, user, "查询工单", number, "9999")
    unknown = talk(desk, user, "查询工单", "SQ20200101-ZZZZZZ", "2345")
    assert wrong_tail == unknown and "没有查到" in unknown
    assert "格式不对" in talk(desk, user, "查询工单", "12345")


def test_exactly_once_when_the_submit_action_is_retried(desk):
    """Rasa (or a proxy) retrying the same action call: concurrent and repeated calls, one ticket."""
    key = uuid.uuid4().hex
    slots = {"requested_data": "全市公厕位置", "purpose": "地图标注公厕位置", "applicant_type": "个人",
             "applicant_name": "李娜", "phone": PHONE, "email": "none", "confirm_submit": "yes",
             "submission_key": key}
    body = json.dumps({
        "next_action": "action_submit_data_request", "sender_id": "retry-user", "version": "3.6.21",
        "domain": {}, "tracker": {"sender_id": "retry-user", "slots": slots, "latest_message": {},
                                  "events": [], "latest_input_channel": "rest", "active_loop": {}},
    }).encode()

    def call() -> dict:
        request = urllib.request.Request(desk.actions_url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())

    answers: list[dict] = []
    threads = [threading.Thread(target=lambda: answers.append(call())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers.append(call())
    assert {a["responses"][0]["response"] for a in answers} == {"utter_ticket_submitted"}  # Rasa words it
    numbers = {a["responses"][0]["number"] for a in answers}
    assert len(numbers) == 1 and len(answers) == 7 and re.fullmatch(r"SQ\d{8}-[0-9A-Z]{6}", numbers.pop())
    assert len(tickets_of(desk, idempotency_key=f"retry-user:data_request_form:{key}")) == 1


def test_no_full_phone_number_in_the_logs(desk):
    logs = "".join(p.read_text(errors="replace") for p in desk.conf.log_dir.glob("*.log"))
    assert logs  # the services did log
    for phone in (PHONE, "13900001111"):
        assert phone not in logs


def test_half_filled_form_survives_restarts(desk):
    user = sender()
    talk(desk, user, "我要申请数据", "贵阳市历年降雨量", "做气候变化课程作业")
    desk.restart("actions", "rasa")
    reply = talk(desk, user, "个人")
    assert "姓名" in reply
    talk(desk, user, "王小明", PHONE)
    assert "贵阳市历年降雨量" in talk(desk, user, "跳过")
    number = re.search(r"SQ\d{8}-[0-9A-Z]{6}", talk(desk, user, "提交")).group(0)
    [ticket] = tickets_of(desk, number=number)
    assert (ticket.purpose, ticket.applicant_name) == ("做气候变化课程作业", "王小明")


# -- forms that hold --------------------------------------------------------------------------------------------
def buttons(messages: list[dict]) -> list[str]:
    return [b.get("title") for m in messages for b in m.get("buttons") or []]


def test_plain_slot_answers_fill_the_form_whatever_nlu_makes_of_them(desk):
    user = sender()
    first = desk.say(user, "我要申请数据")
    assert "取消" in desk.texts(first) and "取消" in buttons(first)
    asked = desk.say(user, "全市公园的位置和开放时间")  # a search, to NLU
    assert "用途" in desk.texts(asked) and "资料中" not in desk.texts(asked) and "取消" in buttons(asked)
    talk(desk, user, "做一个带孩子逛公园的小程序", "个人")
    assert "联系电话" in talk(desk, user, "我叫张三")
    summary = talk(desk, user, PHONE, "跳过")
    assert "全市公园的位置和开放时间（目录外数据需求）" in summary and "个人｜张三" in summary


def test_a_complaint_told_at_once_keeps_its_description_department_and_asks_the_phone(desk):
    user = sender()
    talk(desk, user, "我要投诉")
    told = talk(desk, user, "交通委发布的公交站点数据站名和实际站牌对不上，花溪区十几个站都错了，"
                            "打了0851-86861234也没人回应")
    assert "记下了" in told and "贵阳市交通委员会" in told and "哪一类问题" in told  # only the category is missing
    asked = talk(desk, user, "数据质量")
    assert "请留下联系电话" in asked and "请具体说说" not in asked and "涉及哪个部门" not in asked
    summary = talk(desk, user, PHONE)
    assert "涉及部门：贵阳市交通委员会" in summary and "0851-****1234" in summary and MASKED in summary
    number = re.search(r"TS\d{8}-[0-9A-Z]{6}", talk(desk, user, "提交")).group(0)
    [ticket] = tickets_of(desk, number=number)
    assert (ticket.phone, ticket.department, ticket.category) == (PHONE, "贵阳市交通委员会", "数据质量")


def test_a_complaint_told_in_its_first_message_is_not_asked_again(desk):
    user = sender()
    opened = talk(desk, user, "公交集团的实时到站接口这周老是挂，返回的全是空数据，我要投诉")
    assert "记下了" in opened and "贵阳公共交通（集团）有限公司" in opened and "哪一类问题" in opened
    asked = talk(desk, user, "数据质量")
    assert "请留下联系电话" in asked and "请具体说说" not in asked and "涉及哪个部门" not in asked
    summary = talk(desk, user, PHONE)
    assert "实时到站接口这周老是挂" in summary and "涉及部门：贵阳公共交通（集团）有限公司" in summary


def test_a_department_abbreviation_is_the_department(desk):
    user = sender()
    talk(desk, user, "我要投诉", "数据开放")
    asked = talk(desk, user, "申请了公园数据一个多月了，一直没有任何答复")
    assert "涉及哪个部门" in asked
    assert "请留下联系电话" in talk(desk, user, "住建局")
    assert "涉及部门：贵阳市住房和城乡建设局" in talk(desk, user, "匿名")

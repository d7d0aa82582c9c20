"""Numbering, working days, privacy, transitions and exactly-once creation against a real SQLite database."""

from __future__ import annotations

import logging
import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

import privacy
from database import session_scope
from tickets import numbering, service, transitions, workdays
from tickets.models import Ticket


def test_numbers_are_readable_unique_and_not_sequential():
    day = date(2026, 11, 27)
    numbers = {numbering.new_number("data_request", day) for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(re.fullmatch(r"SQ20261127-[2-9A-HJKMNP-Z]{6}", n) for n in numbers)
    assert numbering.new_number("complaint", day).startswith("TS20261127-")
    assert numbering.normalise("我的单号是 sq20261127 7k3m9q 谢谢") == "SQ20261127-7K3M9Q"
    assert numbering.normalise("TS20261127-ABCDEF") == "TS20261127-ABCDEF"
    assert numbering.normalise("SQ2026-ABC") is None


@pytest.mark.parametrize(("start", "days", "expected"), [
    (date(2026, 9, 28), 5, date(2026, 10, 10)),   # 29, 30 Sep; 8, 9 Oct; make-up Saturday 10 Oct
    (date(2026, 11, 27), 15, date(2026, 12, 18)),  # Friday + 15 working days
    (date(2026, 11, 28), 1, date(2026, 11, 30)),   # received on Saturday: Monday is day 1
])
def test_working_days_follow_the_official_calendar(start, days, expected):
    due = workdays.add_working_days(start, days)
    assert due == workdays.DueDate(expected, True)


def test_unknown_year_falls_back_to_weekends_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="tickets.workdays"):
        due = workdays.add_working_days(date(2031, 1, 6), 5)  # Monday
    assert due == workdays.DueDate(date(2031, 1, 13), False)
    assert "does not know 2031" in caplog.text


def test_deadline_config_cites_sources_and_words_estimates():
    rule = workdays.deadline("data_request")
    assert (rule.working_days, rule.extension_working_days, rule.settled) == (15, 15, False)
    assert "贵州省政府数据共享开放条例" in rule.basis
    text = workdays.describe_due("data_request", date(2026, 12, 18), True)
    assert text.startswith("预计在2026年12月18日前后答复（估算") and "贵阳市" in text
    assert "周一至周五" in workdays.describe_due("complaint", date(2031, 1, 13), False)
    assert "内部处理目标" in workdays.deadline("complaint").basis


@pytest.mark.parametrize(("text", "phone"), [
    ("13812345678", "13812345678"), ("手机 138 1234 5678", "13812345678"), ("+86-13812345678", "13812345678"),
    ("0851-86861234", "0851-86861234"), ("座机085186861234", "0851-86861234"), ("１３８１２３４５６７８", "13812345678"),
    ("12345678901", None), ("1381234567", None), ("电话不告诉你", None), ("138123456789", None),
])
def test_find_phone(text, phone):
    assert privacy.find_phone(text) == phone


def test_transitions():
    transitions.check("submitted", "accepted", None)
    transitions.check("accepted", "in_progress", None)
    with pytest.raises(transitions.TransitionError, match="not allowed"):
        transitions.check("submitted", "answered", None)
    with pytest.raises(transitions.TransitionError, match="note"):
        transitions.check("accepted", "rejected", "  ")
    with pytest.raises(transitions.TransitionError, match="final"):
        transitions.check("closed", "accepted", "x")


FIELDS = {"requested_data": "共享单车停放点", "purpose": "研究", "applicant_type": "个人",
          "applicant_name": "张三", "phone": "13812345678"}


def test_create_is_exactly_once_per_key(session):
    first = service.create_ticket(session, "data_request", "rest", "key-1", FIELDS)
    again = service.create_ticket(session, "data_request", "rest", "key-1", FIELDS)
    assert first.created and not again.created and first.ticket.number == again.ticket.number
    assert first.ticket.due_date is not None and first.ticket.status == "submitted"
    assert [e.to_status for e in first.ticket.events] == ["submitted"]


def test_concurrent_submits_create_one_ticket(db_url):
    results, errors = [], []

    def submit():
        try:
            results.append(service.submit(db_url, "complaint", "wechat", "race-key",
                                          {"category": "平台服务", "description": "页面打不开已经三天了", "anonymous": True}))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.number for r in results}) == 1 and sum(r.created for r in results) == 1
    with session_scope(db_url) as s:
        count = s.execute(select(func.count()).select_from(Ticket).where(Ticket.idempotency_key == "race-key"))
        assert count.scalar_one() == 1


def test_public_lookup_needs_number_and_tail(session):
    ticket = service.create_ticket(session, "data_request", "web", "key-lookup", FIELDS).ticket
    assert service.lookup_public(session, ticket.number.lower(), "5678") is ticket
    assert service.lookup_public(session, ticket.number, "1234") is None
    assert service.lookup_public(session, "SQ20261127-ZZZZZZ", "5678") is None
    anonymous = service.create_ticket(session, "complaint", "web", "key-anon",
                                      {"category": "其他", "description": "x" * 12, "anonymous": True}).ticket
    assert service.lookup_public(session, anonymous.number, "") is None


def test_transition_history_and_overdue(session):
    ticket = service.create_ticket(session, "complaint", "api", "key-tr",
                                   {"category": "数据质量", "description": "数据有错误" * 3, "phone": "13900001111"},
                                   received=date(2026, 1, 5)).ticket
    assert service.is_overdue(ticket, today=date(2026, 3, 1))
    service.transition(session, ticket, "accepted", "李四")
    service.transition(session, ticket, "rejected", "李四", note="不属于本平台受理范围")
    assert not service.is_overdue(ticket, today=date(2026, 3, 1))
    public = service.public_view(ticket)
    assert [h["to"] for h in public["history"]] == ["submitted", "accepted", "rejected"]
    assert public["history"][-1]["note"] == "不属于本平台受理范围" and "actor" not in public["history"][-1]
    staff = service.staff_view(ticket)
    assert staff["history"][1]["actor"] == "李四" and staff["phone"] == "139****1111"
    with pytest.raises(transitions.TransitionError):
        service.transition(session, ticket, "accepted", "李四")


def test_csv_export_has_no_personal_data(session):
    service.create_ticket(session, "data_request", "web", "key-csv",
                          {**FIELDS, "requested_data": "电话13812345678的那家公司的数据", "email": "a@b.cn"})
    rows, _ = service.list_tickets(session, per_page=100)
    text = service.export_csv(rows)
    assert "13812345678" not in text and "张三" not in text and "a@b.cn" not in text
    assert text.splitlines()[0].startswith("number,type,status")

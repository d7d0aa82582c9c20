"""Fault tests on the production profile, each bounded in time: a Rasa process killed mid-form, PostgreSQL
restarted, Redis stopped.  Conversations go through haproxy exactly as users' do."""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from database import session_scope
from ops import prod as prod_servers
from ops import services
from tests.harness import wait_until
from tests.prod.conftest import texts
from tickets.models import Ticket

PHONE = "13985012345"
NEED = "花溪区共享单车停放点的位置和数量"

pytestmark = pytest.mark.timeout(900)


def user() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def test_one_conversation_one_process_and_senders_spread(prod):
    """Consistent hashing: every turn of a conversation on one Rasa process; REST, socket.io and WeChat keys."""
    served = {}
    for i in range(12):
        sender = f"spread-{i}"
        answers = {prod.say(sender, "你好")[1] for _ in range(2)}
        assert len(answers) == 1, answers
        served[sender] = answers.pop()
    assert set(served.values()) == {"rasa1", "rasa2"}
    for query in ("/socket.io/?EIO=4&transport=polling&session_id=abc", "/webhooks/wechat/webhook?openid=o-42"):
        backends = {prod.get(prod.conf.rasa_url + query)[1].get("X-Desk-Rasa") for _ in range(4)}
        assert len(backends) == 1 and backends <= {"rasa1", "rasa2"}, (query, backends)


def test_conversations_spread_evenly_over_the_rasa_processes(prod):
    """The hash ring balances: 2,000 conversation keys (fixed, so the result is too) split within 47-53 %."""
    served = Counter(prod.get(f"{prod.conf.rasa_url}/webhooks/wechat/webhook?openid=o-{i}")[1].get("X-Desk-Rasa")
                     for i in range(2000))
    assert set(served) == {"rasa1", "rasa2"}
    assert max(served.values()) <= 1060, served


def test_rasa_process_killed_mid_form_conversation_continues_on_another(prod):
    sender = user()
    prod.say(sender, "我要申请数据")
    messages, first = prod.say(sender, NEED)
    assert "用途" in texts(messages)
    killed = prod.pids()[first]
    os.kill(killed, signal.SIGKILL)
    messages, second = prod.say(sender, "用于交通出行研究，写一篇论文")  # haproxy re-dispatches the refused connection
    assert second and second != first
    assert texts(messages) and "用途" not in texts(messages)  # the form moved on to the next slot
    for text in ("个人", "张伟", PHONE):
        prod.say(sender, text)
    summary = texts(prod.say(sender, "跳过")[0])
    assert "请核对您的数据申请" in summary and "共享单车停放点" in summary  # slots filled before the kill
    number = re.search(r"SQ\d{8}-[0-9A-Z]{6}", texts(prod.say(sender, "/affirm")[0])).group(0)
    with session_scope(prod.db_url) as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        assert "共享单车" in ticket.requested_data and ticket.applicant_name == "张伟"
    # the supervisor starts the killed process again and haproxy puts it back in the ring (later tests need both)
    prod.wait_restarted(first, killed, lambda: prod_servers.haproxy_all_up(prod.conf), timeout=600)


def test_postgres_restart_services_recover_without_restarting(prod):
    sender = user()
    assert "请问您需要什么数据" in texts(prod.say(sender, "我要申请数据")[0])
    before = prod.pids()
    os.kill(before["postgres"], signal.SIGINT)  # fast shutdown; the supervisor starts it again
    prod.wait_restarted("postgres", before["postgres"], lambda: prod_servers.pg_ready(prod.conf))
    # The first turn after the restart is not lost: the stores replace their dead pooled connections.
    assert "用途" in texts(prod.say(sender, NEED)[0])
    status, _, body = prod.get(f"{prod.conf.web_url}/api/health")
    assert status == 200 and '"datasets": 1139' in body
    after = prod.pids()
    assert {k: v for k, v in after.items() if k != "postgres"} == {k: v for k, v in before.items()
                                                                   if k != "postgres" and k in after}


def test_redis_stopped_clear_error_polite_reply_and_recovery(prod):
    sender = user()
    messages, served = prod.say(sender, "你好")
    redis = prod.pids()["redis"]
    os.kill(redis, signal.SIGSTOP)  # stopped, not dead: the supervisor does not restart it
    try:
        started = time.monotonic()
        messages, served = prod.say(sender, "我要申请数据", timeout=30)
        assert "请问您需要什么数据" in texts(messages)
        assert time.monotonic() - started < 15
        assert "Redis lock store unreachable" in prod.tail(f"{served}.log", 20000)
    finally:
        os.kill(redis, signal.SIGCONT)
    wait_until(lambda: prod_servers.redis_ready(prod.conf), 10, "Redis")
    time.sleep(6)  # bot.stores tries Redis again every RETRY_SECONDS (5 s)
    assert "用途" in texts(prod.say(sender, NEED)[0])
    assert "Redis lock store at" in prod.tail(f"{served}.log", 20000)


def test_public_defaults_rest_behind_a_token_and_cors_for_the_site_only(prod):
    """The profile turns the REST channel off unless REST_TOKEN is set (the sandbox sets one) and allows CORS
    for the chat page's origin only."""
    url = f"{prod.conf.rasa_url}/webhooks/rest/webhook"
    message = {"sender": user(), "message": "你好"}
    assert prod.get(url, body=message)[0] == 401
    assert prod.get(url, body=message, headers={"Authorization": "Bearer wrong"})[0] == 401
    assert prod.get(url, body=message, headers=prod.rest_headers)[0] == 200
    for origin, allowed in ((prod.conf.web_url, True), ("https://elsewhere.example", False)):
        _, headers, _ = prod.get(url, method="OPTIONS",
                                 headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert (headers.get("Access-Control-Allow-Origin") == origin) is allowed, (origin, dict(headers))


def test_haproxy_passes_the_client_address_and_a_forged_one_is_not_believed(prod):
    """Per-client limits (here: ratings, RATINGS_PER_CLIENT_HOUR=2) count the address haproxy saw, not a
    X-Forwarded-For the client wrote itself; the web process believes the header only from the proxy."""
    from tests.prod.conftest import RATINGS_PER_CLIENT_HOUR

    rating = {"value": "satisfied", "moment": "answer"}
    public = f"{prod.conf.web_url}/api/ratings"
    forged = [prod.get(public, body=rating, headers={"X-Forwarded-For": f"203.0.113.{i}"})[0]
              for i in range(RATINGS_PER_CLIENT_HOUR + 1)]
    assert forged == [201] * RATINGS_PER_CLIENT_HOUR + [429]  # all counted as this one client
    # Straight to the web process from haproxy's address: the header is believed, one budget per named client.
    web1 = f"http://{prod.conf.host}:{services.internal_ports(prod.conf)['web'][0]}/api/ratings"
    first = [prod.get(web1, body=rating, headers={"X-Forwarded-For": "198.51.100.7"})[0]
             for _ in range(RATINGS_PER_CLIENT_HOUR + 1)]
    assert first == [201] * RATINGS_PER_CLIENT_HOUR + [429]
    assert prod.get(web1, body=rating, headers={"X-Forwarded-For": "198.51.100.7, 198.51.100.8"})[0] == 201


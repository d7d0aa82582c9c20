"""客服消息 delivery against the fake platform: the shared access_token, refresh on 40001, retries, outbox."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import settings
from bot.channels import wechat_store as store
from bot.channels.wechat_push import Pusher
from privacy import openid_hash
from tests.wechat.conftest import APP_ID, APP_SECRET, BUDGET
from tests.wechat.fake_platform import new_openid


def pusher(fake, db_url: str, **overrides) -> Pusher:
    args = {"api_base": fake.api_base, "app_id": APP_ID, "app_secret": APP_SECRET, "attempts": 3,
            "backoff_seconds": 0.01, "db_url": db_url, **overrides}
    return Pusher(**args)


def outbox_for(db_url: str, openid: str) -> list[dict]:
    return [r for r in store.pending_outbox(db_url) if r["user_hash"] == openid_hash(openid)]


def test_the_channel_refreshes_a_rejected_token_and_shares_it(servers, fake, wechat_db):
    warm = new_openid()
    fake.push(servers[0].webhook, fake.text(warm, f"slow {BUDGET * 1.5} 预热"))
    assert fake.wait_sent(warm)
    fetched = fake.token_requests
    fake.expire_tokens()  # the cached token is now refused with 40001
    openid = new_openid()
    assert fake.push(servers[1].webhook, fake.text(openid, f"slow {BUDGET * 1.5} 换令牌")).body == "success"
    assert fake.wait_sent(openid) == ["慢回答：换令牌"]
    assert fake.token_requests == fetched + 1
    new_token = fake.sent[-1]["token"]
    assert store.cached_token(APP_ID, db_url=wechat_db) == new_token
    other = new_openid()  # the other process uses the refreshed token from the DB, without fetching
    fake.push(servers[0].webhook, fake.text(other, f"slow {BUDGET * 1.5} 共享"))
    assert fake.wait_sent(other) and fake.sent[-1]["token"] == new_token
    assert fake.token_requests == fetched + 1


def test_transient_failures_are_retried_with_backoff(fake, wechat_db):
    openid = new_openid()
    fake.failures[openid] = ["http500", -1]
    assert asyncio.run(pusher(fake, wechat_db).send_text(openid, "重试后送达"))
    assert fake.sent_to(openid) == ["重试后送达"]
    assert outbox_for(wechat_db, openid) == []


def test_undeliverable_answers_are_kept_in_the_outbox(fake, wechat_db):
    expired, flaky = new_openid(), new_openid()
    fake.failures[expired] = [45015]
    fake.failures[flaky] = ["http500"] * 3
    assert not asyncio.run(pusher(fake, wechat_db).send_text(expired, "窗口已过期"))
    assert not asyncio.run(pusher(fake, wechat_db).send_text(flaky, "一直失败"))
    [refused] = outbox_for(wechat_db, expired)
    assert (refused["content"], refused["attempts"]) == ("窗口已过期", 1) and "45015" in refused["reason"]
    [failed] = outbox_for(wechat_db, flaky)
    assert (failed["attempts"], failed["reason"]) == (3, "HTTP 500")


def test_wrong_or_missing_app_credentials_keep_the_answer(fake, wechat_db):
    for openid, overrides, reason in [(new_openid(), {"app_secret": "wrong", "app_id": "wx_other"}, "40125"),
                                      (new_openid(), {"app_secret": ""}, "not configured")]:
        assert not asyncio.run(pusher(fake, wechat_db, **overrides).send_text(openid, "无法送达"))
        [row] = outbox_for(wechat_db, openid)
        assert reason in row["reason"] and row["content"] == "无法送达"


def test_a_slow_turn_that_cannot_be_delivered_lands_in_the_outbox(server, fake, wechat_db):
    openid = new_openid()
    fake.failures[openid] = [48001] * 3
    assert fake.push(server.webhook, fake.text(openid, f"slow {BUDGET * 1.5} 没有权限")).body == "success"
    deadline = time.monotonic() + 15
    while not outbox_for(wechat_db, openid):
        assert time.monotonic() < deadline, "the answer was dropped"
        time.sleep(0.1)
    assert outbox_for(wechat_db, openid)[0]["content"] == "慢回答：没有权限"


def test_the_outbox_is_redelivered_from_the_command_line(fake, wechat_db):
    openid = new_openid()
    fake.failures[openid] = [-1] * 3  # system busy, three times: the answer is kept
    assert not asyncio.run(pusher(fake, wechat_db).send_text(openid, "稍后补发"))
    [row] = outbox_for(wechat_db, openid)
    env = {**os.environ, "PYTHONPATH": str(settings.ROOT), "DB_URL": wechat_db,
           "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET, "WECHAT_API_BASE": fake.api_base}
    done = subprocess.run([sys.executable, "-m", "bot.channels.wechat_push", "redeliver"], env=env,
                          cwd=settings.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert fake.sent_to(openid) == ["稍后补发"]
    assert outbox_for(wechat_db, openid) == []
    assert openid not in done.stdout + done.stderr

"""End to end: the real Rasa server (trained model) and action server with the WeChat channel enabled, driven
by the fake WeChat platform.  A complaint is filed entirely inside WeChat: menu click, numbered options,
free text, confirmation by number; the ticket is in the database with channel = wechat."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from database import session_scope
from ops.services import WECHAT_CHANNEL
from tests.harness import Desk
from tests.wechat.conftest import AES_KEY, APP_ID, APP_SECRET, TOKEN
from tests.wechat.fake_platform import FakeWeChat, Reply, new_openid

pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def wechat_desk(tmp_path_factory, fake) -> Desk:
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APP_ID": APP_ID,
           "WECHAT_APP_SECRET": APP_SECRET, "WECHAT_API_BASE": fake.api_base}
    desk = Desk(tmp_path_factory.mktemp("wechat_desk"), env=env,
                credentials={WECHAT_CHANNEL: {"token": "${WECHAT_TOKEN}", "reply_budget_seconds": 4}})
    try:
        desk.load_catalog()
        desk.start("actions", "rasa", timeout=600)  # a busy 2-core machine loads the model slowly
        yield desk
    finally:
        desk.stop()  # also when starting failed: no orphaned servers


class WeChatUser:
    """One follower talking to the desk through the fake platform (safe mode)."""

    def __init__(self, desk: Desk, fake: FakeWeChat) -> None:
        self.desk, self.fake, self.openid = desk, fake, new_openid()

    def say(self, message: dict) -> str:
        pushed = len(self.fake.sent_to(self.openid))
        reply: Reply = self.fake.push(f"{self.desk.rasa_url}/webhooks/wechat/webhook", message, mode="safe")
        assert reply.status == 200, reply.body
        if reply.body == "success":  # over the reply budget: the answer comes by 客服消息
            return self.fake.wait_sent(self.openid, pushed + 1, timeout=60)[-1]
        return reply.content

    def text(self, content: str) -> str:
        return self.say(self.fake.text(self.openid, content))

    def click(self, key: str) -> str:
        return self.say(self.fake.event(self.openid, "CLICK", key))


def option(reply: str, title: str) -> str:
    """The number the reply offers for the button `title`."""
    found = re.search(rf"回复 (\d+) {re.escape(title)}", reply)
    assert found, f"no option {title!r} in:\n{reply}"
    return found.group(1)


def test_a_complaint_filed_inside_wechat(wechat_desk, fake):
    user = WeChatUser(wechat_desk, fake)
    asked = user.click("COMPLAINT")
    assert "哪一类问题" in asked
    asked = user.text(option(asked, "数据质量"))
    assert "发生了什么" in asked  # the description comes first: a department it names is taken from it
    asked = user.text("下载下来的数据文件一直打不开，已经三天了")
    assert "涉及哪个部门" in asked
    asked = user.text("市交委")
    assert "联系电话" in asked
    summary = user.text("13812345678")
    assert "请核对您的投诉" in summary and "138****5678" in summary
    done = user.text(option(summary, "提交"))
    number = re.search(r"TS\d{8}-[0-9A-Z]+", done)
    assert number, done
    with session_scope(wechat_desk.db_url) as session:
        row = session.execute(text("SELECT type, channel FROM tickets WHERE number = :n"),
                              {"n": number.group(0)}).one()
    assert tuple(row) == ("complaint", "wechat")
    log = (wechat_desk.conf.log_dir / "rasa.log").read_text(encoding="utf-8")
    assert "/webhooks/wechat/webhook" in log or "wechat" in log
    assert user.openid not in log


def test_subscribe_then_a_question_in_wechat(wechat_desk, fake):
    user = WeChatUser(wechat_desk, fake)
    welcome = user.say(fake.event(user.openid, "subscribe"))
    assert "筑数助手" in welcome
    answer = user.text(option(welcome, "数据目录概况"))
    assert re.search(r"\d+", answer), answer

"""Fixtures: the fake WeChat platform, a migrated temporary DB, and two real channel servers sharing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import settings
from database import migrate
from tests.harness import free_port
from tests.wechat.fake_platform import FakeWeChat

TOKEN = "zhushu_test_token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
APP_ID = "wx0123456789abcdef"
APP_SECRET = "fake-app-secret"
BUDGET = 1.0  # reply budget of the test servers, seconds


@pytest.fixture(scope="session")
def fake() -> FakeWeChat:
    platform = FakeWeChat(TOKEN, AES_KEY, APP_ID, APP_SECRET).start()
    yield platform
    platform.stop()


@pytest.fixture(scope="session")
def wechat_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('wechat') / 'catalog.db'}"
    migrate(url)
    return url


@dataclass
class ChannelServer:
    url: str
    log: Path
    proc: subprocess.Popen

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/wechat/webhook"

    def turns(self, sender: str | None = None) -> list[dict]:
        turns = requests.get(f"{self.url}/test/turns", timeout=10).json()
        return [t for t in turns if sender is None or t["sender_id"] == sender]


def _spawn(workdir: Path, name: str, env: dict) -> ChannelServer:
    port = free_port()
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.wechat.bot_app", str(port)], env=env,
                                cwd=settings.ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return ChannelServer(f"http://127.0.0.1:{port}", log, proc)


def _wait_ready(server: ChannelServer) -> ChannelServer:
    deadline = time.monotonic() + 90
    while True:
        try:
            requests.get(f"{server.url}/webhooks/wechat/", timeout=2)
            return server
        except requests.ConnectionError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"channel server did not start:\n{server.log.read_text()[-3000:]}") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def channel_env(fake, wechat_db) -> dict:
    """Secrets come from the environment (settings), the tuning from credentials, as with `rasa run`."""
    credentials = {"reply_budget_seconds": BUDGET, "push_attempts": 3, "push_backoff_seconds": 0.05}
    return {**os.environ, "PYTHONPATH": str(settings.ROOT), "PYTHONUNBUFFERED": "1", "DB_URL": wechat_db,
            "WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET, "WECHAT_API_BASE": fake.api_base,
            "WECHAT_TEST_CREDENTIALS": json.dumps(credentials)}


@pytest.fixture(scope="session")
def start_server(tmp_path_factory, channel_env):
    """Start another channel process (same DB, same fake platform); stopped at the end of the session."""
    workdir = tmp_path_factory.mktemp("wechat_servers")
    started: list[ChannelServer] = []

    def start(*names: str) -> list[ChannelServer]:
        spawned = [_spawn(workdir, name, channel_env) for name in names]  # start together, then wait
        started.extend(spawned)
        return [_wait_ready(server) for server in spawned]

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.terminate()
            server.proc.wait(30)


@pytest.fixture(scope="session")
def servers(start_server) -> list[ChannelServer]:
    """Two processes serving the channel over one DB."""
    return start_server("channel1", "channel2")


@pytest.fixture(scope="session")
def server(servers) -> ChannelServer:
    return servers[0]

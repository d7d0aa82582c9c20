"""How each of the three services is started: command line and environment.

Shared by the supervisor (`make run`) and the integration-test harness, so the
tests start the services exactly as production does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

import settings

ROOT = settings.ROOT
WECHAT_CHANNEL = "bot.channels.wechat.WeChatInput"


def child_env(conf: settings.Settings, extra: dict | None = None) -> dict:
    """The environment of every child: settings made explicit for endpoints.yml."""
    env = dict(os.environ)
    env.update(
        {
            "ACTIONS_URL": conf.actions_url,
            "TRACKER_DB": conf.tracker_db,
            "DB_URL": conf.db_url,
            "SANIC_HOST": conf.host,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    )
    env.update(extra or {})
    return env


def write_credentials(conf: settings.Settings, target: Path, extra: dict | None = None) -> Path:
    """credentials.yml, minus the WeChat channel when WECHAT_TOKEN is unset."""
    creds = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8")) or {}
    if not conf.wechat_token:
        creds.pop(WECHAT_CHANNEL, None)
    creds.update(extra or {})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(creds, allow_unicode=True), encoding="utf-8")
    return target


def actions_cmd(conf: settings.Settings) -> list[str]:
    return [sys.executable, "-m", "actions", "--actions", "actions", "--port", str(conf.actions_port)]


def rasa_cmd(conf: settings.Settings, model: Path, credentials: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "rasa", "run",
        "--model", str(model),
        "--endpoints", str(ROOT / "endpoints.yml"),
        "--credentials", str(credentials),
        "--interface", conf.host,
        "--port", str(conf.rasa_port),
        "--cors", "*",
    ]
    if conf.rasa_api_token:
        cmd += ["--enable-api", "--auth-token", conf.rasa_api_token]
    return cmd


def web_cmd(conf: settings.Settings) -> list[str]:
    return [sys.executable, "-m", "web"]


def readiness_urls(conf: settings.Settings) -> dict[str, str]:
    return {
        "actions": f"http://{conf.host}:{conf.actions_port}/health",
        "rasa": f"{conf.rasa_url}/",
        "web": f"{conf.web_url}/api/health",
    }


class Service:
    def __init__(self, name: str, cmd: list[str], env: dict, log: Path, ready_url: str):
        self.name, self.cmd, self.env, self.log, self.ready_url = name, cmd, env, log, ready_url
        self.proc: subprocess.Popen | None = None
        self.starts: list[float] = []

    def start(self) -> None:
        self.starts = [t for t in self.starts if time.monotonic() - t < 60] + [time.monotonic()]
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, cwd=settings.ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def ready(self) -> bool:
        try:
            urllib.request.urlopen(self.ready_url, timeout=2)
            return True
        except urllib.error.HTTPError:
            return True  # it answers: the health page may still report a peer as down
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)

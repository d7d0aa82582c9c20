"""The production profile as `make run-prod` starts it (ops/supervisor.py --prod), on free ports and private
directories: its own PostgreSQL cluster and Redis, two Rasa processes behind haproxy, one action server and one
web process.  `Prod.say()` also returns which Rasa process answered (haproxy's X-Desk-Rasa header)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

import settings
from ops import prod as prod_servers
from ops.train import ensure_model
from tests.harness import free_port, wait_until

RASA_PROCESSES = 2
START_TIMEOUT = 600  # two Rasa processes load their model on 2 shared cores


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    from ops.supervisor import port_free

    for _ in range(200):
        base = random.randrange(20000, 60000)
        if all(port_free("127.0.0.1", base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports")


class Prod:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        model = ensure_model()
        self.env = {
            **os.environ,
            "DESK_HOST": "127.0.0.1",
            "VAR_DIR": str(workdir), "LOG_DIR": str(workdir / "log"), "PG_DATA": str(workdir / "pgdata"),
            "MODEL_DIR": str(model.parent),
            "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()), "WEB_PORT": str(free_port()),
            "PG_HOST": "127.0.0.1", "PG_PORT": str(free_port()), "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(free_port()),
            "RASA_PROCESSES": str(RASA_PROCESSES), "WORKERS": "1",
            "INTERNAL_PORT_BASE": str(free_port_run(RASA_PROCESSES + 2)),
            "PYTHONPATH": str(settings.ROOT),
        }
        self.env.pop("DB_URL", None)
        self.conf = self._settings()
        self.proc: subprocess.Popen | None = None

    def _settings(self) -> settings.Settings:
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            return settings.get()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    @property
    def db_url(self) -> str:
        return prod_servers.db_url(self.conf)

    def start(self) -> Prod:
        self.log = open(self.workdir / "supervisor.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ops.supervisor", "--prod"], env=self.env,
                                     cwd=settings.ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._running, START_TIMEOUT, "the production profile")
        except Exception:
            self.stop()
            raise
        return self

    def _running(self) -> bool:
        assert self.proc.poll() is None, self.tail("supervisor.log")
        return b"is running" in (self.workdir / "supervisor.log").read_bytes()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def tail(self, log: str, chars: int = 3000) -> str:
        path = self.workdir / log if log == "supervisor.log" else self.conf.log_dir / log
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def pids(self) -> dict[str, int]:
        return json.loads((self.workdir / "run" / "pids.json").read_text())

    def wait_restarted(self, name: str, old_pid: int, ready, timeout: float = 60) -> None:  # noqa: ANN001
        wait_until(lambda: self.pids().get(name) not in (None, old_pid) and ready(), timeout, f"{name} again")

    def say(self, sender: str, text: str, timeout: float = 60) -> tuple[list[dict], str]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{self.conf.rasa_url}/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read()), resp.headers.get("X-Desk-Rasa", "")

    def get(self, url: str, timeout: float = 10) -> tuple[int, Message, str]:
        """Status, headers (names case-insensitive: haproxy sends them in lower case) and body."""
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode()


@pytest.fixture(scope="package")
def prod():
    missing = [b for b in ("haproxy", "redis-server") if not shutil.which(b)]
    if missing or not (prod_servers.PG_BIN / "postgres").exists():
        pytest.fail(f"the production profile needs PostgreSQL 15, redis-server and haproxy: run `make prod-install` "
                    f"(missing: {missing or 'postgresql-15'})")
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as the `postgres` user.
    workdir = Path(tempfile.mkdtemp(prefix="desk-prod-"))
    workdir.chmod(0o755)
    try:
        instance = Prod(workdir).start()
        yield instance
        instance.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)

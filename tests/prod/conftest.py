"""The production profile as `make run-prod` starts it (ops/supervisor.py --prod), on free ports and private
directories: its own PostgreSQL cluster and Redis, two Rasa processes behind haproxy, one action server and one
web process.  `Prod.say()` also returns which Rasa process answered (haproxy's X-Desk-Rasa header)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import Message

import pytest

from ops.prod.sandbox import ProdSandbox, missing_parts
from ops.train import ensure_model
from tests.harness import wait_until

RASA_PROCESSES = 2
RATINGS_PER_CLIENT_HOUR = 2  # small, so that a test sees which address the web service counts


class Prod(ProdSandbox):
    def __init__(self) -> None:
        super().__init__(ensure_model(), rasa_processes=RASA_PROCESSES, workers=1,
                         extra_env={"RATINGS_PER_CLIENT_HOUR": str(RATINGS_PER_CLIENT_HOUR)})

    def wait_restarted(self, name: str, old_pid: int, ready, timeout: float = 60) -> None:  # noqa: ANN001
        wait_until(lambda: self.pids().get(name) not in (None, old_pid) and ready(), timeout, f"{name} again")

    def say(self, sender: str, text: str, timeout: float = 60) -> tuple[list[dict], str]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{self.conf.rasa_url}/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json", **self.rest_headers})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read()), resp.headers.get("X-Desk-Rasa", "")

    def get(self, url: str, timeout: float = 10, headers: dict | None = None, body: dict | None = None,
            method: str | None = None) -> tuple[int, Message, str]:
        """Status, headers (names case-insensitive: haproxy sends them in lower case) and body; a POST of `body`."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode()


@pytest.fixture(scope="package")
def prod():
    if missing_parts():
        pytest.fail(f"the production profile needs PostgreSQL 15, redis-server and haproxy: run `make prod-install` "
                    f"(missing: {missing_parts()})")
    instance = Prod().start()
    try:
        yield instance
    finally:
        assert not instance.stop(), instance.leftovers  # Ctrl-C leaves no process and no bound port behind


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)

"""Start the real services for integration tests, the way `make run` does.

`Desk` runs the real action server and the real Rasa server (and, on demand,
the web/API service) on free loopback ports, against a temporary catalogue
database (migrated and loaded with the sample catalogue through the real CLI)
and a temporary tracker store.  `say()` talks to Rasa through the REST channel.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import settings
from ops import services
from ops.services import Service
from ops.train import ensure_model

CATALOG = [settings.ROOT / "data/catalog/departments.jsonl", settings.ROOT / "data/catalog/guiyang_catalog.jsonl"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Desk:
    def __init__(self, workdir: Path, env: dict | None = None, credentials: dict | None = None):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.model = ensure_model()
        self.conf = dataclasses.replace(
            settings.get(),
            host="127.0.0.1",
            rasa_port=free_port(),
            actions_port=free_port(),
            web_port=free_port(),
            var_dir=workdir,
            db_url=f"sqlite:///{workdir / 'catalog.db'}",
            tracker_db=str(workdir / "tracker.db"),
            log_dir=workdir / "log",
        )
        self.conf.log_dir.mkdir(exist_ok=True)
        self.env = services.child_env(
            self.conf,
            {
                "RASA_PORT": str(self.conf.rasa_port),
                "ACTIONS_PORT": str(self.conf.actions_port),
                "WEB_PORT": str(self.conf.web_port),
                "LOG_DIR": str(self.conf.log_dir),
                "VAR_DIR": str(workdir),
                **(env or {}),
            },
        )
        self.credentials = services.write_credentials(self.conf, workdir / "credentials.yml", credentials)
        self._services: dict[str, Service] = {}

    # -- lifecycle ---------------------------------------------------------
    def load_catalog(self) -> None:
        for args in (["migrate"], ["load", *map(str, CATALOG)]):
            subprocess.run([sys.executable, "-m", "catalog_index", *args], env=self.env, check=True,
                           cwd=settings.ROOT, capture_output=True)

    def _service(self, name: str) -> Service:
        conf, urls = self.conf, services.readiness_urls(self.conf)
        cmd = {
            "actions": lambda: services.actions_cmd(conf),
            "rasa": lambda: services.rasa_cmd(conf, self.model, self.credentials),
            "web": lambda: services.web_cmd(conf),
        }[name]()
        return Service(name, cmd, self.env, conf.log_dir / f"{name}.log", urls[name])

    def start(self, *names: str, timeout: float = 480) -> Desk:
        for name in names:
            self._services[name] = service = self._service(name)
            service.start()
        deadline = time.monotonic() + timeout
        try:
            for name in names:
                service = self._services[name]
                while not service.ready():
                    if service.proc.poll() is not None:
                        raise RuntimeError(f"{name} died; log:\n{service.log.read_text()[-3000:]}")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} did not start; log:\n{service.log.read_text()[-3000:]}")
                    time.sleep(0.3)
        except Exception:
            self.stop()  # never leave servers behind
            raise
        return self

    def stop(self, *names: str) -> None:
        for name in names or list(self._services):
            service = self._services.pop(name, None)
            if service:
                service.stop()
                try:
                    service.proc.wait(20)
                except subprocess.TimeoutExpired:
                    service.kill()
                    service.proc.wait(5)

    def restart(self, *names: str) -> None:
        self.stop(*names)
        self.start(*names)

    # -- talking -----------------------------------------------------------
    @property
    def rasa_url(self) -> str:
        return self.conf.rasa_url

    @property
    def actions_url(self) -> str:
        return self.conf.actions_url

    @property
    def web_url(self) -> str:
        return self.conf.web_url

    @property
    def db_url(self) -> str:
        return self.conf.db_url

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        body = json.dumps({"sender": sender, "message": text, "metadata": metadata or {}}).encode()
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            return json.loads(resp.read())

    @staticmethod
    def texts(messages: list[dict]) -> str:
        return "\n".join(m.get("text", "") for m in messages)

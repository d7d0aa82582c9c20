"""Start the real services for integration tests, the way `make run` does.

`Desk` runs the real action server and the real Rasa server (and, on demand,
the web/API service) on free loopback ports, against a temporary catalogue
database (migrated and loaded with the sample catalogue through the real CLI)
and a temporary tracker store.  `say()` talks to Rasa through the REST channel.

`DB_BACKEND=postgres` (`make test` runs the catalogue, ticket and conversation tests once more with it): the
session starts a throwaway PostgreSQL 15 cluster and Redis (`Servers`, tests/conftest.py), `database_url()`
gives every test database its own PostgreSQL database, and `Desk` runs Rasa with the production profile's
endpoints (SQL tracker store on PostgreSQL, Redis lock store).  Default: SQLite files, as `make run`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import settings
from ops import prod, services
from ops.services import Service
from ops.train import ensure_model

CATALOG = [settings.ROOT / "data/catalog/departments.jsonl", settings.ROOT / "data/catalog/guiyang_catalog.jsonl"]


DB_BACKEND = os.environ.get("DB_BACKEND", "sqlite")
if DB_BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"DB_BACKEND must be sqlite or postgres, got {DB_BACKEND!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(ready, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.2)


class Servers:
    """A throwaway PostgreSQL cluster (no fsync: test data) and Redis on free ports, for DB_BACKEND=postgres.
    `start()` exports PG_PORT / REDIS_PORT, so every child process and `settings.get()` find them."""

    def __init__(self) -> None:
        # Not under pytest's tmp dir: that is private to root, and the cluster runs as the `postgres` user.
        self.workdir = Path(tempfile.mkdtemp(prefix="desk-pg-"))
        self.workdir.chmod(0o755)
        os.environ.update({"PG_HOST": "127.0.0.1", "PG_PORT": str(free_port()), "REDIS_HOST": "127.0.0.1",
                           "REDIS_PORT": str(free_port())})
        self.conf = settings.get()
        self.procs: list[subprocess.Popen] = []

    def start(self) -> Servers:
        conf, data = self.conf, self.workdir / "pgdata"
        prod.init_cluster(data)
        log = open(self.workdir / "servers.log", "ab")
        for cmd, user in ((prod.postgres_cmd(conf, data, "fsync=off", "synchronous_commit=off",
                                             "full_page_writes=off"), prod.postgres_user()),
                          (prod.redis_cmd(conf, self.workdir), {})):
            self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                               **user))
        log.close()
        try:
            wait_until(lambda: prod.pg_ready(conf) and prod.redis_ready(conf), 60, "PostgreSQL and Redis")
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # PostgreSQL: fast shutdown; Redis: shutdown
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def database_url(directory: Path, name: str = "catalog.db") -> str:
    """A fresh, empty database for a test: a SQLite file in `directory`, or (DB_BACKEND=postgres) a database
    of its own on the session's PostgreSQL, named after the path."""
    if DB_BACKEND == "sqlite":
        return f"sqlite:///{directory / name}"
    conf = settings.get()
    db = "t_" + hashlib.sha1(str(directory / name).encode()).hexdigest()[:16]
    prod.create_database(conf, db)
    return prod.db_url(conf, db)


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
            db_url=database_url(workdir),
            tracker_db=str(workdir / "tracker.db"),
            log_dir=workdir / "log",
        )
        self.conf.log_dir.mkdir(exist_ok=True)
        self.endpoints = settings.ROOT / "endpoints.yml"
        server_env = {}
        if DB_BACKEND == "postgres":  # the production profile's stores: tracker on PostgreSQL, locks in Redis
            self.endpoints = prod.ENDPOINTS
            tracker = database_url(workdir, "tracker")
            self.conf = dataclasses.replace(self.conf, tracker_db=tracker.rsplit("/", 1)[1])
            # the stores of the production profile, not its public defaults: these tests talk REST to Rasa directly
            server_env = {**prod.server_env(self.conf), "REST_CHANNEL": "on", "DB_URL": self.conf.db_url,
                          "TRACKER_DB": self.conf.tracker_db}
        self.env = services.child_env(
            self.conf,
            {
                **server_env,
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
            "rasa": lambda: services.rasa_cmd(conf, self.model, self.credentials, self.endpoints),
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

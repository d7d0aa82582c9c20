"""The production profile as `make run-prod` starts it (`ops/supervisor.py --prod`), on free loopback ports and in
a private directory: its own PostgreSQL cluster, Redis, haproxy, N Rasa processes, action servers and web
processes.  Used by the fault tests (tests/prod/) and `make load` (benchmarks/load.py).

`stop()` ends the supervisor with SIGTERM (what Ctrl-C does), then checks that every process it started is gone
and every port it used is free again; a straggler is killed (its process group) and named in `leftovers`.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import settings
from ops import prod, supervisor

START_TIMEOUT = 600  # N Rasa processes load their model at once on 2 shared cores
STOP_TIMEOUT = 90


PUBLIC_PORTS = ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT", "PG_PORT", "REDIS_PORT")


def ephemeral_start() -> int:
    """The first port the kernel hands out for outgoing connections: ports below it are never taken by one."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    return supervisor.port_free(host, port)


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports, below the ephemeral range: a port picked by binding
    port 0 is an ephemeral one, which the many connections of a starting profile (to PostgreSQL, Redis, the
    Rasa processes) may take as their local port before haproxy binds it."""
    for _ in range(200):
        base = random.randrange(20000, ephemeral_start() - count)
        if all(port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports")


def missing_parts() -> list[str]:
    """What `make prod-install` would install: empty when the profile can run here."""
    missing = [b for b in ("haproxy", "redis-server") if not shutil.which(b)]
    return missing + ([] if (prod.PG_BIN / "postgres").exists() else ["postgresql-15"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours is gone for every purpose but the process table
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class ProdSandbox:
    """`start()` returns once the supervisor says the profile is running; `env` is what every child sees."""

    def __init__(self, model: Path, rasa_processes: int | None = None, workers: int | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        # Not under pytest's tmp dir or a private temp dir: PostgreSQL runs as the `postgres` user.
        self.workdir = Path(tempfile.mkdtemp(prefix="desk-prod-"))
        self.workdir.chmod(0o755)
        counts = {"RASA_PROCESSES": rasa_processes, "WORKERS": workers}
        counts = {k: str(v) for k, v in counts.items() if v}
        self.env = {
            **os.environ,
            "DESK_HOST": "127.0.0.1",
            "VAR_DIR": str(self.workdir), "LOG_DIR": str(self.workdir / "log"),
            "PG_DATA": str(self.workdir / "pgdata"), "MODEL_DIR": str(model.parent),
            "PG_HOST": "127.0.0.1", "REDIS_HOST": "127.0.0.1",
            # the profile's default turns REST off without a token: callers of this sandbox talk REST with it
            "REST_TOKEN": secrets.token_urlsafe(24),
            "PYTHONPATH": str(settings.ROOT),
            **counts,
            **(extra_env or {}),
        }
        for name in ("DB_URL", "CATALOG_DB_URL", "TRACKER_DB", "REST_CHANNEL", "SITE_ORIGIN", "TRUSTED_PROXIES"):
            self.env.pop(name, None)
        self.conf = self._settings()
        internal = self.conf.rasa_processes + 2 * self.conf.workers
        base = free_port_run(len(PUBLIC_PORTS) + internal)  # one run: the public ports, then the internal ones
        self.env.update({name: str(base + i) for i, name in enumerate(PUBLIC_PORTS)})
        self.env["INTERNAL_PORT_BASE"] = str(base + len(PUBLIC_PORTS))
        self.conf = self._settings()
        self.proc: subprocess.Popen | None = None
        self.leftovers: list[str] = []

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
        return prod.db_url(self.conf)

    @property
    def rest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['REST_TOKEN']}"}

    @property
    def ports(self) -> list[int]:
        conf = self.conf
        internal = range(conf.internal_port_base,
                         conf.internal_port_base + conf.rasa_processes + 2 * conf.workers)
        return [conf.rasa_port, conf.actions_port, conf.web_port, conf.pg_port, conf.redis_port, *internal]

    @property
    def log_path(self) -> Path:
        return self.workdir / "supervisor.log"

    def start(self) -> ProdSandbox:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "ops.supervisor", "--prod"], env=self.env,
                                         cwd=settings.ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while b"is running" not in self.log_path.read_bytes():
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the production profile did not start:\n{self.tail('supervisor.log')}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the production profile not running after {START_TIMEOUT} s")
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> dict[str, int]:
        path = self.workdir / "run" / "pids.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def stop(self, remove: bool = True) -> list[str]:
        """Stop as Ctrl-C does; returns (and keeps in `leftovers`) what had to be killed or is still bound."""
        started = self.pids()  # read before the supervisor exits (the file stays, but be safe)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.leftovers.append(f"supervisor (pid {self.proc.pid}) killed")
        started.update(self.pids())
        for name, pid in started.items():
            if _alive(pid):
                self.leftovers.append(f"{name} (pid {pid}) still running: killed")
                try:
                    os.killpg(pid, signal.SIGKILL)  # each service is its own session (ops/services.Service)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10  # a port is free a moment after its process exits
        while time.monotonic() < deadline and not all(port_free(p) for p in self.ports):
            time.sleep(0.2)
        self.leftovers += [f"port {p} still bound" for p in self.ports if not port_free(p)]
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.leftovers

    def tail(self, log: str, chars: int = 3000) -> str:
        path = self.workdir / log if log == "supervisor.log" else self.conf.log_dir / log
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

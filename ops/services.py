"""How each service is started: command line and environment.

Shared by the supervisor (`make run`, `make run-prod`) and the integration-test
harness, so the tests start the services exactly as production does.  The
embedded default is one process of each; the production profile (ops/prod/)
starts `prod_servers()` (PostgreSQL, Redis), then `prod_services()`: N processes
of each service on internal ports behind haproxy on the public ones.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

import yaml

import privacy
import settings
from ops import prod

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
            # One TensorFlow thread per op: a turn's matrices are tiny, and concurrent turns are the parallelism
            # (extra intra-op threads only contend for the same cores; docs/performance.md).
            "TF_INTRA_OP_PARALLELISM_THREADS": "1",
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
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


def rasa_cmd(conf: settings.Settings, model: Path, credentials: Path, endpoints: Path = ROOT / "endpoints.yml",
             ) -> list[str]:
    cmd = [
        sys.executable, "-m", "rasa", "run",
        "--model", str(model),
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
        "--interface", conf.host,
        "--port", str(conf.rasa_port),
        "--cors", conf.allowed_origin,
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


def _scrubbed_copy(source: IO[bytes], log: Path) -> None:
    """A child's output into its log file, every line through `privacy.scrub`: whatever a child prints outside
    its log handlers (warnings, a crash before its start-up hook, a library's print) reaches no file raw."""
    with source, open(log, "ab") as out:
        for line in source:
            out.write(privacy.scrub(line.decode("utf-8", "replace")).encode("utf-8"))
            out.flush()


class Service:
    """One process: `ready` is its readiness URL or a callable; `popen` extra Popen arguments (e.g. the user)."""

    def __init__(self, name: str, cmd: list[str], env: dict, log: Path, ready_url: str | Callable[[], bool],
                 popen: dict | None = None, stop_signal: int = signal.SIGTERM):
        self.name, self.cmd, self.env, self.log, self.ready_url = name, cmd, env, log, ready_url
        self.popen, self.stop_signal = popen or {}, stop_signal
        self.proc: subprocess.Popen | None = None
        self.starts: list[float] = []

    def start(self) -> None:
        self.starts = [t for t in self.starts if time.monotonic() - t < 60] + [time.monotonic()]
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, cwd=settings.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, **self.popen,
        )
        threading.Thread(target=_scrubbed_copy, args=(self.proc.stdout, self.log), daemon=True).start()

    def ready(self) -> bool:
        if callable(self.ready_url):
            return self.ready_url()
        try:
            urllib.request.urlopen(self.ready_url, timeout=2)
            return True
        except urllib.error.HTTPError:
            return True  # it answers: the health page may still report a peer as down
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, self.stop_signal)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)


# -- production profile (`make run-prod`) ---------------------------------------------------------------------
def internal_ports(conf: settings.Settings) -> dict[str, list[int]]:
    """Each service's processes on internal ports from INTERNAL_PORT_BASE: Rasa, then actions, then web."""
    base = conf.internal_port_base
    counts = {"rasa": conf.rasa_processes, "actions": conf.workers, "web": conf.workers}
    ports, start = {}, base
    for name, count in counts.items():
        ports[name] = list(range(start, start + count))
        start += count
    return ports


def prod_servers(conf: settings.Settings, env: dict) -> list[Service]:
    """Stage one: the profile's PostgreSQL cluster (initdb'd on first use) and Redis."""
    prod.init_cluster(conf.pg_data)
    return [
        Service("postgres", prod.postgres_cmd(conf, conf.pg_data), env, conf.log_dir / "postgres.log",
                lambda: prod.pg_ready(conf), popen=prod.postgres_user(), stop_signal=signal.SIGINT),
        Service("redis", prod.redis_cmd(conf, conf.var_dir), env, conf.log_dir / "redis.log",
                lambda: prod.redis_ready(conf)),
    ]


def prod_services(conf: settings.Settings, env: dict, model: Path, credentials: Path) -> list[Service]:
    """Stage two: N processes of the action server, the web service and Rasa, and haproxy in front of them."""
    ports = internal_ports(conf)
    fleet = []
    for name, build in (
        ("actions", lambda c: actions_cmd(c)),
        ("web", lambda c: web_cmd(c)),
        ("rasa", lambda c: rasa_cmd(c, model, credentials, prod.ENDPOINTS)),
    ):
        for i, port in enumerate(ports[name]):
            # internal ports; the public origin stays the one CORS allows (not this process's own URL)
            own = dataclasses.replace(conf, rasa_port=port, actions_port=port, web_port=port,
                                      site_origin=conf.allowed_origin)
            url = readiness_urls(own)[name]
            own_env = {**env, "WEB_PORT": str(port)} if name == "web" else env  # `python -m web` reads it
            fleet.append(Service(f"{name}{i + 1}", build(own), own_env, conf.log_dir / f"{name}{i + 1}.log", url))
    config = conf.var_dir / "haproxy.cfg"
    config.write_text(prod.haproxy_config(conf, ports), encoding="utf-8")
    fleet.append(Service("haproxy", prod.haproxy_cmd(config), env, conf.log_dir / "haproxy.log",
                         lambda: prod.haproxy_all_up(conf)))
    return fleet

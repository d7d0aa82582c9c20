"""`make run`: start the action server, the Rasa server and the web/API service,
watch them, and stop them all cleanly on Ctrl-C or SIGTERM.

`make run-prod` (`--prod`): the production profile (ops/prod/, ops/services.py),
started in two stages: PostgreSQL and Redis; then, once the catalogue database
is migrated and loaded, N processes of each service and haproxy on the public
ports.  Everything is watched and stopped the same way.

- A second `make run` while one is running says so (lock file var/run.lock)
  instead of dying on a port error; a port taken by some other program is
  named before anything starts.
- Logs go to var/log/<service>.log.
- A service that dies is restarted (at most 3 times a minute, then everything
  stops with an error).  var/run/pids.json names the process of each service.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import settings
from ops import prod, services
from ops.services import Service

RESTARTS_PER_MINUTE = 3
START_TIMEOUT = 600  # per stage: N Rasa processes load their models at once; on a busy 2-core machine that took > 180 s


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


def acquire_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        sys.exit(f"筑数助手 is already running (pid {pid}); stop it with Ctrl-C or `kill {pid}` first.")
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def write_pids(fleet: list[Service], path: Path) -> None:
    """Written whole, then renamed over the old file: a reader never sees it half-written (a restarted service
    rewrites it while tools and tests read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({s.name: s.proc.pid for s in fleet if s.proc}), encoding="utf-8")
    partial.replace(path)


def bootstrap_databases(conf: settings.Settings, env: dict) -> None:
    """Production profile, between the stages: both databases exist, the catalogue is migrated and loaded."""
    for name in (prod.CATALOG_DB, prod.TRACKER_DB):
        prod.create_database(conf, name)
    catalog = [str(settings.ROOT / "data/catalog" / f) for f in ("departments.jsonl", "guiyang_catalog.jsonl")]
    for args in (["migrate"], ["load", *catalog]):
        subprocess.run([sys.executable, "-m", "catalog_index", *args], env=env, cwd=settings.ROOT, check=True,
                       stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prod", action="store_true", help="the production profile (PostgreSQL, Redis, haproxy)")
    args = parser.parse_args(argv)
    conf = settings.get()
    lock = acquire_lock(conf.var_dir / "run.lock")  # noqa: F841 (held until exit)
    model = settings.get().model_path
    if not model.exists():
        sys.exit(f"no trained model at {model}: run `make train` first")
    ports = [conf.rasa_port, conf.actions_port, conf.web_port]
    if args.prod:
        ports += [conf.pg_port, conf.redis_port, *sum(services.internal_ports(conf).values(), [])]
    busy = [p for p in ports if not port_free(conf.host, p)]
    if busy:
        sys.exit(f"port(s) {busy} on {conf.host} are in use by another program; "
                 "free them or set RASA_PORT / ACTIONS_PORT / WEB_PORT"
                 + (" / PG_PORT / REDIS_PORT / INTERNAL_PORT_BASE" if args.prod else ""))
    conf.log_dir.mkdir(parents=True, exist_ok=True)
    env = services.child_env(conf, prod.server_env(conf) if args.prod else None)
    credentials = services.write_credentials(conf, conf.var_dir / "credentials.runtime.yml")
    if args.prod:
        stages = [lambda: services.prod_servers(conf, env),
                  lambda: services.prod_services(conf, env, model, credentials)]
        between = [lambda: bootstrap_databases(conf, env)]
    else:
        urls = services.readiness_urls(conf)
        stages = [lambda: [
            Service("actions", services.actions_cmd(conf), env, conf.log_dir / "actions.log", urls["actions"]),
            Service("rasa", services.rasa_cmd(conf, model, credentials), env, conf.log_dir / "rasa.log",
                    urls["rasa"]),
            Service("web", services.web_cmd(conf), env, conf.log_dir / "web.log", urls["web"]),
        ]]
        between = []
    fleet: list[Service] = []

    stopping = False  # a signal asked us to stop, or a service failed
    failed = False  # exit status 1: a service did not start or kept dying (Ctrl-C while starting is not a failure)

    def on_signal(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    pids = conf.var_dir / "run" / "pids.json"
    print(f"starting services, logs in {conf.log_dir} …", flush=True)
    for number, stage in enumerate(stages):
        if stopping:
            break
        try:
            pending = stage()
        except Exception as exc:  # noqa: BLE001 - reported; the services already started are stopped below
            print(f"could not set up the services: {exc!r}", file=sys.stderr)
            stopping = failed = True
            break
        fleet += pending
        for service in pending:
            service.start()
        write_pids(fleet, pids)
        deadline = time.monotonic() + START_TIMEOUT
        while pending and not stopping and time.monotonic() < deadline:
            pending = [s for s in pending if not s.ready()]
            dead = [s for s in pending if s.proc.poll() is not None]
            if dead:
                last = dead[0].log.read_text(errors="replace")[-1500:] if dead[0].log.exists() else ""
                print(f"{dead[0].name} failed to start; see {dead[0].log}:\n{last}", file=sys.stderr)
                stopping = failed = True
            time.sleep(0.5)
        if pending and not stopping:
            print(f"timed out waiting for {[s.name for s in pending]}", file=sys.stderr)
            stopping = failed = True
        if not stopping and number < len(between):
            try:
                between[number]()
            except (subprocess.CalledProcessError, OSError) as exc:
                print(f"setting up the databases failed: {exc}", file=sys.stderr)
                stopping = failed = True
    if not stopping:
        print(f"筑数助手 is running{' (production profile)' if args.prod else ''}:\n"
              f"  chat page   {conf.web_url}/\n  health      {conf.web_url}/api/health\n"
              f"  Rasa        {conf.rasa_url} (REST: /webhooks/rest/webhook)\n  actions     {conf.actions_url}\n"
              "Ctrl-C stops everything.", flush=True)
    while not stopping:
        time.sleep(0.5)
        for service in fleet:
            if service.proc.poll() is not None and not stopping:
                if len(service.starts) >= RESTARTS_PER_MINUTE:
                    print(f"{service.name} keeps dying; stopping. See {service.log}", file=sys.stderr)
                    stopping = failed = True
                    break
                print(f"{service.name} exited with {service.proc.returncode}; restarting", file=sys.stderr)
                service.start()
                write_pids(fleet, pids)
    print("stopping …", flush=True)
    servers = [s for s in fleet if s.name in ("postgres", "redis")]  # last, once their clients are gone
    for service in fleet:
        if service not in servers:
            service.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(s.proc and s.proc.poll() is None for s in fleet if s not in servers):
        time.sleep(0.2)
    for service in servers:
        service.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(s.proc and s.proc.poll() is None for s in fleet):
        time.sleep(0.2)
    for service in fleet:
        service.kill()
    print("stopped.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make load`: conversations per second through the REST channel: the embedded default, the production profile
and a stock `rasa init` bot, one after the other, each alone on the machine.

Each virtual user runs one conversation of six turns (greeting, search, next page, a Measures question, thanks,
goodbye) with a fresh sender id, again and again, for a bounded time; `--pause` seconds between turns model a
person typing. For every target and every concurrency level the table gives turns/s, p50/p95/p99 latency and the
errors (HTTP errors, time-outs, and empty replies: every message must get an answer).

Targets (default: all three in one run, on this machine's loopback only, on free ports and private directories):
- `embedded`: the desk as `make run` starts it (tests/harness.py: SQLite, one process of each service);
- `prod`: the production profile as `make run-prod` starts it (ops/prod/sandbox.py: `ops.supervisor --prod` with
  PostgreSQL 15, Redis, haproxy, RASA_PROCESSES Rasa processes; REST behind a token made for the run);
- `stock`: a `rasa init` project trained on the spot in a temporary folder, run with `rasa run` (the reference);
- `url=http://127.0.0.1:5005`: anything already running (`--token` if its REST channel wants one).

A target is stopped before the next one starts, and the run checks that it left no process and no bound port
behind (it fails otherwise).  Every request loop is bounded in count and time and stops by itself; starting a
target is bounded too (ten minutes).  Each row carries the 1-minute load average when it ended: other work on the
machine shows there.  At the end: the ratios to the stock bot at the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

DESK_SCRIPT = ["你好", "我想找公交站点的数据", "下一页", "共享和开放有什么区别", "谢谢", "再见"]
STOCK_SCRIPT = ["hello", "I am sad", "yes", "are you a bot?", "great", "bye"]


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    turns: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _user(session: aiohttp.ClientSession, url: str, script: list[str], pause: float, stop_at: float,
                run: Run, max_turns: int, headers: dict[str, str]) -> None:
    while time.monotonic() < stop_at and run.turns < max_turns:
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for text in script:
            if time.monotonic() >= stop_at or run.turns >= max_turns:
                return
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                        headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                    body = await resp.json(content_type=None) if resp.status == 200 else None
                ok = bool(body)  # an empty list is a silent turn: an error for a user
            except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError):
                ok = False
            run.turns += 1
            run.latencies.append((time.perf_counter() - started) * 1000)
            run.errors += not ok
            if pause:
                await asyncio.sleep(pause)


async def measure(url: str, script: list[str], users: int, seconds: float, pause: float,
                  headers: dict[str, str] | None = None, max_turns: int = 100_000) -> tuple[Run, float]:
    run, headers = Run(), headers or {}
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as session:
        for text in script:  # warm-up, not timed
            async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": "warm-up", "message": text},
                                    headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{url} answers {resp.status} to the warm-up: {await resp.text()}")
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(_user(session, url, script, pause, stop_at, run, max_turns, headers)
                               for _ in range(users)))
        return run, time.monotonic() - started


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url + "/", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def _port_free(port: int) -> bool:
    from ops.prod.sandbox import port_free

    deadline = time.monotonic() + 10  # a port is free a moment after its process exits
    while not port_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


class Target:
    """A server to measure: `with target as (url, headers)`; `leftovers` after exit names what it left behind."""

    script = DESK_SCRIPT
    leftovers: list[str]

    def root_pids(self) -> list[int]:
        """The processes this target started (their descendants are its servers too): for benchmarks.cpu_turns."""
        return [proc.pid for proc in getattr(self, "procs", [])]

    def _check(self, ports: list[int], procs: list[subprocess.Popen]) -> None:
        self.leftovers = [f"pid {proc.pid} still running" for proc in procs if proc.poll() is None]
        self.leftovers += [f"port {port} still bound" for port in ports if not _port_free(port)]


class StockBot(Target):
    """`rasa init --no-prompt` in a temporary folder, trained and served on a free port."""

    script = STOCK_SCRIPT

    def __init__(self) -> None:
        from tests.harness import free_port

        self.dir = Path(tempfile.mkdtemp(prefix="stock-bot-"))
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> tuple[str, dict]:
        rasa = [sys.executable, "-m", "rasa"]
        subprocess.run(rasa + ["init", "--no-prompt", "--init-dir", str(self.dir)], check=True, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)  # init also trains
        with open(self.dir / "rasa.log", "ab") as log:
            self.procs.append(subprocess.Popen(
                rasa + ["run", "--port", str(self.port), "--interface", "127.0.0.1"], cwd=self.dir, stdout=log,
                stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{self.port}"
        try:
            _wait_ready(url, self.procs[-1])
        except BaseException:
            self.__exit__()
            raise
        return url, {}

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._check([self.port], self.procs)
        shutil.rmtree(self.dir, ignore_errors=True)


class EmbeddedDesk(Target):
    def __enter__(self) -> tuple[str, dict]:
        from tests.harness import Desk

        self.desk = Desk(Path(tempfile.mkdtemp(prefix="load-desk-")))
        self.desk.load_catalog()
        self.desk.start("actions", "rasa")
        self.procs = [service.proc for service in self.desk._services.values()]
        return self.desk.rasa_url, {}

    def __exit__(self, *exc: object) -> None:
        self.desk.stop()
        self._check([self.desk.conf.rasa_port, self.desk.conf.actions_port], self.procs)
        shutil.rmtree(self.desk.workdir, ignore_errors=True)


class ProdProfile(Target):
    def __init__(self, model: Path | None = None, **sandbox: object) -> None:
        self.model, self.options = model, sandbox  # model: a trained model to use as it is (default: ensure_model)

    def __enter__(self) -> tuple[str, dict]:
        from ops.prod.sandbox import ProdSandbox, missing_parts
        from ops.train import ensure_model

        if missing_parts():
            raise SystemExit(f"the production profile needs {missing_parts()}: run `make prod-install`")
        self.sandbox = ProdSandbox(self.model or ensure_model(), **self.options).start()
        return self.sandbox.conf.rasa_url, self.sandbox.rest_headers

    def __exit__(self, *exc: object) -> None:
        self.leftovers = self.sandbox.stop()

    def root_pids(self) -> list[int]:
        return [self.sandbox.proc.pid]


class Running(Target):
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def __enter__(self) -> tuple[str, dict]:
        return self.url, {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def __exit__(self, *exc: object) -> None:
        self.leftovers = []


@dataclass
class Row:
    target: str
    users: int
    pause: float
    run: Run
    elapsed: float
    load: float  # 1-minute load average when the cell ended

    @property
    def rate(self) -> float:
        return self.run.turns / self.elapsed if self.elapsed else 0.0

    def line(self) -> str:
        lat = self.run.latencies
        return (f"{self.target[:12]:<12}{self.users:>6}{self.pause:>8.1f}{self.run.turns:>7}{self.rate:>9.1f}"
                f"{percentile(lat, .5):>8.0f}{percentile(lat, .95):>8.0f}{percentile(lat, .99):>8.0f}"
                f"{self.run.errors:>7}{self.load:>7.2f}")


HEADER = (f"{'target':<12}{'users':>6}{'pause s':>8}{'turns':>7}{'turns/s':>9}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'p99 ms':>8}{'errors':>7}{'load1':>7}")


def ratios(rows: list[Row]) -> list[str]:
    """Each target's turns/s over the stock bot's at the same users and pause (the issue's yardstick: prod vs
    stock at 20 users, no pause; embedded vs stock)."""
    stock = {(r.users, r.pause): r for r in rows if r.target == "stock"}
    lines = []
    for row in rows:
        ref = stock.get((row.users, row.pause))
        if row.target != "stock" and ref and ref.rate:
            lines.append(f"{row.target} / stock, {row.users} users, pause {row.pause:g} s: {row.rate / ref.rate:.2f}x "
                         f"({row.rate:.1f} vs {ref.rate:.1f} turns/s; p99 {percentile(row.run.latencies, .99):.0f} vs "
                         f"{percentile(ref.run.latencies, .99):.0f} ms)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["embedded", "prod", "stock"],
                        help="embedded, prod, stock, or url=http://host:port (default: embedded prod stock)")
    parser.add_argument("--users", default="1,20,50", help="concurrent conversations, comma-separated")
    parser.add_argument("--seconds", type=float, default=30, help="measured time per cell")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between a user's turns")
    parser.add_argument("--paused-users", type=int, default=20,
                        help="also measure this many users with a 1-second pause (0: skip)")
    parser.add_argument("--token", default="", help="REST token of a url= target")
    args = parser.parse_args()
    users = [int(u) for u in args.users.split(",") if u]
    builders = {"embedded": EmbeddedDesk, "prod": ProdProfile, "stock": StockBot}
    for target in args.targets:
        if target not in builders and not target.startswith("url="):
            parser.error(f"unknown target {target!r}")
    print(HEADER, flush=True)
    rows: list[Row] = []
    for target in args.targets:
        ctx = builders[target]() if target in builders else Running(target[4:], args.token)
        with ctx as (url, headers):
            cells = [(n, args.pause) for n in users]
            if args.paused_users:
                cells.append((args.paused_users, 1.0))
            for n, pause in cells:
                run, elapsed = asyncio.run(measure(url, ctx.script, n, args.seconds, pause, headers))
                rows.append(Row(target if target in builders else "url", n, pause, run, elapsed, os.getloadavg()[0]))
                print(rows[-1].line(), flush=True)
        if ctx.leftovers:
            raise SystemExit(f"{target} left something behind: {ctx.leftovers}")
    print("\n" + "\n".join(ratios(rows)), flush=True)


if __name__ == "__main__":
    main()

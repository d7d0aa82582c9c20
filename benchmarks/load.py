"""`make load`: conversations per second through the REST channel, side by side with a stock `rasa init` bot.

Each virtual user runs one conversation of six turns (greeting, search, next page, a Measures question, thanks,
goodbye) with a fresh sender id, again and again, for a bounded time; `--pause` seconds between turns model a
person typing. For every target and every concurrency level the table gives turns/s, p50/p95/p99 latency and the
errors (HTTP errors, time-outs, and empty replies: every message must get an answer).

Targets (all in one run, on this machine's loopback only):
- `embedded`: the desk as `make run` starts it (tests/harness.py: SQLite, one process of each service);
- `stock`: a `rasa init` project trained on the spot in a temporary folder, run with `rasa run` (the reference);
- `url=http://127.0.0.1:5005`: anything already running, e.g. the production profile (`make run-prod`).

Every request loop is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
                run: Run, max_turns: int) -> None:
    while time.monotonic() < stop_at and run.turns < max_turns:
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for text in script:
            if time.monotonic() >= stop_at or run.turns >= max_turns:
                return
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                        timeout=aiohttp.ClientTimeout(total=30)) as resp:
                    body = await resp.json(content_type=None) if resp.status == 200 else None
                ok = bool(body)  # an empty list is a silent turn: an error for a user
            except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError):
                ok = False
            run.turns += 1
            run.latencies.append((time.perf_counter() - started) * 1000)
            run.errors += not ok
            if pause:
                await asyncio.sleep(pause)


async def measure(url: str, script: list[str], users: int, seconds: float, pause: float) -> tuple[Run, float]:
    run = Run()
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as session:
        for text in script:  # warm-up, not timed
            async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": "warm-up", "message": text}):
                pass
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(_user(session, url, script, pause, stop_at, run, max_turns=100_000)
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


class StockBot:
    """`rasa init --no-prompt` in a temporary folder, trained and served on a free port."""

    def __init__(self) -> None:
        from tests.harness import free_port

        self.dir = Path(tempfile.mkdtemp(prefix="stock-bot-"))
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> str:
        rasa = [sys.executable, "-m", "rasa"]
        subprocess.run(rasa + ["init", "--no-prompt", "--init-dir", str(self.dir)], check=True, cwd=self.dir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # init also trains
        log = open(self.dir / "rasa.log", "ab")
        self.procs.append(subprocess.Popen(rasa + ["run", "--port", str(self.port), "--interface", "127.0.0.1"],
                                           cwd=self.dir, stdout=log, stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{self.port}"
        _wait_ready(url, self.procs[-1])
        return url

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


class EmbeddedDesk:
    def __enter__(self) -> str:
        from tests.harness import Desk

        self.desk = Desk(Path(tempfile.mkdtemp(prefix="load-desk-")))
        self.desk.load_catalog()
        self.desk.start("actions", "rasa")
        return self.desk.rasa_url

    def __exit__(self, *exc: object) -> None:
        self.desk.stop()


class Running:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["embedded", "stock"],
                        help="embedded, stock, or url=http://host:port (default: embedded stock)")
    parser.add_argument("--users", default="1,20,50", help="concurrent conversations, comma-separated")
    parser.add_argument("--seconds", type=float, default=30, help="measured time per cell")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between a user's turns")
    parser.add_argument("--paused-users", type=int, default=20,
                        help="also measure this many users with a 1-second pause (0: skip)")
    args = parser.parse_args()
    users = [int(u) for u in args.users.split(",") if u]
    print(f"{'target':<12}{'users':>6}{'pause s':>8}{'turns':>7}{'turns/s':>9}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'p99 ms':>8}{'errors':>7}", flush=True)
    for target in args.targets:
        if target == "embedded":
            ctx, script = EmbeddedDesk(), DESK_SCRIPT
        elif target == "stock":
            ctx, script = StockBot(), STOCK_SCRIPT
        elif target.startswith("url="):
            ctx, script = Running(target[4:]), DESK_SCRIPT
        else:
            parser.error(f"unknown target {target!r}")
        with ctx as url:
            cells = [(n, args.pause) for n in users]
            if args.paused_users:
                cells.append((args.paused_users, 1.0))
            for n, pause in cells:
                run, elapsed = asyncio.run(measure(url, script, n, args.seconds, pause))
                lat = run.latencies
                print(f"{target[:12]:<12}{n:>6}{pause:>8.1f}{run.turns:>7}{run.turns / elapsed:>9.1f}"
                      f"{percentile(lat, .5):>8.0f}{percentile(lat, .95):>8.0f}{percentile(lat, .99):>8.0f}"
                      f"{run.errors:>7}", flush=True)


if __name__ == "__main__":
    main()

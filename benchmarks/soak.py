"""Soak test: many conversations at once for a fixed time (`make soak`).

`python -m benchmarks.soak [--conversations 20] [--minutes 10]` (`make soak SOAK_MINUTES=2` for a short run) starts the real action server and Rasa server (tests/harness.py: temporary databases, free ports), then
runs the conversations in parallel through the REST channel until the time is up: each one plays a script (FAQ,
search, a detail, a data request filled in and cancelled, a long message, small talk) again and again with a
short think time.  Every minute it prints the turns, errors (HTTP failures, empty replies, the busy reply) and
latency (p50/p95/max), and the resident memory of each service process (psutil when installed, else /proc).
Bounded: every request has a timeout and the run stops at the deadline whatever happens.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bot.channels.intake import BUSY_TEXT
from tests.harness import Desk

SCRIPT = [
    "你好",
    "贵阳市政府数据共享开放实施办法是什么",
    "我想找公交站点的数据",
    "第一个",
    "花溪区的学校名单",
    "我要申请数据",
    "花溪区共享单车停放点的位置和数量",
    "取消",
    "政府数据是指什么",
    "我家附近的公交车总是晚点，等了很久也不来。" * 60 + "请问哪里能找到公交实时到站数据？",
    "谢谢",
]
THINK_SECONDS = (0.5, 2.0)


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Soak:
    def __init__(self, desk: Desk, conversations: int, seconds: float) -> None:
        self.desk, self.conversations, self.seconds = desk, conversations, seconds
        self.minutes: dict[int, Minute] = {}
        self.lock = threading.Lock()
        self.started = 0.0

    def record(self, latency: float | None, error: str | None) -> None:
        with self.lock:
            minute = self.minutes.setdefault(int((time.monotonic() - self.started) // 60), Minute())
            if latency is not None:
                minute.latencies.append(latency)
            if error:
                minute.error(error)

    def conversation(self, number: int, deadline: float) -> None:
        rng = random.Random(number)
        sender = f"soak-{number}-{uuid.uuid4().hex[:8]}"
        step = rng.randrange(len(SCRIPT))
        while time.monotonic() < deadline:
            text = SCRIPT[step % len(SCRIPT)]
            step += 1
            began = time.perf_counter()
            try:
                replies = [m.get("text") or "" for m in self.desk.say(sender, text)]
                error = "empty reply" if not any(replies) else "busy reply" if BUSY_TEXT in replies else None
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the soak
                error = type(exc).__name__
            self.record((time.perf_counter() - began) * 1000, error)
            time.sleep(min(rng.uniform(*THINK_SECONDS), max(0.0, deadline - time.monotonic())))

    def run(self) -> None:
        self.started = time.monotonic()
        deadline = self.started + self.seconds
        workers = [threading.Thread(target=self.conversation, args=(i, deadline), daemon=True)
                   for i in range(self.conversations)]
        for worker in workers:
            worker.start()
        print(f"{'min':>4}{'turns':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  memory (RSS MB)  errors by kind")
        reported = 0
        while any(worker.is_alive() for worker in workers):
            time.sleep(1)
            done = int((time.monotonic() - self.started) // 60)
            while reported < done:
                self.report(reported)
                reported += 1
        for worker in workers:
            worker.join(60)  # a request in flight at the deadline ends within its timeout
        while reported in self.minutes:
            self.report(reported)
            reported += 1
        self.summary()

    def report(self, index: int) -> None:
        with self.lock:
            minute = self.minutes.get(index, Minute())
        lat = minute.latencies or [0.0]
        memory = " ".join(f"{name}={mb:.0f}" for name, mb in self.memory().items())
        print(f"{index + 1:>4}{len(minute.latencies):>7}{sum(minute.errors.values()):>8}"
              f"{percentile(lat, .5):>9.0f}{percentile(lat, .95):>9.0f}{max(lat):>9.0f}  {memory}  "
              f"{minute.errors or ''}", flush=True)

    def summary(self) -> None:
        lat = [x for m in self.minutes.values() for x in m.latencies] or [0.0]
        errors = sum(sum(m.errors.values()) for m in self.minutes.values())
        print(f"total: {len(lat)} turns by {self.conversations} conversations in {self.seconds / 60:.1f} min, "
              f"{errors} errors, p50 {percentile(lat, .5):.0f} ms, p95 {percentile(lat, .95):.0f} ms, "
              f"mean {statistics.mean(lat):.0f} ms")

    def memory(self) -> dict[str, float]:
        """RSS in MB of each service, its child processes included."""
        return {name: sum(rss_mb(pid) for pid in process_tree(service.proc.pid))
                for name, service in self.desk._services.items() if service.proc and service.proc.poll() is None}


def process_tree(pid: int) -> list[int]:
    try:
        import psutil
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - the process just ended
        return []
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    desk = Desk(Path(tempfile.mkdtemp(prefix="soak-")))
    desk.load_catalog()
    desk.start("actions", "rasa")
    try:
        print(f"soak: {args.conversations} conversations for {args.minutes:g} min against {desk.rasa_url}", flush=True)
        Soak(desk, args.conversations, args.minutes * 60).run()
        print(f"service logs: {desk.conf.log_dir}")
    finally:
        desk.stop()


if __name__ == "__main__":
    main()

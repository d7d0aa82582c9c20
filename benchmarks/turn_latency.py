"""Single-turn latency through the REST channel (one user at a time).

`python -m benchmarks.turn_latency [--turns 40]` starts the real action server
and Rasa server (tests/harness.py: temporary databases, free ports), warms
them up, then times FAQ turns and search turns and prints p50/p99 in ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from tests.harness import Desk

KINDS = {
    "FAQ (ResponseSelector)": ["贵阳市政府数据共享开放实施办法是什么", "办法什么时候开始施行的", "政府数据是指什么"],
    "dataset search (action)": ["我想找公交站点的数据", "花溪区的学校名单", "有API的交通数据"],
    "greeting (rule)": ["你好"],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=40, help="timed turns per kind")
    args = parser.parse_args()
    desk = Desk(Path(tempfile.mkdtemp(prefix="bench-")))
    desk.load_catalog()
    desk.start("actions", "rasa")
    try:
        for text in [t for texts in KINDS.values() for t in texts]:
            desk.say("warm-up", text)
        print(f"{'turn kind':<26}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
        for kind, texts in KINDS.items():
            timings = []
            for i in range(args.turns):
                sender = f"bench-{uuid.uuid4().hex[:8]}"
                started = time.perf_counter()
                desk.say(sender, texts[i % len(texts)])
                timings.append((time.perf_counter() - started) * 1000)
            print(f"{kind:<26}{len(timings):>5}{percentile(timings, .5):>9.0f}{percentile(timings, .99):>9.0f}"
                  f"{statistics.mean(timings):>9.0f}")
    finally:
        desk.stop()


if __name__ == "__main__":
    main()

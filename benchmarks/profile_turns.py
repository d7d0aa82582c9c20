"""`make profile`: where the Rasa server's CPU goes during a conversation load, as a table by component.

Starts the desk (tests/harness.py), runs `benchmarks.load` against it (20 conversations, no pause) while py-spy
samples the Rasa process, then sorts every sampled stack into the first component whose marker it contains.
py-spy is a developer tool, not a dependency: `pip install py-spy` (any Python) puts it on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.load import DESK_SCRIPT, measure

# (component, markers): a stack belongs to the first component with a marker in it (most specific first).
COMPONENTS = [
    ("action response validation (jsonschema)", ["jsonschema"]),
    ("tracker store (SQL load/save)", ["tracker_store.py", "sqlalchemy"]),
    ("DIETClassifier", ["diet_classifier.py"]),
    ("ResponseSelector", ["response_selector.py"]),
    ("TEDPolicy", ["ted_policy.py"]),
    ("RulePolicy / Memoization", ["rule_policy.py", "memoization.py"]),
    ("featurizers + tokenizer", ["featurizer", "tokenizer", "jieba"]),
    ("other NLU / policy graph", ["rasa/engine/", "rasa/nlu/", "rasa/core/policies/"]),
    ("action server call (HTTP client, JSON)", ["rasa/utils/endpoints.py", "aiohttp/client", "json/encoder",
                                               "json/decoder", "rasa/core/actions/action.py"]),
    ("tracker replay / events", ["rasa/shared/core/trackers.py", "rasa/shared/core/events.py",
                                 "rasa/shared/core/domain.py"]),
    ("channel + HTTP server (sanic)", ["sanic", "rasa/core/channels"]),
    ("TensorFlow (other)", ["tensorflow"]),
]


def classify(stack: str) -> str:
    for name, markers in COMPONENTS:
        if any(marker in stack for marker in markers):
            return name
    return "other (event loop, idle, python)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    py_spy = shutil.which("py-spy")
    if not py_spy:
        sys.exit("py-spy is not on PATH: pip install py-spy")
    from tests.harness import Desk

    desk = Desk(Path(tempfile.mkdtemp(prefix="profile-desk-")))
    desk.load_catalog()
    desk.start("actions", "rasa")
    out = desk.workdir / "rasa.collapsed"
    try:
        pid = desk._services["rasa"].proc.pid
        spy = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
                                "--duration", str(int(args.seconds)), "--rate", "200", "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run, elapsed = asyncio.run(measure(desk.rasa_url, DESK_SCRIPT, args.users, args.seconds, 0.0))
        spy.wait(60)
    finally:
        desk.stop()
    samples: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[classify(stack)] += int(count)
    total = sum(samples.values()) or 1
    cpu_ms = total / 200 * 1000 / max(run.turns, 1)
    print(f"{run.turns} turns in {elapsed:.0f} s ({run.turns / elapsed:.1f} turns/s, {run.errors} errors); "
          f"sampled Rasa time ≈ {cpu_ms:.0f} ms per turn (idle included)")
    print(f"{'component':<44}{'share':>8}")
    for name, count in samples.most_common():
        print(f"{name:<44}{count / total:>8.1%}")


if __name__ == "__main__":
    main()

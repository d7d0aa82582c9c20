"""`make profile`: where the Rasa server's CPU goes during a conversation load, as a table by component.

Starts the desk (tests/harness.py), or with `--prod MODEL` the production profile (ops/prod/sandbox.py: two Rasa
processes, PostgreSQL tracker store, Redis lock store), runs `benchmarks.load` against it (20 conversations, no
pause) while py-spy samples one Rasa process, only the thread holding the GIL (waits on sockets, PostgreSQL and
Redis, and the idle event loop, release it and are left out), then sorts every sampled stack into the first
component whose marker it contains.  The raw samples stay in the printed file.  py-spy is a developer tool, not a
dependency: `pip install py-spy` (any Python) puts it on PATH.
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

from benchmarks.cpu_turns import cmdline, descendants, group_of
from benchmarks.load import DESK_SCRIPT, EmbeddedDesk, ProdProfile, measure

# (component, markers): a stack belongs to the first component with a marker in it (most specific first).
COMPONENTS = [
    ("action response validation (jsonschema)", ["jsonschema"]),
    ("lock store (Redis)", ["lock_store.py", "rasa/core/lock.py", "redis/", "bot/stores.py"]),
    ("tracker store (SQL load/save)", ["tracker_store", "sqlalchemy", "psycopg"]),
    ("DIETClassifier", ["diet_classifier.py"]),
    ("ResponseSelector", ["response_selector.py"]),
    ("TEDPolicy", ["ted_policy.py"]),
    ("RulePolicy / Memoization", ["rule_policy.py", "memoization.py"]),
    ("tokenizer (jieba)", ["tokenizer", "jieba"]),
    ("featurizers (regex, count vectors)", ["featurizer"]),
    ("other NLU / policy graph", ["rasa/engine/", "rasa/nlu/", "rasa/core/policies/", "bot/normalizer.py",
                                  "bot/unknown_words.py"]),
    ("logging", ["logging/__init__.py", "structlog"]),
    ("actions run (remote call: HTTP client, JSON; responses)", ["rasa/utils/endpoints.py", "aiohttp/client",
                                                                 "json/encoder", "json/decoder",
                                                                 "rasa/core/actions/action.py"]),
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
    parser.add_argument("--prod", type=Path, metavar="MODEL", help="profile one Rasa process of the production "
                        "profile running this trained model (default: the embedded desk)")
    parser.add_argument("--stacks", type=int, default=0, help="also print the N most sampled leaf functions")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy")
    if not py_spy:
        sys.exit("py-spy is not on PATH: pip install py-spy")
    out = Path(tempfile.mkdtemp(prefix="profile-")) / "rasa.collapsed"
    target = ProdProfile(args.prod) if args.prod else EmbeddedDesk()
    with target as (url, headers):
        if args.prod:  # the whole load spreads over the Rasa processes: count only the profiled one's turns
            rasa = sorted(p for p in descendants(target.root_pids()) if group_of(cmdline(p)) == "rasa")
            pid, share = rasa[0], 1 / len(rasa)
            asyncio.run(measure(url, DESK_SCRIPT, args.users, 600, 0.0, headers,
                                max_turns=args.users * len(DESK_SCRIPT)))  # warm every process up
        else:
            pid, share = target.desk._services["rasa"].proc.pid, 1.0
        spy = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
                                "--duration", str(int(args.seconds)), "--rate", "200", "--nonblocking", "--gil"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run, elapsed = asyncio.run(measure(url, DESK_SCRIPT, args.users, args.seconds, 0.0, headers))
        spy.wait(60)
    samples: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[classify(stack)] += int(count)
            leaves[stack.rsplit(";", 1)[-1]] += int(count)
    total = sum(samples.values()) or 1
    cpu_ms = total / 200 * 1000 / max(run.turns * share, 1)
    print(f"{run.turns} turns in {elapsed:.0f} s ({run.turns / elapsed:.1f} turns/s, {run.errors} errors); "
          f"sampled time of the profiled Rasa process ≈ {cpu_ms:.1f} ms per turn it served (GIL held); samples in "
          f"{out}")
    print(f"{'component':<44}{'share':>8}{'ms/turn':>9}")
    for name, count in samples.most_common():
        print(f"{name:<44}{count / total:>8.1%}{count / total * cpu_ms:>9.2f}")
    for leaf, count in leaves.most_common(args.stacks):
        print(f"{count / total:>6.1%}  {leaf}")


if __name__ == "__main__":
    main()

"""CPU milliseconds per turn, by process group: where a target's CPU goes, robust to other work on the machine.

Wall-clock throughput (`make load`) moves with whatever else runs on the 2 cores; the CPU time a target's own
processes use per turn does not, much.  This starts a target as `benchmarks.load` does (the production profile,
the embedded default or the stock `rasa init` bot), warms every process up, reads the CPU time of every process
the target started (utime + stime of /proc/<pid>/stat, plus cutime + cstime: a PostgreSQL backend that exits is
counted in the postmaster), drives a fixed number of turns of the load script at N users with no pause, reads
them again, and prints ms of CPU per turn for each group of processes (Rasa, action servers, web, PostgreSQL by
database, Redis, haproxy, the supervisor that copies the services' logs) and for the load generator itself.

    python -m benchmarks.cpu_turns prod stock [--turns 1200] [--users 20] [--repeat 2]

A table for people: nothing asserts timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.load import EmbeddedDesk, ProdProfile, StockBot, Target, measure

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
# (group, test on the command line), first match wins; a process that matches none is "other".
GROUPS = [
    ("postgres tracker", lambda c: c.startswith("postgres: ") and " desk_tracker " in c),
    ("postgres desk", lambda c: c.startswith("postgres: ") and " desk " in c),
    ("postgres other", lambda c: "postgres" in c.split(" ", 1)[0]),
    ("redis", lambda c: "redis-server" in c),
    ("haproxy", lambda c: c.startswith("haproxy")),
    ("rasa", lambda c: " rasa run " in f" {c} " or "-m rasa run" in c),
    ("actions", lambda c: "-m actions" in c),
    ("web", lambda c: "-m web" in c),
    ("supervisor", lambda c: "ops.supervisor" in c),
]


def _stat(pid: int) -> tuple[int, list[str]] | None:
    """(parent pid, fields after the command name) of a live process; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def group_of(cmdline: str) -> str:
    return next((name for name, test in GROUPS if test(cmdline)), "other")


def descendants(roots: list[int]) -> set[int]:
    """`roots` and every process below them."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))):
            children[stat[0]].append(int(entry))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def cpu_by_group(roots: list[int]) -> dict[str, float]:
    """ms of CPU each group of the target's processes has used so far (their reaped children included)."""
    totals: dict[str, float] = defaultdict(float)
    for pid in descendants(roots):
        stat = _stat(pid)
        if stat is None:
            continue
        fields = stat[1]  # fields[11:15]: utime stime cutime cstime (stat fields 14-17)
        totals[group_of(cmdline(pid))] += sum(int(v) for v in fields[11:15]) * TICK_MS
    return totals


def _self_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def measure_cpu(target: Target, url: str, headers: dict, users: int, turns: int) -> tuple[dict[str, float], float,
                                                                                               int]:
    """ms of CPU per turn by group, turns/s, errors of `turns` turns at `users` users (after a warm-up)."""
    roots = target.root_pids()
    # Warm-up: every user's conversation, so that each process behind the proxy has served whole scripts.
    asyncio.run(measure(url, target.script, users, 600, 0.0, headers, max_turns=users * len(target.script)))
    before, self_before = cpu_by_group(roots), _self_ms()
    started = time.monotonic()
    run, _ = asyncio.run(measure(url, target.script, users, 3600, 0.0, headers, max_turns=turns))
    elapsed = time.monotonic() - started
    after, self_after = cpu_by_group(roots), _self_ms()
    per_turn = {name: (after.get(name, 0.0) - before.get(name, 0.0)) / run.turns for name in after}
    per_turn["load generator"] = (self_after - self_before) / run.turns
    return per_turn, run.turns / elapsed, run.errors


def table(columns: dict[str, dict[str, float]]) -> str:
    names = [name for name, _ in GROUPS] + ["other", "load generator"]
    names = [n for n in names if any(col.get(n, 0.0) >= 0.05 for col in columns.values())]
    lines = [f"{'ms CPU / turn':<18}" + "".join(f"{c:>14}" for c in columns)]
    for name in names:
        lines.append(f"{name:<18}" + "".join(f"{col.get(name, 0.0):>14.1f}" for col in columns.values()))
    served = [n for n in names if n != "load generator"]
    lines.append(f"{'target total':<18}" + "".join(f"{sum(col.get(n, 0.0) for n in served):>14.1f}"
                                                   for col in columns.values()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", default=["prod", "stock"], help="prod, embedded, stock")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=1200, help="measured turns per repeat")
    parser.add_argument("--repeat", type=int, default=2, help="measurements per target (same servers)")
    parser.add_argument("--model", type=Path, help="prod: this trained model as it is (default: train if needed)")
    parser.add_argument("--rasa-processes", type=int, help="prod: Rasa processes (default: RASA_PROCESSES)")
    args = parser.parse_args()
    builders = {"embedded": EmbeddedDesk, "stock": StockBot,
                "prod": lambda: ProdProfile(args.model, rasa_processes=args.rasa_processes)}
    columns: dict[str, dict[str, float]] = {}
    for name in args.targets:
        target = builders[name]()
        with target as (url, headers):
            for i in range(args.repeat):
                per_turn, rate, errors = measure_cpu(target, url, headers, args.users, args.turns)
                label = f"{name} #{i + 1}"
                columns[label] = per_turn
                print(f"{label}: {args.turns} turns at {args.users} users, {rate:.1f} turns/s, {errors} errors, "
                      f"load average {os.getloadavg()[0]:.2f}", flush=True)
        if target.leftovers:
            raise SystemExit(f"{name} left something behind: {target.leftovers}")
    print("\n" + table(columns), flush=True)


if __name__ == "__main__":
    main()

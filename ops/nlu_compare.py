"""NLU with and without the dense sentence features of `bot.dense_featurizer`, in one run on the same data.

`python -m ops.nlu_compare [--out DIR]` (`make eval-nlu-dense`):
1. copies config.yml, data/nlu, domain/ and data/jieba_dict into DIR/snapshot, so both models train on the same
   data while others edit the tree;
2. writes two configs from config.yml: `without` (no EmbedderSentenceFeaturizer) and `with` (the featurizer
   right after the tokenizer), trains an NLU-only model from each, one after the other, each with its own empty
   Rasa cache (so the training times compare);
3. `rasa test nlu` of each model on every held-out set (the blind set and the older file), scored from the
   reports only (accuracy, macro-F1, per-intent recall; `ops.nlu_score` prints each run's full table);
4. NLU latency per message of each model (`Agent.parse_message` over the older held-out file's texts) and the
   embedder's encode alone.
Prints the side-by-side tables and writes DIR/summary.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

import settings

ROOT = settings.ROOT
FEATURIZER = "bot.dense_featurizer.EmbedderSentenceFeaturizer"
TOKENIZER = "bot.tokenizer.CleanJiebaTokenizer"
SETS = {"blind": ROOT / "tests/data/blind/nlu_blind.yml", "old": ROOT / "tests/data/nlu_test.yml"}
LATENCY_SET = "old"  # latency is timed on texts we may read; never on the blind set
LATENCY_TEXTS = 100  # the first texts of that set, one at a time


def snapshot(out: Path) -> Path:
    snap = out / "snapshot"
    if snap.exists():
        shutil.rmtree(snap)
    for name in ("data/nlu", "domain", "data/jieba_dict"):
        shutil.copytree(ROOT / name, snap / name)
    shutil.copy(ROOT / "config.yml", snap / "config.yml")
    return snap


def configs(snap: Path) -> dict[str, Path]:
    """`without` and `with` the featurizer, both from the snapshot's config.yml (only the pipeline differs)."""
    config = yaml.safe_load((snap / "config.yml").read_text())
    base = [dict(c) for c in config["pipeline"] if c["name"] != FEATURIZER]
    for component in base:
        if component["name"] == TOKENIZER:
            component["dictionary_path"] = str(snap / component["dictionary_path"])
    at = next(i for i, c in enumerate(base) if c["name"] == TOKENIZER) + 1
    paths = {}
    for name, pipeline in (("without", base), ("with", [*base[:at], {"name": FEATURIZER}, *base[at:]])):
        paths[name] = snap / f"config_{name}.yml"
        paths[name].write_text(yaml.safe_dump({**config, "pipeline": pipeline}, allow_unicode=True, sort_keys=False))
    return paths


def rasa(*args: str, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "rasa", *args], cwd=ROOT, check=True, env={**os.environ, **(env or {})})
    return time.monotonic() - started


def scores(report_dir: Path) -> dict:
    report = json.loads((report_dir / "intent_report.json").read_text())
    intents = {k: v for k, v in report.items() if isinstance(v, dict) and k not in {"macro avg", "weighted avg", "micro avg"}}
    result = {"accuracy": report["accuracy"], "macro_f1": report["macro avg"]["f1-score"],
              "recall": {k: v["recall"] for k, v in sorted(intents.items())}}
    selection = report_dir / "response_selection_report.json"
    if selection.exists():
        result["faq_macro_f1"] = json.loads(selection.read_text())["macro avg"]["f1-score"]
    return result


def timed(call, texts: list[str]) -> dict:
    """ms per text of `call(text)` after one warm-up call: wall-clock p50/p90/p99 and the mean CPU time of this
    process (all its threads), which a busy shared machine disturbs far less than the wall clock."""
    call(texts[0])
    wall, cpu = [], []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.process_time()
        call(text)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    cuts = statistics.quantiles(wall, n=100)
    return {"p50": round(cuts[49], 1), "p90": round(cuts[89], 1), "p99": round(cuts[98], 1),
            "cpu_mean": round(statistics.fmean(cpu), 1), "n": len(texts)}


def latency(model: Path, texts: list[str]) -> dict:
    """The whole NLU pipeline of a model, one message at a time."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return timed(lambda text: asyncio.run(agent.parse_message(text)), texts)


def encode_latency(texts: list[str]) -> dict:
    from embedding import get_embedder

    return timed(lambda text: get_embedder().encode_queries([text]), texts)


def print_tables(summary: dict) -> None:
    for set_name in SETS:
        rows = {name: summary["models"][name]["sets"][set_name] for name in ("without", "with")}
        print(f"\n{set_name} held-out set: without / with dense sentence features")
        for key in ("accuracy", "macro_f1", "faq_macro_f1"):
            if key in rows["without"]:
                print(f"  {key:<26}{rows['without'][key]:>8.3f}{rows['with'][key]:>8.3f}")
        print("  recall per intent")
        for intent, recall in rows["without"]["recall"].items():
            print(f"    {intent:<24}{recall:>8.3f}{rows['with']['recall'].get(intent, float('nan')):>8.3f}")
    for name in ("without", "with"):
        model = summary["models"][name]
        print(f"\n{name}: trained in {model['train_seconds']:.0f} s; NLU per message (ms) {model['latency_ms']}")
    print(f"embedder encode alone per message (ms): {summary['encode_ms']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=settings.get().var_dir / "results" / "nlu-dense")
    parser.add_argument("--latency-only", action="store_true", help="time the models of an earlier run in --out")
    args = parser.parse_args()
    out = args.out.resolve()
    if args.latency_only:
        summary = json.loads((out / "summary.json").read_text())
    else:
        summary = train_and_test(out)
    from rasa.shared.nlu.training_data.loading import load_data

    texts = [m.get("text") for m in load_data(str(SETS[LATENCY_SET])).intent_examples][:LATENCY_TEXTS]
    for name in ("without", "with"):
        summary["models"][name]["latency_ms"] = latency(out / name / "nlu.tar.gz", texts)
    summary["encode_ms"] = encode_latency(texts)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print_tables(summary)
    return 0


def train_and_test(out: Path) -> dict:
    snap = snapshot(out)
    summary: dict = {"models": {}, "snapshot": str(snap)}
    for name, config in configs(snap).items():
        model_dir = out / name
        shutil.rmtree(model_dir, ignore_errors=True)
        seconds = rasa("train", "nlu", "--config", str(config), "--nlu", str(snap / "data/nlu"),
                       "--domain", str(snap / "domain"), "--out", str(model_dir), "--fixed-model-name", "nlu",
                       env={"RASA_CACHE_DIRECTORY": str(model_dir / "cache")})
        summary["models"][name] = {"config": str(config), "train_seconds": round(seconds, 1), "sets": {}}
        for set_name, path in SETS.items():
            results = model_dir / f"test-{set_name}"
            rasa("test", "nlu", "--model", str(model_dir / "nlu.tar.gz"), "--nlu", str(path),
                 "--domain", str(snap / "domain"), "--out", str(results), "--no-plot")
            subprocess.run([sys.executable, "-m", "ops.nlu_score", str(results)], cwd=ROOT, check=True)
            summary["models"][name]["sets"][set_name] = scores(results)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    return summary


if __name__ == "__main__":
    sys.exit(main())

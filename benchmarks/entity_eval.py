"""Catalogue entities: spaCy EntityRuler vs Rasa lookup tables, on the held-out NLU set.

`python -m benchmarks.entity_eval [--test tests/data/nlu_test.yml]` trains both
extractors on the lookup tables in data/nlu/, runs them on every held-out
message and prints exact-span precision/recall/F1 per entity type and the time
per message.  Only the lookup-table entities are compared (department,
district, data_format, open_type); ticket numbers, phones and ordinals are
regexes in both set-ups.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.spacy_entities import CatalogEntityRuler
from settings import ROOT

TYPES = ("department", "district", "data_format", "open_type")


def spans(entities) -> set[tuple]:
    return {(e["entity"], e["start"], e["end"]) for e in entities if e["entity"] in TYPES}


def evaluate(extractor, examples) -> tuple[dict, float]:
    counts = {t: Counter() for t in TYPES}
    started = time.perf_counter()
    for example in examples:
        message = Message(data={"text": example.get("text")})
        extractor.process([message])
        gold, found = spans(example.get("entities") or []), spans(message.get("entities") or [])
        for kind, *_ in gold & found:
            counts[kind]["tp"] += 1
        for kind, *_ in found - gold:
            counts[kind]["fp"] += 1
        for kind, *_ in gold - found:
            counts[kind]["fn"] += 1
    per_message_ms = (time.perf_counter() - started) * 1000 / max(len(examples), 1)
    return counts, per_message_ms


def prf(c: Counter) -> tuple[float, float, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--test", type=Path, default=ROOT / "tests/data/nlu_test.yml")
    args = parser.parse_args()
    train = load_data(str(ROOT / "data/nlu"))
    examples = [m for m in load_data(str(args.test)).intent_examples]
    storage = LocalModelStorage(Path(tempfile.mkdtemp()))
    regex = RegexEntityExtractor.create(
        {**RegexEntityExtractor.get_default_config(), "use_word_boundaries": False, "use_regexes": False},
        storage, Resource("regex"), ExecutionContext(None),
    )
    regex.train(train)
    ruler = CatalogEntityRuler.create({}, storage, Resource("ruler"), ExecutionContext(None))
    ruler.train(train)
    gold_total = sum(len(spans(e.get("entities") or [])) for e in examples)
    print(f"held-out messages: {len(examples)}, gold lookup entities: {gold_total}\n")
    print(f"{'extractor':<26}{'entity':<13}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}")
    for name, extractor in (("RegexEntityExtractor", regex), ("spaCy EntityRuler", ruler)):
        counts, ms = evaluate(extractor, examples)
        total = sum(counts.values(), Counter())
        for kind in (*TYPES, "all"):
            c = total if kind == "all" else counts[kind]
            p, r, f = prf(c)
            print(f"{name:<26}{kind:<13}{p:>7.3f}{r:>7.3f}{f:>7.3f}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}")
        print(f"{name:<26}{'ms/message':<13}{ms:>7.3f}\n")


if __name__ == "__main__":
    main()

"""Print the intent (and FAQ response-selection) scores of a `rasa test nlu` run.

`python -m ops.nlu_score RESULTS_DIR [--min-macro-f1 0.90] [--min-accuracy 0.90]` exits 1 when the intent
macro-F1 or accuracy is below its gate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _table(title: str, report: dict) -> float:
    print(f"\n{title}")
    print(f"{'label':<28}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}")
    for label, row in sorted(report.items()):
        if isinstance(row, dict) and "f1-score" in row and label not in {"macro avg", "weighted avg", "micro avg"}:
            print(f"{label:<28}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1-score']:>8.3f}{row['support']:>9}")
    macro = report["macro avg"]["f1-score"]
    print(f"{'macro avg':<28}{report['macro avg']['precision']:>10.3f}{report['macro avg']['recall']:>10.3f}{macro:>8.3f}")
    return macro


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--min-macro-f1", type=float, default=None)
    parser.add_argument("--min-accuracy", type=float, default=None)
    args = parser.parse_args()
    intents = json.loads((args.results / "intent_report.json").read_text())
    macro = _table("intent classification", intents)
    selection = args.results / "response_selection_report.json"
    if selection.exists():
        _table("FAQ response selection (ask_measures/<topic>)", json.loads(selection.read_text()))
    accuracy = intents.get("accuracy", float("nan"))
    print(f"\nintent accuracy = {accuracy:.3f}, macro-F1 = {macro:.3f}")
    failed = False
    for name, value, gate in (("macro-F1", macro, args.min_macro_f1), ("accuracy", accuracy, args.min_accuracy)):
        if gate is not None and not value >= gate:
            print(f"FAILED: intent {name} {value:.3f} < {gate}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

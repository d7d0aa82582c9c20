"""Print the intent (and FAQ response-selection) scores of a `rasa test nlu` run.

`python -m ops.nlu_score RESULTS_DIR [--min-macro-f1 0.90] [--min-accuracy 0.90] [--contract]` exits 1 when the
intent macro-F1 or accuracy is below its gate.

`--contract` scores a set labelled with the contract intents of ../shared/research/labelling_rules.md only (the
blind held-out set, the NLU development set): a prediction of one of our helper intents counts as the contract
intent whose behaviour it refines (HELPER_OF), as the rules allow ("算了不申请了 is deny, or your own cancel
intent mapped to the same behaviour").  It needs the run's successes and errors (`rasa test nlu --successes`) and
prints Rasa's unmapped accuracy beside the mapped one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import classification_report

# Helper intent → the contract intent it stands for (the assistant gives it that intent's behaviour).
HELPER_OF = {
    "cancel": "deny",  # stopping a form: the rules' own example
    "request_callback": "human_handoff",  # the 预约回电 button of the 转人工 answer, and its literal wording
}


def _table(title: str, report: dict) -> float:
    print(f"\n{title}")
    print(f"{'label':<28}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}")
    for label, row in sorted(report.items()):
        if isinstance(row, dict) and "f1-score" in row and label not in {"macro avg", "weighted avg", "micro avg"}:
            print(f"{label:<28}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1-score']:>8.3f}{row['support']:>9}")
    macro = report["macro avg"]["f1-score"]
    print(f"{'macro avg':<28}{report['macro avg']['precision']:>10.3f}{report['macro avg']['recall']:>10.3f}{macro:>8.3f}")
    return macro


def contract_report(results: Path) -> dict:
    """The intent report with helper intents counted as their contract intents, over the set's own labels."""
    files = [results / name for name in ("intent_successes.json", "intent_errors.json")]
    if not files[0].exists():
        raise SystemExit(f"{files[0]} is missing: run `rasa test nlu --successes` for --contract")
    rows = [row for path in files if path.exists() for row in json.loads(path.read_text())]
    gold = [row["intent"] for row in rows]
    predicted = [HELPER_OF.get(row["intent_prediction"]["name"], row["intent_prediction"]["name"]) for row in rows]
    report = classification_report(gold, predicted, labels=sorted(set(gold)), output_dict=True, zero_division=0)
    report["accuracy"] = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(rows)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--min-macro-f1", type=float, default=None)
    parser.add_argument("--min-accuracy", type=float, default=None)
    parser.add_argument("--contract", action="store_true", help="score helper intents as their contract intents")
    args = parser.parse_args()
    intents = json.loads((args.results / "intent_report.json").read_text())
    if args.contract:
        print(f"Rasa's own report, helper intents counted as errors: accuracy {intents['accuracy']:.3f}, "
              f"macro-F1 {intents['macro avg']['f1-score']:.3f}")
        intents = contract_report(args.results)
    macro = _table("intent classification" + (" (contract intents)" if args.contract else ""), intents)
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

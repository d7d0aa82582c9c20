"""ops/nlu_score's contract scoring: a helper intent counts as the contract intent it stands for, over the set's own
labels, and Rasa's unmapped report is still printed beside it."""

from __future__ import annotations

import json
import sys

import pytest

from ops import nlu_score


def _write(results, successes, errors) -> None:
    def rows(pairs):
        return [{"text": f"m{i}", "intent": gold, "intent_prediction": {"name": predicted, "confidence": 0.9}}
                for i, (gold, predicted) in enumerate(pairs)]

    results.mkdir(exist_ok=True)
    (results / "intent_successes.json").write_text(json.dumps(rows(successes)))
    (results / "intent_errors.json").write_text(json.dumps(rows(errors)))
    (results / "intent_report.json").write_text(json.dumps({"accuracy": 0.5, "macro avg": {"f1-score": 0.4}}))


def test_helper_intents_count_as_their_contract_intent(tmp_path):
    _write(tmp_path, successes=[("deny", "deny"), ("greet", "greet")],
           errors=[("deny", "cancel"), ("human_handoff", "request_callback"), ("greet", "inform")])
    report = nlu_score.contract_report(tmp_path)
    assert report["accuracy"] == pytest.approx(4 / 5)  # cancel and request_callback mapped, inform stays wrong
    assert report["deny"]["recall"] == 1.0 and report["greet"]["recall"] == 0.5
    assert set(report) >= {"deny", "greet", "human_handoff"} and "inform" not in report


def test_gate_uses_the_contract_scores(tmp_path, monkeypatch, capsys):
    _write(tmp_path, successes=[("deny", "deny")], errors=[("deny", "cancel")])
    monkeypatch.setattr(sys, "argv", ["nlu_score", str(tmp_path), "--contract", "--min-accuracy", "0.9"])
    assert nlu_score.main() == 0
    out = capsys.readouterr().out
    assert "accuracy 0.500" in out and "intent accuracy = 1.000" in out  # Rasa's own figure, then the contract's


def test_contract_scoring_needs_the_successes(tmp_path):
    (tmp_path / "intent_report.json").write_text("{}")
    with pytest.raises(SystemExit, match="--successes"):
        nlu_score.contract_report(tmp_path)

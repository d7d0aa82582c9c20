"""The held-out NLU set stays held out, and every intent has enough training data."""

from __future__ import annotations

import re
from collections import Counter

from rasa.shared.nlu.training_data.loading import load_data

from settings import ROOT

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)")
TOP_LEVEL_INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "human_handoff", "out_of_scope",
    "ask_measures", "search_dataset", "request_data", "file_complaint", "check_ticket",
}


def texts(data) -> set[str]:
    return {ANNOTATION.sub(r"\1", m.get("text")).strip() for m in data.intent_examples}


def test_no_held_out_example_is_in_training():
    train = load_data(str(ROOT / "data/nlu"))
    heldout = load_data(str(ROOT / "tests/data/nlu_test.yml"))
    assert len(heldout.intent_examples) >= 250
    assert not texts(train) & texts(heldout)


def test_every_top_level_intent_has_thirty_examples_and_a_held_out_part():
    train = load_data(str(ROOT / "data/nlu"))
    heldout = load_data(str(ROOT / "tests/data/nlu_test.yml"))
    counts = Counter(m.get("intent") for m in train.intent_examples)
    for intent in TOP_LEVEL_INTENTS:
        assert counts[intent] >= 30, intent
        assert intent in heldout.intents, intent

"""Routing backed by retrieval: when NLU cannot be trusted with a message, the catalogue and the knowledge base
are asked, and the one with a confident match answers.

NLU is *unsure* when its top intent's confidence is under UNSURE_CONFIDENCE, or when the runner-up among
ROUTED_INTENTS (search, Measures question, out of scope, the fallback) is within UNSURE_MARGIN of it.  Then, and
whenever the Measures answer finds no confident passage, `decide()` asks both indexes:

- the catalogue is confident when its search finds datasets without `low_confidence` (lexical coverage, or the
  nearest vector vouching for a lexical match: `catalog_index.search`);
- the knowledge base is confident when `knowledge.answer()` returns a passage (its own honesty thresholds);
- both: the one NLU ranked higher between search_dataset and ask_measures (a Measures question that shares
  words with dataset titles stays a Measures question); neither: the caller clarifies as before.

"贵阳有哪些养老院" (NLU: Measures question) is then a search, "共享和开放有什么区别" stays a Measures answer.
"""

from __future__ import annotations

import logging
from typing import Any

import knowledge
from catalog_index.search import search
from database import session_scope

log = logging.getLogger(__name__)

SEARCH, MEASURES = "search_dataset", "ask_measures"
ROUTED_INTENTS = (SEARCH, MEASURES, "out_of_scope", "nlu_fallback")
UNSURE_CONFIDENCE = 0.6
UNSURE_MARGIN = 0.3


def ranking(message: dict[str, Any]) -> dict[str, float]:
    """intent → NLU confidence for the latest message (the top intent when there is no ranking)."""
    ranked = {i.get("name"): float(i.get("confidence") or 0.0) for i in message.get("intent_ranking") or []}
    top = message.get("intent") or {}
    if top.get("name") and top["name"] not in ranked:
        ranked[top["name"]] = float(top.get("confidence") or 0.0)
    return ranked


def nlu_unsure(message: dict[str, Any]) -> bool:
    """Low confidence, or a close runner-up among ROUTED_INTENTS (see the module docstring)."""
    top = message.get("intent") or {}
    confidence = float(top.get("confidence") or 0.0)
    if top.get("name") == "nlu_fallback" or confidence < UNSURE_CONFIDENCE:
        return True
    others = [c for name, c in ranking(message).items() if name in ROUTED_INTENTS and name != top.get("name")]
    return top.get("name") in ROUTED_INTENTS and bool(others) and confidence - max(others) < UNSURE_MARGIN


def catalogue_confident(text: str) -> bool:
    """The catalogue search finds datasets for `text` and presents them as hits."""
    try:
        with session_scope() as session:
            result = search(session, text[:200], rows=1)
    except Exception as exc:  # noqa: BLE001 - no catalogue: the other answers still work
        log.warning("catalogue not asked while routing: %s", exc)
        return False
    return result.count > 0 and not result.low_confidence


def decide(text: str, message: dict[str, Any]) -> tuple[str | None, knowledge.Answer | None]:
    """(SEARCH, None), (MEASURES, the passage) or (None, None) for a message NLU could not place."""
    found = knowledge.answer(text)
    datasets = catalogue_confident(text)
    if datasets and found is not None:
        ranked = ranking(message)
        return (MEASURES, found) if ranked.get(MEASURES, 0.0) > ranked.get(SEARCH, 0.0) else (SEARCH, None)
    if datasets:
        return SEARCH, None
    if found is not None:
        return MEASURES, found
    return None, None

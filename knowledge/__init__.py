"""Knowledge base on the Measures, the Regulation and related documents (data/knowledge/).

``answer(question)`` is the entry point for the long-tail action and the generic fallback.
"""

from knowledge.citation import LABELS, citation_line, format_citation, parse_citations
from knowledge.kb import CONFIDENCES, KnowledgeBaseError, Passage, load
from knowledge.retrieval import HUMAN_HELP, NOT_FOUND_MESSAGE, Answer, answer, index, search

__all__ = [
    "CONFIDENCES",
    "HUMAN_HELP",
    "LABELS",
    "NOT_FOUND_MESSAGE",
    "Answer",
    "KnowledgeBaseError",
    "Passage",
    "answer",
    "citation_line",
    "format_citation",
    "index",
    "load",
    "parse_citations",
    "search",
]

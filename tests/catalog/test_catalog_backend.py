"""The search backend contract (catalog_index.backend) and the pure query understanding (catalog_index.query).

The contract test compares the backend's match lists with the meaning of a `Match` evaluated directly over the
stored index text (`search_docs`), so another backend (PostgreSQL) can be held to the same test.
"""

from __future__ import annotations

import pytest

from catalog_index.analysis import get_analyzer
from catalog_index.backend import for_session
from catalog_index.columns import snapshot
from catalog_index.fts5 import expression
from catalog_index.query import Clause, content_words, groups, understand

TEXT_FIELDS = ("title", "keywords", "department", "description", "fields")


def _docs(session) -> dict[int, tuple[set[str], set[str]]]:
    rows = session.connection().exec_driver_sql(
        f"SELECT rowid, {', '.join(TEXT_FIELDS)}, fuzzy FROM search_docs").all()
    return {r[0]: ({t for text in r[1:-1] for t in (text or "").split()}, set((r[-1] or "").split())) for r in rows}


def _satisfies(doc: tuple[set[str], set[str]], clause: Clause) -> bool:
    text, sounds = doc
    return any(set(option) <= text for option in clause.text) or bool(sounds & set(clause.sounds))


@pytest.mark.parametrize("match", [
    (Clause((("公交",),)),),
    (Clause((("医疗机构",), ("医院",))), Clause((("名录",),))),
    (Clause((("电动汽车", "充电"),)),),
    (Clause(sounds=("yimiao",)),),
    (Clause((("学校",),)), Clause(sounds=("huaxi", "youeryuan"))),
    (Clause((("不存在的词",),)),),
])
def test_match_lists_mean_what_the_clauses_say(session, match):
    docs = _docs(session)
    expected = sorted(rowid for rowid, doc in docs.items() if all(_satisfies(doc, c) for c in match))
    assert for_session(session).match(match).tolist() == expected


def test_document_frequencies_and_page_rows(session):
    backend = for_session(session)
    docs = _docs(session)
    df = backend.document_frequencies()
    for term in ("公交", "医院", "yimiao"):
        assert df[term] == sum(term in text or term in sounds for text, sounds in docs.values())
    rowid = min(docs)
    (dataset_id,) = session.connection().exec_driver_sql(
        f"SELECT dataset_id FROM search_docs WHERE rowid = {rowid}").one()
    assert backend.page([rowid], ("id",)) == {rowid: (dataset_id,)}
    assert backend.rowid_bound() == max(docs) + 1


def test_fts5_syntax_is_quoted():
    clause = Clause((('a"b',), ("c", "d")), ("k",))
    assert expression((clause,)) == ('({title keywords department description fields} : ("a""b" OR ("c" AND "d")) '
                                     'OR fuzzy : "k")')


def test_query_understanding_needs_only_statistics(session):
    class Counts:  # document frequencies of a made-up catalogue of 100 datasets
        documents = 100
        known = {"公园": 5, "gongyuan": 5, "停车场": 3, "停车": 4, "wanshua": 2}

        def df(self, term: str) -> int:
            return self.known.get(term, 0)

    departments = snapshot(session).departments
    rest, found = understand("花溪区的公园和停车场", departments)
    assert found == {"district": "花溪区"}
    analyzer = get_analyzer()
    words = content_words(analyzer, rest, keep_generic=True)
    park, parking = groups(analyzer, words, Counts())[:2]
    assert park.clause == Clause((("公园",),)) and park.literal == 1
    assert parking.clause.text[0] == ("停车场",) and parking.weight > park.weight  # rarer, more informative
    (typo,) = groups(analyzer, ["公圆"], Counts())
    assert typo.clause == Clause(sounds=("gongyuan",))
    assert groups(analyzer, ["火星"], Counts())[0].clause is None

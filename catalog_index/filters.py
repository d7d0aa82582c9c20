"""Search filters, each declared once: everything that names a filter reads `FILTERS`.

Readers: `search()` (parameter checks, filters written in the query text, facets), the snapshot's columns
(`catalog_index.columns`: which `datasets` column it holds per filter), the HTTP API (`web/api_datasets`),
the CLI (`python -m catalog_index search --<name>`), the demand report (`tickets.demand`: the filters kept with
a search that found nothing) and the conversation (`actions.catalog_view`: NLU entities → filters, and how the
assistant names a value).

Adding a filter = one `Filter(...)` below (plus its tests and user texts).  Its `column` must be a column of
`datasets`; the snapshot reads it on the next catalogue version, so no migration or reindex is needed.

Filters written in the query text are taken out of it in `read_order` (lowest first): a department's name can
hold a district's (花溪区…局), so departments are read before districts; each reader replaces what it found
by a space.  An update frequency written in the text (`FREQUENCY_WORDS`: "每周更新的…") is taken out too, but as a
preference for the ranking (`search.FREQUENCY_DEPTH`), not a filter; as a parameter it is a filter.

A filter value may keep more than datasets holding that value (`Filter.keeps`): a district keeps its own
editions and the city-wide datasets (市本级: a city-wide list covers every district, and "开阳县天气预报" where
only the city's forecast exists should find it), its own editions ranked first; the facets count what was kept
(so the district facet shows the district and 市本级).  The ranking's vectors see the query without the
district's name (`without_widened`): the name would pull the district's unrelated editions up, and the preference
for its own editions is the ranking's job.  The same whether the district was read from the text or given as a
parameter.  `district=市本级` keeps only the city-wide datasets.  Measured on the development sets' district
queries (nDCG@10 hybrid, dev / dev2): excluding city-wide datasets (before) 0.80 / 0.73 (whole filter kind);
own editions first with the name embedded 0.933 / 0.838; without it 0.983 / 0.929 (own editions first only when
they match the query's words: the same, so the simpler rule is kept).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from catalog_index.departments import DepartmentRef, resolve
from catalog_index.models import CATEGORIES, DISTRICTS, FORMATS, OPEN_TYPES, SHARE_TYPES, UPDATE_FREQUENCIES
from textnorm import normalize

# A reader finds its filter in the (normalised) query text: (the text without it, the canonical value or None).
Reader = Callable[[str, Mapping[str, DepartmentRef]], tuple[str, Any]]


class InvalidParameter(ValueError):
    """A search parameter that cannot be used; `.param` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Filter:
    name: str  # search() keyword, HTTP query parameter, CLI option, demand-report key, facet name
    column: str  # the `datasets` column the snapshot holds for it
    canonical: Callable[[Session, Any], Any]  # parameter value → canonical value; raises InvalidParameter
    choices: tuple = ()  # the canonical values, when they are a fixed list (CLI help)
    many: bool = False  # the column holds a list (formats): the filter keeps datasets listing the value
    stored: Callable[[Any], Any] = lambda value: value  # column value → canonical value
    read: Reader | None = None  # how the query text expresses it (None: it cannot)
    read_order: int = 0
    entity: str | None = None  # NLU entity naming it in the conversation
    entity_values: Mapping[str, Any] = field(default_factory=dict)  # only these entity values, mapped
    shown: Callable[[Any], str] = str  # how the assistant names a value ("有API")
    department_codes: bool = False  # values are department codes: facets show the department's name
    # value → the stored values the filter keeps, the value's own first (those datasets rank first; see above)
    keeps: Callable[[Any], tuple] = lambda value: (value,)
    # a property the data must have (a format, an API, an opening type): data without it only helps (grading rules),
    # so a search that had to drop it is not a confident hit; a district or a department is a scope
    constraint: bool = False


# ---------------------------------------------------------------- canonicalisers


def _one_of(name: str, choices: tuple, lookup: Callable[[Any], Any] = lambda value: value,
            ) -> Callable[[Session, Any], Any]:
    """A canonicaliser for a fixed list: `lookup(value)` must be one of `choices`."""
    def canonical(_session: Session, value: Any) -> Any:
        found = lookup(value)
        if found not in choices:
            raise InvalidParameter(name, f"unknown {name} {value!r}; one of {'/'.join(choices)}")
        return found
    return canonical


def _format_name(value: Any) -> str:
    name = str(value).strip().upper()
    return FORMAT_ALIASES.get(name.lower(), name)


def _department(session: Session, value: Any) -> str:
    dep = resolve(session, str(value))
    if dep is None:
        raise InvalidParameter("department", f"unknown department {value!r}")
    return dep.code


def _boolean(name: str) -> Callable[[Session, Any], bool]:
    def canonical(_session: Session, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text_value = str(value).strip().lower()
        if text_value in ("true", "1", "yes"):
            return True
        if text_value in ("false", "0", "no"):
            return False
        raise InvalidParameter(name, f"expected true or false, got {value!r}")
    return canonical


# ---------------------------------------------------------------- readers (query text → filter)


def _remove(text: str, word: str) -> str:
    return text.replace(word, " ")


def phrases(table: Mapping[str, Any]) -> Reader:
    """The first word of `table` in the text, longest words first, is the filter's value."""
    ordered = sorted(table.items(), key=lambda kv: -len(kv[0]))

    def read(text: str, _departments: Mapping[str, DepartmentRef]) -> tuple[str, Any]:
        for word, value in ordered:
            if word and word in text:
                return _remove(text, word), value
        return text, None
    return read


def every(words: tuple[str, ...], value: Any) -> Reader:
    """Any of `words` sets the filter to `value`; all of them are taken out of the text."""
    def read(text: str, _departments: Mapping[str, DepartmentRef]) -> tuple[str, Any]:
        found = None
        for word in words:
            if word in text:
                text, found = _remove(text, word), value
        return text, found
    return read


_LATIN_WORD = re.compile(r"[a-z0-9.]+")


def latin_words(table: Mapping[str, Any]) -> Reader:
    """The first whole Latin word of the text that `table` knows (xls, csv …) is the filter's value."""
    def read(text: str, _departments: Mapping[str, DepartmentRef]) -> tuple[str, Any]:
        for word in _LATIN_WORD.findall(text):
            if word in table:
                return re.sub(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", " ", text), table[word]
        return text, None
    return read


def _department_in_text(text: str, departments: Mapping[str, DepartmentRef]) -> tuple[str, Any]:
    """A department's name or abbreviation (the alias table is longest first); codes only as a parameter."""
    for alias, dep in departments.items():
        if not alias.isascii() and alias in text:
            return _remove(text, alias), dep.code
    return text, None


# ---------------------------------------------------------------- the filters

DISTRICT_ALIASES = {d: d for d in DISTRICTS if d != "市本级"}
DISTRICT_ALIASES.update({d[:-1]: d for d in DISTRICTS if d not in ("市本级", "白云区")})  # 白云 alone is ambiguous
DISTRICT_ALIASES.update({"市本级": "市本级", "市级": "市本级"})
# Formats, and document formats the catalogue never offers (a query asking for them finds no dataset that meets it:
# "统计年鉴PDF版" is not a confident hit on the XLSX edition).
FORMAT_ALIASES = {"excel": "XLSX", "xlsx": "XLSX", "xls": "XLSX", "csv": "CSV", "json": "JSON", "xml": "XML",
                  "pdf": "PDF", "doc": "DOC", "docx": "DOC", "word": "DOC"}
API_WORDS = ("api接口", "api", "接口", "数据接口")
CITYWIDE = "市本级"  # the district value of a city-wide dataset (others are district editions)
# How a query names an update frequency: always with 更新 ("每周更新的招聘信息"), as 每天 alone is a grain or a day
# ("每天卖出多少升油", "每天的空气质量").
_EVERY = {"实时": ("实时",), "每日": ("每天", "每日", "按天", "按日", "逐日", "天天", "日"), "每周": ("每周", "按周", "周"),
          "每月": ("每月", "每个月", "按月", "月度", "月"), "每季度": ("每季度", "每个季度", "按季度", "按季", "季度"),
          "每年": ("每年", "按年", "年度", "年"), "不定期": ("不定期",)}
FREQUENCY_WORDS = {f"{word}更新": value for value, words in _EVERY.items() for word in words}
read_frequency = phrases(FREQUENCY_WORDS)  # (the text without it, the frequency or None)


def frequencies_meeting(value: str) -> tuple[str, ...]:
    """The update frequencies that meet `value`: data updated in real time is updated every day too."""
    return (value, "实时") if value == "每日" else (value,)


def _district_keeps(value: str) -> tuple[str, ...]:
    """A district's editions, then the city-wide datasets."""
    return (value,) if value == CITYWIDE else (value, CITYWIDE)


FILTERS: tuple[Filter, ...] = (  # in facet order
    Filter("department", "department_code", _department, read=_department_in_text, read_order=4,
           entity="department", department_codes=True),
    Filter("district", "district", _one_of("district", DISTRICTS, lambda v: DISTRICT_ALIASES.get(normalize(str(v)))),
           DISTRICTS, read=phrases(DISTRICT_ALIASES), read_order=5, entity="district", keeps=_district_keeps),
    Filter("category", "category", _one_of("category", CATEGORIES), CATEGORIES),
    Filter("format", "formats", _one_of("format", FORMATS, _format_name),
           FORMATS, many=True, read=latin_words(FORMAT_ALIASES), read_order=3, entity="data_format", constraint=True),
    Filter("open_type", "open_type", _one_of("open_type", OPEN_TYPES), OPEN_TYPES,
           read=phrases({t: t for t in OPEN_TYPES}), read_order=0, entity="open_type", constraint=True),
    Filter("share_type", "share_type", _one_of("share_type", SHARE_TYPES), SHARE_TYPES,
           read=phrases({t: t for t in SHARE_TYPES}), read_order=1, constraint=True),
    Filter("has_api", "has_api", _boolean("has_api"), (True, False), stored=bool, read=every(API_WORDS, True),
           read_order=2, entity="data_format", entity_values={"API": True},
           shown=lambda value: "有API" if value else "无API", constraint=True),
    Filter("update_frequency", "update_frequency", _one_of("update_frequency", UPDATE_FREQUENCIES), UPDATE_FREQUENCIES,
           shown=lambda value: f"{value}更新", constraint=True),
)
BY_NAME = {f.name: f for f in FILTERS}
NAMES = tuple(BY_NAME)
READ_ORDER = tuple(sorted((f for f in FILTERS if f.read), key=lambda f: f.read_order))


def check(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, canonical filter values from parameters (None or "" = no filter); raises InvalidParameter."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        spec = BY_NAME.get(name)
        if spec is None:
            raise InvalidParameter(name, f"unknown filter; one of {', '.join(NAMES)}")
        if value is not None and value != "":
            out[name] = spec.canonical(session, value)
    return out


def read_text(text: str, departments: Mapping[str, DepartmentRef]) -> tuple[str, dict[str, Any]]:
    """(the normalised text without the filters written in it, those filters), e.g.
    "花溪区的学校名单" → (" 的学校名单", {"district": "花溪区"})."""
    rest, found = normalize(text), {}
    for spec in READ_ORDER:
        rest, value = spec.read(rest, departments)
        if value is not None:
            found[spec.name] = value
    return rest, found


def without_widened(text: str, filters: Mapping[str, Any], departments: Mapping[str, DepartmentRef]) -> str:
    """`text` without the words of the applied filters that keep more than their own value (`Filter.keeps`)."""
    for spec in READ_ORDER:
        if spec.name in filters and len(spec.keeps(filters[spec.name])) > 1:
            rest, value = spec.read(normalize(text), departments)
            text = rest if value is not None else text
    return text


def from_entities(entities: list[dict]) -> dict[str, Any]:
    """Filters named by NLU entities (values already canonical).  An entity value that a filter lists in its
    `entity_values` sets that filter (data_format "API" → has_api); any other value sets the filter that takes
    the entity's values as they are (data_format "CSV" → format)."""
    filters: dict[str, Any] = {}
    for entity in entities:
        name, value = entity.get("entity"), entity.get("value")
        claims = [f for f in FILTERS if f.entity == name and value in f.entity_values]
        spec = claims[0] if claims else next((f for f in FILTERS if f.entity == name and not f.entity_values), None)
        if spec is not None:
            filters[spec.name] = spec.entity_values.get(value, value)
    return filters


def describe(filters: Mapping[str, Any]) -> str:
    """How the assistant lists filter values: "花溪区、有API"."""
    return "、".join(BY_NAME[k].shown(v) if k in BY_NAME else str(v) for k, v in filters.items())


def describe_with_names(filters: Mapping[str, Any], department_names: Mapping[str, str]) -> str:
    """`describe`, with department codes (as read from a query's text) shown by the department's name."""
    return describe({k: department_names.get(v, v) if k in BY_NAME and BY_NAME[k].department_codes else v
                     for k, v in filters.items()})

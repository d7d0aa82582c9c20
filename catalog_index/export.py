"""Export the catalogue as JSONL (the load format) or DCAT-style JSON-LD."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_index.models import Dataset
from catalog_index.store import dataset_record

ACCRUAL = {  # 更新周期 → Dublin Core Collection Description frequency vocabulary
    "实时": "http://purl.org/cld/freq/continuous", "每日": "http://purl.org/cld/freq/daily",
    "每周": "http://purl.org/cld/freq/weekly", "每月": "http://purl.org/cld/freq/monthly",
    "每季度": "http://purl.org/cld/freq/quarterly", "每年": "http://purl.org/cld/freq/annual",
    "不定期": "http://purl.org/cld/freq/irregular",
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def records(session: Session) -> Iterator[dict]:
    for dataset in session.scalars(select(Dataset).order_by(Dataset.id).execution_options(yield_per=1000)):
        yield dataset_record(dataset)


def to_dcat(rec: dict) -> dict:
    """One record as a dcat:Dataset (mapping: research notes §4)."""
    node = {
        "@id": f"urn:guiyang:dataset:{rec['id']}",
        "@type": "dcat:Dataset",
        "dct:identifier": rec["id"],
        "dct:title": {"@value": rec["title"], "@language": "zh-CN"},
        "dct:description": {"@value": rec["description"], "@language": "zh-CN"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": rec["department"],
                          "dct:identifier": rec["department_code"]},
        "dcat:theme": rec["category"],
        "dcat:keyword": rec["keywords"],
        "dct:accessRights": rec["open_type"] + (f"：{rec['open_condition']}" if rec["open_condition"] else ""),
        "dct:accrualPeriodicity": {"@id": ACCRUAL[rec["update_frequency"]]},
        "dct:spatial": rec["district"],
        "dcat:distribution": [{"@type": "dcat:Distribution", "dct:format": fmt} for fmt in rec["formats"]],
    }
    for key, term in (("published", "dct:issued"), ("updated", "dct:modified")):
        if rec[key]:
            node[term] = {"@value": rec[key], "@type": "xsd:date"}
    return node


def write_jsonl(session: Session, out: IO[str]) -> int:
    count = 0
    for rec in records(session):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_jsonld(session: Session, out: IO[str]) -> int:
    graph = [to_dcat(rec) for rec in records(session)]
    json.dump({"@context": CONTEXT, "@graph": graph}, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(graph)

"""Synthetic catalogues for the search benchmark: the sample catalogue scaled to N plausible datasets.

    python -m benchmarks.search_synth N OUT.jsonl

Dataset i is sample record i mod 1139; beyond the first copy each record becomes a district/year edition
("花溪区2019年公交线路站序数据") with its own id, description, update date, record count and opening terms, the
way real catalogues repeat a department's resource for each district and year.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import settings
from catalog_index.models import DISTRICTS

SAMPLE = settings.ROOT / "data" / "catalog" / "guiyang_catalog.jsonl"
DEPARTMENTS = settings.ROOT / "data" / "catalog" / "departments.jsonl"
PLACES = [d for d in DISTRICTS if d != "市本级"]


def _core(title: str) -> str:
    for place in PLACES:
        if title.startswith(place):
            title = title[len(place):]
    if len(title) > 5 and title[:4].isdigit() and title[4] == "年":
        title = title[5:]
    return title


def synthesize(n: int, out: Path, seed: int = 7) -> Path:
    """Write n synthetic dataset records to `out` (JSONL) and return it."""
    rng = random.Random(seed)
    base = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rec = dict(base[i % len(base)])
            copy = i // len(base)
            if copy:
                place = PLACES[(copy + i) % len(PLACES)]
                year = 2010 + (copy * 7 + i) % 15
                rec["id"] = f"{rec['department_code']}-S{i:07d}"
                rec["title"] = f"{place}{year}年{_core(rec['title'])}"
                rec["description"] = f"{place}{year}年度：{rec['description']}"
                rec["keywords"] = [*rec["keywords"], place, f"{year}年"]
                rec["district"] = place
                rec["record_count"] = rng.randint(1, 200_000)
                published = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
                rec["published"] = published.isoformat()
                rec["updated"] = (published + timedelta(days=rng.randint(0, 900))).isoformat()
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    synthesize(int(sys.argv[1]), Path(sys.argv[2]))

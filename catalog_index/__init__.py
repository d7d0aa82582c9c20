"""Catalogue database and Chinese dataset search (issue 3).

Modules: `db` (engine, `Base`, sessions, migrations), `models`, `analysis` (Chinese text analysis),
`store` (writing datasets together with their search-index entry), `ingest` (JSONL/CSV loading),
`export` (JSONL and DCAT JSON-LD), `search`, `departments`, `stats`; `python -m catalog_index` is the CLI.
"""

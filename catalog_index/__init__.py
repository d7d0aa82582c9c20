"""The data catalogue and Chinese dataset search (issue 3).

Modules: `models`, `analysis` (Chinese text analysis), `store` (writing datasets together with their search-index
entry), `ingest` (JSONL/CSV loading), `export` (JSONL and DCAT JSON-LD), `departments`, `stats`, and the search:
`filters` (each filter declared once), `query` (query understanding, pure), `backend` (the database seam) with
`fts5` (SQLite), `columns` (the per-process snapshot: filtering, facets, ranking, paging), `search` (the API).
`python -m catalog_index` is the CLI.  The engine, sessions and migrations are in the top-level `database`.
"""

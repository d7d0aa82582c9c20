# 筑数助手 — every operator task is a target here. `make run` and `make test`
# work on a fresh machine: they create the venv, install the pinned
# dependencies, load the sample catalogue and train when needed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(PY) -m rasa
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
# The model ops.train writes (settings.model_path): MODEL_DIR, default models/, + desk.tar.gz.
MODEL := $(or $(MODEL_DIR),models)/desk.tar.gz
CATALOG := data/catalog/departments.jsonl data/catalog/guiyang_catalog.jsonl
RESULTS := var/results

.PHONY: help setup venv web-assets browser db train run run-prod prod-install test lint validate pytest pytest-postgres test-stories nlu-gate eval-nlu eval-nlu-dense eval-search eval-entities bench load bench-1m search-vocab wechat-redeliver soak retention clean lock

help:
	@echo "make run          set up, load the catalogue, train if needed, start all services"
	@echo "make run-prod     the same on PostgreSQL, Redis and N Rasa processes behind haproxy (production profile)"
	@echo "make test         set up and run every check (lint, validate, pytest, test stories, NLU gate)"
	@echo "make bench        latency benchmarks (tables)"
	@echo "make load         conversations per second beside a stock rasa init bot (table)"
	@echo "make eval-search  search quality (nDCG@10, MRR, recall@10) against two baselines"
	@echo "make eval-nlu     NLU 5-fold cross-validation and held-out score"
	@echo "make eval-nlu-dense  NLU with and without dense sentence features (docs/nlu.md)"
	@echo "make eval-entities  spaCy EntityRuler vs Rasa lookup tables on the held-out set"
	@echo "make clean        remove the venv, models and var/"

$(VENV)/.installed: requirements.lock
	@py=$$(ops/find_python.sh) || exit 1; \
	 if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$py"; $$py -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.0
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

venv: $(VENV)/.installed

web-assets: web/static/vendor/.lock-sha256

web/static/vendor/.lock-sha256: web/package.json web/package-lock.json
	ops/vendor_web.sh

browser:
	ops/install_browser.sh

setup: venv web-assets

db: venv
	$(PY) -m catalog_index migrate
	$(PY) -m catalog_index load $(CATALOG)

train: venv
	$(PY) -m ops.train

run: setup db train
	$(PY) -m ops.supervisor

# PostgreSQL 15, Redis and haproxy from Debian (apt), for the production profile and its tests.
prod-install:
	ops/prod/install_prod.sh

# The production profile: the supervisor starts PostgreSQL and Redis, migrates and loads the catalogue, then
# N Rasa processes, the action server and the web service behind haproxy on the same public ports as `make run`.
run-prod: setup prod-install train
	$(PY) -m ops.supervisor --prod

lint: venv
	$(PY) -m ruff check .

validate: venv
	$(RASA) data validate --config config.yml --domain domain --data data/nlu data/rules data/stories --fail-on-warnings

pytest: venv train web-assets browser prod-install
	$(PY) -m pytest -q

# The catalogue, ticket and conversation tests once more on PostgreSQL (tests/harness.py starts a throwaway
# cluster and Redis; Rasa's tracker store on PostgreSQL, its lock store in Redis).
POSTGRES_TESTS := tests/catalog tests/tickets tests/assistant/test_conversation.py \
	tests/assistant/test_search_dialogue.py tests/knowledge/test_faq_conversation.py \
	tests/security/test_tracker_store.py
pytest-postgres: venv train prod-install
	DB_BACKEND=postgres $(PY) -m pytest -q $(POSTGRES_TESTS)

test-stories: train
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out $(RESULTS)/core

# The gate: the blind held-out set (written from the labelling rules by someone who never saw data/nlu/; never
# tuned on), then the older held-out file as a second check.
BLIND_NLU := tests/data/blind/nlu_blind.yml
# The development sets, also written blind from the labelling rules (`make eval-nlu`): the first is tuned on, the
# second only checks that what was tuned on the first generalises (never tuned on, nothing copied from it).
DEV_NLU := tests/data/nlu_dev.yml
CHECK_NLU := tests/data/nlu_dev2.yml
# Scored by the contract (ops/nlu_score.py --contract: our cancel intent counts as deny, request_callback as
# human_handoff, as labelling_rules.md allows). Measured on it (2026-11-29, model of 16:05): accuracy 0.913,
# macro-F1 0.936 (Rasa's unmapped report: 0.900 / 0.925). The gate is the issue's goal, 0.90 for both.
BLIND_MIN_ACCURACY := 0.90
BLIND_MIN_F1 := 0.90
nlu-gate: train
	$(RASA) test nlu --model $(MODEL) --domain domain --nlu $(BLIND_NLU) --successes --out $(RESULTS)/nlu-blind
	$(PY) -m ops.nlu_score $(RESULTS)/nlu-blind --contract --min-accuracy $(BLIND_MIN_ACCURACY) --min-macro-f1 $(BLIND_MIN_F1)
	$(RASA) test nlu --model $(MODEL) --domain domain --nlu tests/data/nlu_test.yml --out $(RESULTS)/nlu
	$(PY) -m ops.nlu_score $(RESULTS)/nlu --min-macro-f1 0.93

test: setup browser lint validate train pytest pytest-postgres test-stories nlu-gate

eval-nlu: train
	$(RASA) test nlu --config config.yml --domain domain --nlu data/nlu --cross-validation --folds 5 --out $(RESULTS)/nlu-cv
	$(PY) -m ops.nlu_score $(RESULTS)/nlu-cv
	$(RASA) test nlu --model $(MODEL) --domain domain --nlu $(DEV_NLU) --successes --out $(RESULTS)/nlu-dev
	$(PY) -m ops.nlu_score $(RESULTS)/nlu-dev --contract
	$(RASA) test nlu --model $(MODEL) --domain domain --nlu $(CHECK_NLU) --successes --out $(RESULTS)/nlu-dev2
	$(PY) -m ops.nlu_score $(RESULTS)/nlu-dev2 --contract
	$(RASA) test nlu --model $(MODEL) --domain domain --nlu $(BLIND_NLU) --successes --out $(RESULTS)/nlu-blind
	$(PY) -m ops.nlu_score $(RESULTS)/nlu-blind --contract
	$(RASA) test nlu --model $(MODEL) --domain domain --nlu tests/data/nlu_test.yml --out $(RESULTS)/nlu
	$(PY) -m ops.nlu_score $(RESULTS)/nlu

# Two NLU-only models on a snapshot of the data, with and without bot.dense_featurizer, both held-out sets.
eval-nlu-dense: venv
	$(PY) -m ops.nlu_compare --out $(RESULTS)/nlu-dense

eval-search: venv
	$(PY) -m benchmarks.search_eval

eval-entities: venv
	$(PY) -m benchmarks.entity_eval

# Conversations per second at 1/20/50 users and 20 users with a 1 s pause, beside a stock `rasa init` bot.
load: venv train prod-install
	$(PY) -m benchmarks.load embedded prod stock

bench: venv train
	$(PY) -m benchmarks.search_bench
	$(PY) -m benchmarks.turn_latency

bench-1m: venv
	$(PY) -m benchmarks.search_bench --scales "" --with-1m

# After loading a different catalogue: rebuild the search dictionary and the index.
search-vocab: venv
	$(PY) -m catalog_index dict
	$(PY) -m catalog_index reindex

# 20 conversations in parallel for SOAK_MINUTES (default 10): errors, latency per minute, memory per process.
SOAK_MINUTES ?= 10
soak: venv train
	$(PY) -m benchmarks.soak --conversations 20 --minutes $(SOAK_MINUTES)

# Tracker store retention (settings: TRACKER_RETENTION_DAYS, TRACKER_REDACT_IDLE_MINUTES); safe while running.
retention: venv
	$(PY) -m bot.tracker_store retention

wechat-redeliver: venv
	$(PY) -m bot.channels.wechat_push redeliver

lock: venv
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) models var .pytest_cache .ruff_cache web/node_modules web/static/vendor

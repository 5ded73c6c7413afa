# HomeSense: two commands for a newcomer, `make stage1` and `make test`.
# The first call builds .venv with pinned dependencies; nothing else is needed
# but Python 3.11+.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.8
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAGE  ?=
BASE_URL ?=
WS_URL ?=
PYTEST_ARGS ?=

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help stage1 stage2 stage3 test unit contract contract-all lint clean deploy-stage3

help:
	@echo "make stage1      run the monolith on http://$(HOST):$(PORT)"
	@echo "make stage2      run the microservices (Envoy on :$(PORT)) as local processes"
	@echo "make stage3      package the Chalice app and deploy it to a local ministack"
	@echo "make test        unit tests of every stage, then the contract suite against each"
	@echo "make contract STAGE=1|2|3   or   make contract BASE_URL=... [WS_URL=...]"

# --- virtual environment ----------------------------------------------------
# Stamps record which lock file was installed, so a second start costs nothing.
$(VENV)/bin/python:
	@echo ">> creating $(VENV) (first run only)"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.stage1: requirements/stage1.txt | $(VENV)/bin/python
	@echo ">> installing stage 1 dependencies (pinned, requirements/stage1.txt)"
	@$(UV) pip install -q --python $(PY) -r requirements/stage1.txt
	@touch $@

$(VENV)/.all: requirements/all.txt | $(VENV)/bin/python
	@echo ">> installing all dependencies (pinned, requirements/all.txt)"
	@$(UV) pip install -q --python $(PY) -r requirements/all.txt
	@touch $@ $(VENV)/.stage1

# --- run a stage ------------------------------------------------------------
stage1: $(VENV)/.stage1
	@$(PY) -m stage1_monolith serve --host $(HOST) --port $(PORT) --data-dir var/stage1

stage2: $(VENV)/.all
	@$(PY) -m stage2_microservices.local up --host $(HOST) --port $(PORT) --data-dir var/stage2

stage3: $(VENV)/.all
	@$(PY) -m stage3_serverless.local up --host $(HOST) --port $(PORT) --data-dir var/stage3

deploy-stage3: $(VENV)/.all
	@$(PY) -m stage3_serverless.deploy_aws

# --- tests ------------------------------------------------------------------
UNIT_DIRS := homesense_core stage1_monolith stage2_microservices stage3_serverless contract_tests/spec
CONTRACT_STAGES ?= 1 2 3

test: unit bench-smoke
	@for s in $(CONTRACT_STAGES); do \
	  echo ">> contract suite against stage $$s"; \
	  $(PY) -m pytest -q contract_tests --stage $$s $(PYTEST_ARGS) || exit $$?; \
	done

unit: $(VENV)/.all
	@echo ">> unit and integration tests"
	@$(PY) -m pytest -q $(UNIT_DIRS) $(PYTEST_ARGS)

contract: $(VENV)/.all
ifneq ($(BASE_URL),)
	@$(PY) -m pytest -q contract_tests --base-url $(BASE_URL) $(if $(WS_URL),--ws-url $(WS_URL)) $(PYTEST_ARGS)
else
	@$(PY) -m pytest -q contract_tests --stage $(or $(STAGE),1) $(PYTEST_ARGS)
endif

clean:
	rm -rf var .pytest_cache

# --- performance lab (issue 11) -----------------------------------------------
# wrk is a Debian package; installed here when missing (root, as on CI).
.PHONY: bench bench-smoke wrk
wrk:
	@command -v wrk >/dev/null 2>&1 || { echo ">> installing wrk (Debian package)"; \
	  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }

# Every stage and the baselines, one after another: docs/bench/results.{json,md}, PNG charts, cost model.
bench: $(VENV)/.all wrk
	@$(PY) -m bench.run --out docs/bench
	@$(PY) -m bench.report docs/bench/results.json docs/bench >/dev/null
	@$(PY) -m bench.cost docs/bench >/dev/null
	@echo ">> docs/bench/results.md, docs/bench/cost.md and the charts are up to date"

# A few seconds of load per stage (CI): fails on any HTTP error or lost push; output under var/.
bench-smoke: $(VENV)/.all wrk
	@echo ">> bench smoke run"
	@$(PY) -m pytest -q bench
	@$(PY) -m bench.run --smoke --out var/bench-smoke
	@$(PY) -m bench.report var/bench-smoke/smoke-results.json var/bench-smoke >/dev/null
	@$(PY) -m bench.cost var/bench-smoke >/dev/null

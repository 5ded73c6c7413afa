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
STEP   ?=
FROM   ?=
TO     ?=
BASE_URL ?=
WS_URL ?=
PYTEST_ARGS ?=

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help stage1 stage2 stage3 test unit contract contract-all lint clean deploy-stage3 \
        steps step migrate-data migration-test

help:
	@echo "make stage1      run the monolith on http://$(HOST):$(PORT)"
	@echo "make stage2      run the microservices (Envoy on :$(PORT)) as local processes"
	@echo "make stage3      package the Chalice app and deploy it to a local ministack"
	@echo "make test        unit tests of every stage, then the contract suite against each"
	@echo "make contract STAGE=1|2|3   or STEP=1b   or   make contract BASE_URL=... [WS_URL=...]"
	@echo "make steps       list the migration steps from stage 1 to stage 3, in order"
	@echo "make step STEP=1b   run one migration step on http://$(HOST):$(PORT)"
	@echo "make migrate-data FROM=1 TO=2   move a whole stage's data (FROM=2 TO=3 too; MIGRATE_ARGS=--help)"

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

# --- the migration path ---------------------------------------------------------
# `steps` uses the system Python: the step table is stdlib only, so it answers before any install.
steps:
	@$(PYTHON) -m migration steps

step: $(VENV)/.all
	@test -n "$(STEP)" || { echo "usage: make step STEP=<name>  (make steps lists them)"; exit 2; }
	@$(PY) -m migration step $(STEP) --host $(HOST) --port $(PORT) --data-dir var/step-$(STEP)

migrate-data: $(VENV)/.all
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make migrate-data FROM=1 TO=2  (or FROM=2 TO=3)"; exit 2; }
	@$(PY) -m migration data --from $(FROM) --to $(TO) \
	  $(if $(filter 3,$(TO)),--target-endpoint http://$(HOST):$(PORT)) $(MIGRATE_ARGS)

# --- tests ------------------------------------------------------------------
UNIT_DIRS := homesense_core stage1_monolith stage2_microservices stage3_serverless contract_tests/spec migration
CONTRACT_STAGES ?= 1 2 3
# Every migration step runs the same, unchanged contract suite.
CONTRACT_STEPS ?=

test: unit
	@for s in $(CONTRACT_STAGES); do \
	  echo ">> contract suite against stage $$s"; \
	  $(PY) -m pytest -q contract_tests --stage $$s $(PYTEST_ARGS) || exit $$?; \
	done
	@for s in $(CONTRACT_STEPS); do \
	  echo ">> contract suite against migration step $$s"; \
	  $(PY) -m pytest -q contract_tests --step $$s $(PYTEST_ARGS) || exit $$?; \
	done

unit: $(VENV)/.all
	@echo ">> unit and integration tests"
	@$(PY) -m pytest -q $(UNIT_DIRS) $(PYTEST_ARGS)

contract: $(VENV)/.all
ifneq ($(STEP),)
	@$(PY) -m pytest -q contract_tests --step $(STEP) $(PYTEST_ARGS)
else ifneq ($(BASE_URL),)
	@$(PY) -m pytest -q contract_tests --base-url $(BASE_URL) $(if $(WS_URL),--ws-url $(WS_URL)) $(PYTEST_ARGS)
else
	@$(PY) -m pytest -q contract_tests --stage $(or $(STAGE),1) $(PYTEST_ARGS)
endif

clean:
	rm -rf var .pytest_cache

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

test: unit
	@for s in $(CONTRACT_STAGES); do \
	  echo ">> contract suite against stage $$s"; \
	  $(PY) -m pytest -q contract_tests --stage $$s $(PYTEST_ARGS) || exit $$?; \
	done
	@$(MAKE) --no-print-directory e2e

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

# --- API explorer, dashboard and Postman: browser tests and Newman against every stage ---------
# Node.js tools are pinned in e2e/package.json + package-lock.json; the browser is Debian's chromium.
E2E_STAGES ?= 1,2,3
CHROMIUM_PATH ?= /usr/bin/chromium
NPM_FLAGS := --ignore-scripts --no-audit --no-fund --loglevel=error

.PHONY: e2e e2e-deps browser newman postman vendor-swagger-ui

$(CHROMIUM_PATH):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo ">> installing Debian's chromium (browser tests)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	else \
	  echo "The browser tests need Chromium at $(CHROMIUM_PATH): on Debian/Ubuntu run" >&2; \
	  echo "  sudo apt-get install chromium   (or set CHROMIUM_PATH=/path/to/chromium)" >&2; exit 1; \
	fi

e2e/node_modules/.installed: e2e/package.json e2e/package-lock.json
	@command -v npm >/dev/null || { echo "The browser tests and Newman need Node.js 18+ and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@echo ">> installing the pinned Node.js tools (npm ci in e2e/)"
	@cd e2e && npm ci $(NPM_FLAGS)
	@touch $@

e2e-deps: $(VENV)/.all $(CHROMIUM_PATH) e2e/node_modules/.installed

# Each stage starts once; its browser tests and the Newman run share it.
e2e: e2e-deps
	@echo ">> API explorer, dashboard (chromium) and Newman against stages $(E2E_STAGES)"
	@CHROMIUM_PATH=$(CHROMIUM_PATH) $(PY) -m pytest -q e2e --e2e-stages $(E2E_STAGES) $(PYTEST_ARGS)

browser: e2e-deps
	@CHROMIUM_PATH=$(CHROMIUM_PATH) $(PY) -m pytest -q e2e -k "browser or assets" --e2e-stages $(E2E_STAGES) $(PYTEST_ARGS)

newman: e2e-deps
	@$(PY) -m pytest -q e2e -k "newman or postman" --e2e-stages $(E2E_STAGES) $(PYTEST_ARGS)

# Regenerate the Postman collection after a change of contract/openapi.yaml.
postman: $(VENV)/.all
	@$(PY) postman/generate.py

# Copy the pinned Swagger UI into homesense_core/static (committed: `make stage1` needs no npm).
vendor-swagger-ui: e2e/node_modules/.installed
	@cp e2e/node_modules/swagger-ui-dist/swagger-ui-bundle.js e2e/node_modules/swagger-ui-dist/swagger-ui.css \
	    e2e/node_modules/swagger-ui-dist/LICENSE e2e/node_modules/swagger-ui-dist/NOTICE homesense_core/static/swagger-ui/

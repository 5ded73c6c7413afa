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

.PHONY: help stage1 stage2 stage3 test unit contract contract-all lint clean distclean deploy-stage3 \
        workshop-test exercise grade steps step migrate-data contracts contract-stages contract-steps cutover-test

help:
	@echo "make stage1      run the monolith on http://$(HOST):$(PORT)"
	@echo "make stage2      run the microservices (Envoy on :$(PORT)) as local processes"
	@echo "make stage3      package the Chalice app, deploy it to a local ministack, print export BASE=... WS=..."
	@echo "make deploy-stage3   deploy stage 3's template to a real AWS account (credentials from the environment)"
	@echo "make test        everything below that ends in -test, bench-smoke, contracts and e2e (~30 min)"
	@echo "make unit        unit and integration tests of the core and every stage"
	@echo "make contract STAGE=1|2|3   or STEP=1b   or   make contract BASE_URL=... [WS_URL=...]"
	@echo "make steps       list the migration steps from stage 1 to stage 3, in order"
	@echo "make step STEP=1b   run one migration step on http://$(HOST):$(PORT)"
	@echo "make migrate-data FROM=1 TO=2   move a whole stage's data (FROM=2 TO=3 too; MIGRATE_ARGS=--help)"
	@echo "make contracts   the contract suite against every stage and every step, CONTRACT_JOBS=2 at a time"
	@echo "make contract-stages   the same for the stages only"
	@echo "make contract-steps    the same for the migration steps only"
	@echo "make e2e         API explorer and dashboard in Chromium, and the Postman collection with Newman, on every stage"
	@echo "make browser     only the browser tests (E2E_STAGES=1,2,3)"
	@echo "make newman      only the Postman collection with Newman (E2E_STAGES=1,2,3)"
	@echo "make postman     regenerate the Postman collection from contract/openapi.yaml"
	@echo "make vendor-swagger-ui   copy the pinned Swagger UI into homesense_core/static"
	@echo "make e2e-deps    install Chromium (apt, as root) and the pinned Node.js tools"
	@echo "make cutover-test   every migration cutover (and a rollback) under live traffic"
	@echo "make bench       the performance and cost lab: every stage and the baselines, docs/bench/"
	@echo "make bench-smoke a few seconds of each bench profile (part of make test)"
	@echo "make wrk         install wrk (Debian package) if missing"
	@echo "make load-test   50 clients on each stage, $(LOAD_SECONDS) s each: zero 5xx, exact books, every push (make test)"
	@echo "make compose-test   stage 2 in Docker: build, compose up, contract suite, scale test, down"
	@echo "make compose-clean  remove the images compose-test keeps as its cache"
	@echo "make wheelhouse   the Python wheels the stage 2 images install from (no network in builds)"
	@echo "make workshop-test   README walkthrough, workshop checkpoints and links, exercise graders"
	@echo "make exercise N=1    prepare exercise 1 in var/exercises/1 (see docs/workshop/exercises/)"
	@echo "make grade N=1       run the tests that judge exercise 1 in var/exercises/1"
	@echo "make lint        ruff (pinned): syntax errors, undefined names, unused imports"
	@echo "make clean       remove what stages and tests wrote (var/ except var/exercises, build output, caches)"
	@echo "make distclean   clean, and remove var/exercises and .venv"
	@echo "make help        this list"

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
UNIT_DIRS := homesense_core stage1_monolith stage2_microservices stage3_serverless contract_tests/spec migration/tests
CONTRACT_STAGES ?= 1 2 3
# Every migration step runs the same, unchanged contract suite.
CONTRACT_STEPS ?= 1a 1b 1c 1d 2a 2b 2c

# `make test` is these, in this order; each can also be run alone.
test: unit workshop-test bench-smoke load-test contracts e2e cutover-test compose-test

# The suites run CONTRACT_JOBS at a time (each on its own free ports; mostly waiting on alerts).
CONTRACT_JOBS ?= 2

contracts: $(VENV)/.all
	@$(PY) -m contract_tests.run_all --jobs $(CONTRACT_JOBS) --stage $(CONTRACT_STAGES) --step $(CONTRACT_STEPS) -- $(PYTEST_ARGS)

contract-stages: $(VENV)/.all
	@$(PY) -m contract_tests.run_all --jobs $(CONTRACT_JOBS) --stage $(CONTRACT_STAGES) -- $(PYTEST_ARGS)

contract-steps: $(VENV)/.all
	@$(PY) -m contract_tests.run_all --jobs $(CONTRACT_JOBS) --step $(CONTRACT_STEPS) -- $(PYTEST_ARGS)

# Every cutover (and one rollback) under live traffic; prints what clients saw.
cutover-test: $(VENV)/.all
	@echo ">> migration cutovers under traffic"
	@$(PY) -m pytest -q -s migration/cutover_tests $(PYTEST_ARGS)

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

# Classic pyflakes + syntax rule set; var/ holds exercise copies of the repository.
lint: $(VENV)/.all
	@$(VENV)/bin/ruff check --select E4,E7,E9,F --extend-exclude var,build .

# var/exercises holds a student's work: only distclean removes it.
clean:
	@if [ -d var ]; then find var -mindepth 1 -maxdepth 1 ! -name exercises -exec rm -rf {} +; fi
	rm -rf .pytest_cache .ruff_cache stage3_serverless/build stage3_serverless/.chalice/deployments

distclean: clean
	rm -rf var $(VENV)

# --- workshop ---------------------------------------------------------------
# `make exercise 2` and `make exercise N=2` both work: the number after the goal is
# taken as N and made a do-nothing target.
ifneq ($(filter exercise grade,$(firstword $(MAKECMDGOALS))),)
  N ?= $(word 2,$(MAKECMDGOALS))
  ifneq ($(N),)
    $(eval $(N):;@:)
  endif
endif

workshop-test: $(VENV)/.all
	@echo ">> workshop: README walkthrough, module checkpoints and links, exercise graders"
	@$(PY) -m pytest -q workshop/tests $(PYTEST_ARGS)

exercise: $(VENV)/.all
	@$(PY) -m workshop.exercises prepare $(N)

grade: $(VENV)/.all
	@$(PY) -m workshop.exercises grade $(N)

# --- stage 2 in real containers -------------------------------------------------------------
# compose-test: engine (existing, else Debian's docker.io started and stopped here), images
# (official, else local stand-ins), compose up, contract suite + scale test, compose down -v.
# Without an engine it says so and passes, except under CI=true. Images are kept as the cache.
.PHONY: compose-test wheelhouse compose-clean
wheelhouse: $(VENV)/.all
	@$(PY) -m stage2_microservices.containers.images

compose-test: $(VENV)/.all
	@$(PY) -m stage2_microservices.containers.compose_test

compose-clean: $(VENV)/.all
	@$(PY) -m stage2_microservices.containers.compose_test --remove-images

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
e2e: $(VENV)/.all
	@if $(MAKE) --no-print-directory e2e-deps; then \
	  echo ">> API explorer, dashboard (chromium) and Newman against stages $(E2E_STAGES)"; \
	  CHROMIUM_PATH=$(CHROMIUM_PATH) $(PY) -m pytest -q e2e --e2e-stages $(E2E_STAGES) $(PYTEST_ARGS); \
	elif [ "$$CI" = true ]; then exit 1; \
	else echo ">> skipped the browser tests and Newman: Chromium or Node.js is missing (see above); CI never skips them"; fi

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

# --- performance lab (issue 11) -----------------------------------------------
# wrk is a Debian package; installed here when missing (root, as on CI).
.PHONY: bench bench-smoke wrk
wrk:
	@command -v wrk >/dev/null 2>&1 || { echo ">> installing wrk (Debian package)"; \
	  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; } \
	  || { echo "make bench needs wrk: on Debian/Ubuntu run  sudo apt-get install wrk" >&2; exit 1; }

# Every stage and the baselines, one after another: docs/bench/results.{json,md}, PNG charts, cost model.
bench: $(VENV)/.all wrk
	@$(PY) -m bench.run --out docs/bench
	@$(PY) -m bench.report docs/bench/results.json docs/bench >/dev/null
	@$(PY) -m bench.cost docs/bench >/dev/null
	@$(PY) -m bench.load --clients 50 --seconds 60 --out docs/bench
	@echo ">> docs/bench/results.md, docs/bench/cost.md, docs/bench/load.md and the charts are up to date"

# A few seconds of load per stage (CI): fails on any HTTP error or lost push; output under var/.
bench-smoke: $(VENV)/.all
	@echo ">> bench smoke run"
	@$(PY) -m pytest -q bench
	@if $(MAKE) --no-print-directory wrk; then \
	  $(PY) -m bench.run --smoke --out var/bench-smoke && \
	  $(PY) -m bench.report var/bench-smoke/smoke-results.json var/bench-smoke >/dev/null && \
	  $(PY) -m bench.cost var/bench-smoke >/dev/null; \
	elif [ "$$CI" = true ]; then exit 1; \
	else echo ">> skipped the bench smoke load: wrk is missing (see above); CI never skips it"; fi

# --- load check (issue 9) -------------------------------------------------------
# 50 clients on each stage (mixed reads and writes, WebSockets open), then the books: zero 5xx, every
# 202 reading stored exactly once, every alert push delivered. `make bench` runs it for 60 s.
.PHONY: load-test
LOAD_SECONDS ?= 10
load-test: $(VENV)/.all
	@echo ">> load check: 50 clients per stage, $(LOAD_SECONDS) s each"
	@$(PY) -m bench.load --clients 50 --seconds $(LOAD_SECONDS) --out var/load-test

# Build/test tooling of the Jira onboarding pipeline (AWS SAM).
#
#   make setup     dev venv (.venv), SAM CLI venv (.venv-sam), node_modules
#   make test      setup, lint, build, the unit suite, then the rest of pytest (what CI runs via .ci/run)
#   make test-unit the unit suite alone, with its coverage floors (the library, logic/)
#   make test-integration test-iam  the rest, recording every function's AWS calls, then those calls against the template's IAM
#   make lint | format | validate | build | coverage | demo | serve | bench | browser | openapi | clean | distclean
#
# Installs are stamped (.venv/.stamp-dev, .venv-sam/.stamp-sam, node_modules/.stamp-npm), so a
# repeated run reinstalls only when pyproject.toml / requirements-sam.txt / package-lock.json change.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)

VENV := .venv
VENV_SAM := .venv-sam
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SAM := $(VENV_SAM)/bin/sam
NPX := npx --no-install

DEV_STAMP := $(VENV)/.stamp-dev
SAM_STAMP := $(VENV_SAM)/.stamp-sam
NODE_STAMP := node_modules/.stamp-npm

BUILD_DIR := .aws-sam/build
TEMPLATE := template.yaml
MYPY_PATHS := layers/shared/jira_onboarding functions local_harness

# SAM CLI needs a region (samconfig.toml sets one too) and must not send telemetry.
SAM_ENV := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0

# Browser tests (headless Chromium from Debian) run in `make test` unless BROWSER_TESTS=0.
BROWSER_TESTS ?= 1
CHROMIUM ?= /usr/bin/chromium
TEST_BROWSER_DEPS := $(if $(filter 1 yes true,$(BROWSER_TESTS)),browser)
PYTEST_ARGS ?=
PYTEST_BROWSER_ARGS := $(if $(filter 1 yes true,$(BROWSER_TESTS)),,-m "not browser")

.PHONY: help setup venv sam-venv node lint format mypy validate build test test-unit test-integration test-iam coverage \
	demo serve bench browser openapi clean distclean

help:
	@sed -n '3,10p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- environments
venv: $(DEV_STAMP)
$(DEV_STAMP): pyproject.toml
	@echo "Setting up the Python environment in $(VENV) (the first time: about a minute)..."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q -e '.[dev]'
	touch $@

sam-venv: $(SAM_STAMP)
$(SAM_STAMP): requirements-sam.txt
	@echo "Setting up the SAM CLI in $(VENV_SAM) (for the template checks and sam build)..."
	test -x $(VENV_SAM)/bin/python || $(PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/pip install --disable-pip-version-check -q -r requirements-sam.txt
	touch $@

node: $(NODE_STAMP)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: venv sam-venv node

# ---------------------------------------------------------------- checks
# Every functions/<name>/app.py is a top-level module `app`: --explicit-package-bases names them
# functions.<name>.app instead, and MYPYPATH keeps the layer's package named jira_onboarding.
# (Paths that hold no Python yet are left out: mypy refuses an empty directory.)
MYPY_TARGETS = $(foreach p,$(MYPY_PATHS),$(if $(wildcard $(p)/*.py $(p)/*/*.py),$(p)))
MYPY_CMD = MYPYPATH=layers/shared $(VENV)/bin/mypy --explicit-package-bases $(MYPY_TARGETS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MYPY_CMD)

mypy: venv
	$(MYPY_CMD)

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

validate: venv sam-venv node
	$(SAM_ENV) $(SAM) validate --lint --template $(TEMPLATE)
	$(VENV)/bin/cfn-lint $(TEMPLATE)
	@# Every state machine's ASL (found from the template) holds ${...} DefinitionSubstitutions
	@# placeholders: asl-validator checks a rendered copy with dummy ARNs, never the real file.
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PY) tests/infrastructure/render_asl.py --template $(TEMPLATE) --out-dir "$$tmp" > "$$tmp/list"; \
	while read -r f; do $(NPX) asl-validator --json-path "$$f"; done < "$$tmp/list"

build: sam-venv
	$(SAM_ENV) $(SAM) build --template $(TEMPLATE) --build-dir $(BUILD_DIR) \
		--cached --cache-dir .aws-sam/cache --parallel

# tests/infrastructure/test_sam_build.py inspects the fresh $(BUILD_DIR) this leaves (it rebuilds
# into a temp dir only when $(BUILD_DIR) is older than the sources). The linters of `make validate`
# run once, as tests (tests/infrastructure/test_template_tools.py), not again here.
#
# Branch coverage (pyproject.toml [tool.coverage]) is measured on the unit suite, with two floors,
# so `make test` fails when either drops: the whole shared library (measured 94.0%, 2026-12-08) and
# logic/ alone (97%). The integration suite runs without it: under Python 3.11's trace hook every
# Python call of moto and botocore pays for the tracer, whatever `source` says, and the suite took
# twice as long (test_pipeline_end_to_end + test_resync_idempotent: 11.8 s, 21.4 s traced).
# `make coverage` measures the whole suite (96% with the integration tests).
COVERAGE_FLOOR ?= 93
UNIT_LOGIC_COVERAGE_FLOOR ?= 95
# The unit suite on every core; the integration suite on twice as many workers as cores, because
# its tests spend a third of their time waiting (Jira's latency, Wait states, pollers): on 2 workers
# the machine's two cores were 67% busy. `worksteal` keeps them all busy to the end; pytest-randomly
# shuffles the order of every run (its seed is printed: `--randomly-seed=N` replays it).
PYTEST_WORKERS ?= 2
INTEGRATION_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
xdist = $(if $(filter-out 0 1,$(1)),-n $(1) --dist worksteal)
test: setup $(TEST_BROWSER_DEPS) lint build test-unit test-integration test-iam

# moto checks no IAM: while the integration suite runs, every AWS call a function makes is recorded
# (IAM_CALLS_DIR, one file per worker: local_harness/iam_calls.py), and `test-iam` then checks each
# against the function's policies in template.yaml, and that every grant written there is used
# (tests/infrastructure/test_iam_grants.py). Only a whole run's recordings are complete: after a run
# with PYTEST_ARGS selecting tests, test-iam reports grants as unused.
# Every answer the suite gets through LocalStack.http (the handlers as API Gateway calls them, the
# fuzz test's too) is recorded too, then checked against openapi/openapi.json: documented status,
# body of its schema (local_harness/openapi_contract.py).
IAM_CALLS_DIR := artifacts/iam-calls
OPENAPI_ANSWERS := .pytest_cache/openapi-answers
test-integration: venv
	rm -rf $(IAM_CALLS_DIR) $(OPENAPI_ANSWERS) && mkdir -p $(OPENAPI_ANSWERS)
	IAM_CALLS_DIR=$(IAM_CALLS_DIR) OPENAPI_RECORD_DIR=$(CURDIR)/$(OPENAPI_ANSWERS) \
		$(PY) -m pytest $(call xdist,$(INTEGRATION_WORKERS)) --ignore=tests/unit $(PYTEST_BROWSER_ARGS) $(PYTEST_ARGS)
	$(PY) -m local_harness.openapi_contract $(OPENAPI_ANSWERS)

test-iam: venv sam-venv
	IAM_CALLS_CHECK=$(IAM_CALLS_DIR) $(PY) -m pytest tests/infrastructure/test_iam_grants.py -q -p no:schemathesis

# schemathesis' pytest plugin (only the API fuzz tests use it) costs ~1 s of imports: not loaded here.
test-unit: venv
	$(PY) -m pytest tests/unit $(call xdist,$(PYTEST_WORKERS)) -q -p no:schemathesis --cov --cov-report=
	$(PY) -m coverage report --fail-under=$(COVERAGE_FLOOR) | grep TOTAL
	$(PY) -m coverage report --include='*/jira_onboarding/logic/*' --fail-under=$(UNIT_LOGIC_COVERAGE_FLOOR) | grep TOTAL

coverage: venv
	$(PY) -m pytest tests/unit $(call xdist,$(PYTEST_WORKERS)) -q -p no:schemathesis --cov --cov-report=
	$(PY) -m pytest $(call xdist,$(INTEGRATION_WORKERS)) --ignore=tests/unit $(PYTEST_BROWSER_ARGS) \
		--cov --cov-append --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR) $(PYTEST_ARGS)

# ---------------------------------------------------------------- running things
# The demo needs the Python environment only (not the SAM CLI nor the page's node packages).
demo: venv
	$(VENV)/bin/jira-onboarding demo

serve: venv node
	$(VENV)/bin/jira-onboarding serve

# bench_start_handler.py measures cold imports on the built artifacts, as Lambda runs them.
bench: venv build
	for f in bench/bench_*.py; do \
		[ -e "$$f" ] || continue; \
		echo "== $$f"; $(PY) "$$f"; \
	done

openapi: venv
	$(PY) -m local_harness.openapi

browser:
	@if [ -x $(CHROMIUM) ]; then echo "chromium: $(CHROMIUM)"; else \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	fi

# ---------------------------------------------------------------- cleaning
clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov .coverage coverage.xml
	find . -path ./node_modules -prune -o -path './.venv*' -prune -o \
		-type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(VENV_SAM) node_modules

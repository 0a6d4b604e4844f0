# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
# Each target installs only what it needs and is quick when already set up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# Examples of the exactness property (tests/unit/engine/test_exactness.py) in `make test` and CI: a
# mistake that shows in 1 stream of 1,000 is found with p = 1 - 0.999^1000 = 0.63, one that hits 1 event
# in 1,000 (~30 per stream) with p > 0.999; ~0.07 s of CPU per example (README, "Exactness").
EXACTNESS_EXAMPLES ?= 1000
MUTATE_STAMP := $(VENV)/.mutate-installed
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint setup bench schemas web-vendor mutate clean

demo: $(PY_STAMP) $(NODE_STAMP)  ## the main job, embedded: no cloud account, nothing to start by hand
	$(BIN)/pulse demo $(ARGS)

test: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM)  ## install what the tests need, lint, and run them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared
	PULSE_EXACTNESS_EXAMPLES=$(EXACTNESS_EXAMPLES) $(BIN)/python -m pytest -q

lint: $(PY_STAMP)  ## ruff and mypy --strict on the domain
	$(BIN)/ruff check .
	$(BIN)/mypy shared

bench: $(PY_STAMP)  ## the benchmark command: figures, ratios against baselines run side by side
	$(BIN)/python -m benchmarks $(ARGS)

schemas: $(PY_STAMP)  ## regenerate the producers' JSON Schemas
	$(BIN)/pulse schemas

setup: $(PY_STAMP) $(NODE_STAMP)

# Mutation testing of the code that decides a KPI value ([tool.mutmut] in pyproject.toml); not part of
# `make test`. ARGS narrows it, e.g. `make mutate ARGS='shared.money*'`; the report lists the survivors.
mutate: $(MUTATE_STAMP)
	PULSE_EXACTNESS_EXAMPLES=$${PULSE_EXACTNESS_EXAMPLES:-10} $(BIN)/mutmut run $(ARGS) || true
	$(BIN)/mutmut results --all true | $(BIN)/python -m tests.support.mutation_report

$(MUTATE_STAMP): $(PY_STAMP) requirements-mutate.txt
	$(PIP) install -r requirements-mutate.txt 2> >(grep -v "^WARNING: Location" >&2)
	@touch $@

web-vendor: $(PY_STAMP) $(NODE_STAMP)  ## copy Chart.js beside the page files, for the Function App package
	$(BIN)/python -m shared.web.vendor

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements-dev.txt 2> >(grep -v "^WARNING: Location" >&2)
	$(PIP) install --no-deps -e . 2> >(grep -v "^WARNING: Location" >&2)
	@touch $@

# Debian's Chromium drives the browser tests (Playwright with executable_path; no browser download).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache .hypothesis mutants

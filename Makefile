# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
# Each target installs only what it needs and is quick when already set up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint setup bench schemas web-vendor clean

demo: $(PY_STAMP) $(NODE_STAMP)  ## the main job, embedded: no cloud account, nothing to start by hand
	$(BIN)/pulse demo $(ARGS)

test: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM)  ## install what the tests need, lint, and run them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared
	$(BIN)/python -m pytest -q

lint: $(PY_STAMP)  ## ruff and mypy --strict on the domain
	$(BIN)/ruff check .
	$(BIN)/mypy shared

bench: $(PY_STAMP)  ## the benchmark command: figures, ratios against baselines run side by side
	$(BIN)/python -m benchmarks $(ARGS)

schemas: $(PY_STAMP)  ## regenerate the producers' JSON Schemas
	$(BIN)/pulse schemas

setup: $(PY_STAMP) $(NODE_STAMP)

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
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache .hypothesis

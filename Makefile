# Reelflow: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-e2e lint format bench clean

$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(INSTALLED)

install: $(INSTALLED)

## The main job: the documentary demo on local providers, answered "approve" at the review gate.
demo: install
	$(VENV)/bin/reelflow demo --approve

## The whole test suite (PostgreSQL tests skip outside CI when the server is down), in two
## processes (each with its own Prefect server and databases), a test file per process at once.
test: install
	$(PY) -m pytest -n 2 --dist loadfile --durations=15

## Only the end-to-end deployment test (real server, work pool and worker).
test-e2e: install
	$(PY) -m pytest -m e2e

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/run_script.py

clean:
	rm -rf $(VENV) .reelflow output .pytest_cache .mypy_cache .ruff_cache

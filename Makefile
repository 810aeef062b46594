# Two entry points: `make run` (the kiosk; a headless demo when there is no camera or screen)
# and `make test` (lint, type check, tests). Both create .venv and install on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ekyc-kiosk demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check kiosk tests scripts benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/ekyc-kiosk bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info

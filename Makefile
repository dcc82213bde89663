# One command each: `make run` (set up and start), `make test` (set up and test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run chat test lint bench train clean lock

# The dependencies exactly as locked (versions and hashes), then the project itself.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

## Regenerate the lock files after changing the dependencies in pyproject.toml: the image
## installs requirements.lock, `make` and CI requirements-dev.lock (both with hashes).
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet
lock: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(LOCK) --extra postgres -o requirements.lock
	$(LOCK) --extra postgres --extra dev -o requirements-dev.lock

## Start the bots whose tokens are set in .env / the environment, else the console chat.
run: $(STAMP)
	$(BIN)/supportbot

## The offline console chat: customer and operator in one terminal.
chat: $(STAMP)
	$(BIN)/supportbot chat

## The whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q

## ruff (lint, and the format check of every package and the tests) and mypy on core, config and bots.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check core config bots tests bench
	$(BIN)/mypy

## Speed and accuracy figures (not part of the tests).
bench: $(STAMP)
	$(BIN)/python bench/nlu_bench.py
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/process_bench.py
	$(BIN)/python bench/operators_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

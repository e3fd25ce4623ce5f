# `make run` and `make test` set themselves up: a virtual environment in .venv, installed
# from pyproject.toml, rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check lint format chat bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot serve

chat: $(STAMP)
	$(BIN)/python -m bot chat

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

check: lint test

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Set INTAKE_BENCH_POSTGRES_URL (a PostgreSQL server it may create databases on) to add the
# PostgreSQL column; `make bench ARGS="--help"` lists the knobs. wrk is installed when root.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
		else \
			echo "make bench needs wrk: run 'sudo apt-get install -y wrk' (or your system's package)" >&2; \
			exit 1; \
		fi; \
	}
	$(BIN)/python -m bench $(ARGS)

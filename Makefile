# Developer entry points. Tools come from the project venv ($(VENV)/bin), which
# scripts/setup creates and refreshes when requirements/lock.txt or
# pyproject.toml change (tracked through the stamp file below).

VENV  ?= .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.eioku-lock-sha
# bench/ may not exist yet (git keeps no empty directories).
PY_PATHS := $(wildcard src tests bench)
PYTEST_ARGS ?=

.PHONY: all setup check fmt test bench

all: check

setup:
	@scripts/setup

$(STAMP): requirements/lock.txt pyproject.toml
	@scripts/setup

# Runs every check even when an earlier one fails, then fails if any did.
check: $(STAMP)
	@rc=0; \
	echo "+ ruff check $(PY_PATHS)"; $(BIN)/ruff check $(PY_PATHS) || rc=1; \
	echo "+ ruff format --check $(PY_PATHS)"; $(BIN)/ruff format --check $(PY_PATHS) || rc=1; \
	echo "+ mypy"; $(BIN)/mypy || rc=1; \
	echo "+ lint-imports"; $(BIN)/lint-imports || rc=1; \
	exit $$rc

fmt: $(STAMP)
	$(BIN)/ruff format $(PY_PATHS)
	$(BIN)/ruff check --fix $(PY_PATHS)

# Extra pytest arguments: make test PYTEST_ARGS="-k foo -x"
test:
	@scripts/test $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

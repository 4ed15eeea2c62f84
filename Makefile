# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test lint typecheck pytest bench bench-quick demo clean ui ui-test

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# `make run` serves a data home of its own inside the checkout, filled on first run with four weeks of
# simulated history (`peft-telemetry demo --days 28`), so every dashboard view and insight has something
# to show. `make run DATA_HOME=~/.peft-studio` serves your real data home instead (nothing is added to it).
DATA_HOME ?= $(CURDIR)/.demo-home

run: $(STAMP)
	@if [ "$(DATA_HOME)" = "$(CURDIR)/.demo-home" ] && [ ! -f "$(DATA_HOME)/telemetry/events.duckdb" ]; then \
	  $(VENV)/bin/peft-telemetry --home "$(DATA_HOME)" enable && \
	  $(VENV)/bin/peft-telemetry --home "$(DATA_HOME)" demo --days 28; \
	fi
	$(VENV)/bin/peft-telemetry --home "$(DATA_HOME)" serve --port $(PORT)

demo: $(STAMP)
	$(VENV)/bin/peft-telemetry --home "$(DATA_HOME)" enable
	$(VENV)/bin/peft-telemetry --home "$(DATA_HOME)" demo --days 28

test: $(STAMP) lint typecheck ui-test
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/pytest

# The UI (ui/, React + TypeScript) is built into telemetry/web/static and committed: `make run` and a pip
# install need no Node.js. After changing ui/, `make ui` rebuilds the page; `make test` fails while the
# committed page is stale, type-checks, runs the component tests against a real `peft-telemetry serve`,
# and builds the package and the host-app example that tests/web opens in Chromium.
UI_DEPS := ui/node_modules/.installed

$(UI_DEPS): ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	touch $(UI_DEPS)

ui: $(UI_DEPS)
	cd ui && npm run build:page

ui-test: $(STAMP) $(UI_DEPS)
	bash scripts/check-ui-build.sh
	cd ui && npm run typecheck
	cd ui && npm run build:lib && npm run build:host
	cd ui && PEFT_TELEMETRY_CLI=$(CURDIR)/$(VENV)/bin/peft-telemetry npx --no-install vitest run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The export bench's baseline, upstream's OTLP JSON file exporter, pins opentelemetry-exporter-otlp-common
# 0.66b1 while the proto-http exporter pins 0.66b2: installed without its dependencies (it does not use it).
UPSTREAM_JSON := opentelemetry-proto-json==0.66b1 opentelemetry-exporter-otlp-json-common==0.66b1 \
                 opentelemetry-exporter-otlp-json-file==0.66b1

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m pip install -q --no-deps $(UPSTREAM_JSON)
	$(PY) bench/run.py

bench-quick: $(STAMP)
	$(PY) bench/run.py --quick

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache ui/node_modules ui/dist ui/host-example/dist

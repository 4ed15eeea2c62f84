# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test lint typecheck pytest bench bench-quick demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/peft-telemetry serve --port $(PORT)

demo: $(STAMP)
	$(VENV)/bin/peft-telemetry demo

test: $(STAMP) lint typecheck
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/pytest

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
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# Two commands do all the set-up on a fresh machine:
#   make demo   run the bundled sample program end to end (writes runs/demo and maps/)
#   make test   run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean browser jslint install-check

$(BIN)/python:
	@echo "make: creating the virtual environment $(VENV) ($(PYTHON) -m venv)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "make: installing forestcarbon and its dependencies into $(VENV) (pip, a few minutes)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/forestcarbon demo --out runs/demo
	cp runs/demo/maps/*.html maps/
	@echo "maps: open maps/tsuyama-sample.html (public) or maps/tsuyama-sample_internal.html"

# Debian's chromium for the map's browser tests (installed when root with apt-get; else skipped)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing Debian's chromium for the map's browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium not found: the browser tests will be skipped" \
	    "(apt-get install chromium fonts-noto-cjk)"; fi; }

# eslint on the map's browser code (node and npm: part of the machine image; package.json)
jslint:
	@test -d node_modules || { echo "make: installing eslint for the map's JavaScript (npm ci)"; \
	  npm ci --no-audit --no-fund --silent; }
	npx eslint forestcarbon/outputs/static/map.js

test: $(STAMP) browser jslint
	$(BIN)/ruff check forestcarbon tests benchmarks notebooks
	$(BIN)/ruff format --check forestcarbon tests benchmarks notebooks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# a fresh venv, the newest pip, pip install -e and pip wheel: no warning printed (network needed)
install-check: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests/test_packaging.py

lint: $(STAMP)
	$(BIN)/ruff check forestcarbon tests benchmarks notebooks
	$(BIN)/ruff format forestcarbon tests benchmarks notebooks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python benchmarks/bench_fo001.py
	$(BIN)/python benchmarks/bench_zonal.py

clean:
	rm -rf runs build *.egg-info .pytest_cache

# Two commands do all the set-up on a fresh machine:
#   make demo   run the bundled sample program end to end (writes runs/demo and maps/)
#   make test   run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/forestcarbon demo --out runs/demo
	cp runs/demo/maps/*.html maps/
	@echo "maps: open maps/tsuyama-sample.html (public) or maps/tsuyama-sample_internal.html"

test: $(STAMP)
	$(BIN)/ruff check forestcarbon tests benchmarks notebooks
	$(BIN)/ruff format --check forestcarbon tests benchmarks notebooks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check forestcarbon tests benchmarks notebooks
	$(BIN)/ruff format forestcarbon tests benchmarks notebooks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python benchmarks/bench_fo001.py
	$(BIN)/python benchmarks/bench_zonal.py

clean:
	rm -rf runs build *.egg-info .pytest_cache

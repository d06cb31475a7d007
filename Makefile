# The verbs people type. Each sets up .venv on first use (Python 3.11+ as python3).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## send examples/orders.xlsx to the example API and show the results
	$(BIN)/python examples/demo.py

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff and mypy, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)  ## CPU per row, rows/s and start-up, each beside its ceiling (docs/performance.md)
	$(BIN)/python benchmarks/cpu.py
	$(BIN)/python benchmarks/startup.py

docs: $(STAMP)  ## regenerate docs/configuration.md from the settings table
	$(BIN)/python -m excelfmt.settings.reference > docs/configuration.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis examples/*.results.xlsx

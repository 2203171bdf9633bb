# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@echo '$$ gdcli derive "max(0, 3*w+2)" --at=-2/3'
	@$(BIN)/gdcli derive "max(0, 3*w+2)" --at=-2/3 --no-plot
	@echo '$$ gdcli derive'
	@$(BIN)/gdcli derive --no-plot
	@echo '$$ gdcli slope --h 1e-3'
	@$(BIN)/gdcli slope --h 1e-3
	@echo '$$ gdcli plot'
	@$(BIN)/gdcli plot

test: $(TSTAMP)
	$(BIN)/python -m pytest
	$(BIN)/ruff check gdcli tests benchmarks
	$(BIN)/ruff format --check gdcli tests benchmarks
	$(BIN)/mypy

lint: $(TSTAMP)
	$(BIN)/ruff check gdcli tests benchmarks
	$(BIN)/ruff format --check gdcli tests benchmarks
	$(BIN)/mypy

bench: $(TSTAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

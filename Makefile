# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench fuzz clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Byte-compile up front: with PYTHONDONTWRITEBYTECODE set (as on some machines) every
# start-up would otherwise compile gdcli's sources again.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q gdcli
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q gdcli
	touch $@ $(STAMP)

install: $(STAMP)

# The main job on the default loss (w - 3)**2, then a short tour of the other commands,
# ending with training data: mini-batch descent on examples/line.csv.
demo: $(STAMP)
	@echo '$$ gdcli descend --lr 0.1 --steps 50'
	@$(BIN)/gdcli descend --lr 0.1 --steps 50 --format table
	@echo; echo '$$ gdcli derive'
	@$(BIN)/gdcli derive --format table
	@echo; echo '$$ gdcli derive "max(0, 3*w+2)" --at=-2/3'
	@$(BIN)/gdcli derive "max(0, 3*w+2)" --at=-2/3 --format table
	@echo; echo '$$ gdcli slope --h 1e-3'
	@$(BIN)/gdcli slope --h 1e-3 --format table
	@echo; echo '$$ gdcli plot'
	@$(BIN)/gdcli plot --format table
	@echo; echo '$$ gdcli grad "sum((W @ x - y)**2)" --set x=[1,2] --set y=[3,4] --at W=0 --shape W=2x2'
	@$(BIN)/gdcli grad "sum((W @ x - y)**2)" --set x=[1,2] --set y=[3,4] --at W=0 --shape W=2x2 --format table
	@echo; echo '$$ gdcli check "w**2" "2*w"'
	@$(BIN)/gdcli check "w**2" "2*w" --format table
	@echo; echo '$$ gdcli sweep --lr 0.1:2:20 --start 0 --steps 500'
	@$(BIN)/gdcli sweep --lr 0.1:2:20 --start 0 --steps 500 --format table
	@echo; echo '$$ gdcli descend "(w*x + b - y)**2" --data examples/line.csv --start w=0,b=0 --batch-size 8 --epochs 10 --full'
	@$(BIN)/gdcli descend "(w*x + b - y)**2" --data examples/line.csv --start w=0,b=0 --batch-size 8 --epochs 10 --full --format table
	@echo; echo '$$ gdcli grad "(w*x + b - y)**2" --data examples/line.csv --at w=0,b=0 --per-example'
	@$(BIN)/gdcli grad "(w*x + b - y)**2" --data examples/line.csv --at w=0,b=0 --per-example --format table

test: $(TSTAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check gdcli tests benchmarks examples
	$(BIN)/ruff format --check gdcli tests benchmarks examples
	$(BIN)/mypy

lint: $(TSTAMP)
	$(BIN)/ruff check gdcli tests benchmarks examples
	$(BIN)/ruff format --check gdcli tests benchmarks examples
	$(BIN)/mypy

# Fuzzing: the property tests with new random examples each run, many more of them
# (tests/conftest.py's `fuzz` profile); `make test` runs the same tests derandomized.
fuzz: $(TSTAMP)
	GDCLI_FUZZ_PROFILE=fuzz $(BIN)/python -m pytest -q tests/test_fuzz.py tests/test_hostile.py \
		tests/test_engine_hypothesis.py tests/test_derivation.py

# The sources compiled again first: with PYTHONDONTWRITEBYTECODE set, a source edited
# since the install would be compiled at every start-up, and the start-up figures with it.
bench: $(TSTAMP)
	$(BIN)/python -m compileall -q gdcli
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

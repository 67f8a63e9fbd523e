# Everything a fresh clone needs: `make run` (set up, load the samples, start the bot or a chat)
# and `make test` (set up, lint, type-check, run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SHARED ?= ../shared

.PHONY: install run test lint eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# pip would compile every module it installs (torch alone has thousands, minutes on a slow CPU);
# --no-compile leaves it to the first import, which writes the bytecode of the modules used into the
# venv, so it is not turned off here.
PIP_INSTALL := $(BIN)/pip install --quiet --no-compile
unexport PYTHONDONTWRITEBYTECODE

# CPU torch goes in first: an unpinned torch would pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) torch==2.13.0
	$(PIP_INSTALL) -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(BIN)/newsdesk ingest --samples
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then exec $(BIN)/newsdesk bot; else exec $(BIN)/newsdesk chat; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Test files run in parallel workers (one per core, at most 4; each file in one worker, so its module
# fixtures are made once), each with one torch thread: much of the suite waits on processes that
# start and import, and those overlap (3m19s against 5m22s on 2 cores).
test: lint
	OMP_NUM_THREADS=1 $(BIN)/pytest -n auto --maxprocesses 4 --dist loadfile

# Not part of `make test`: scores the bot on the development set in $(SHARED)/eval (see docs/evaluation.md).
# The corpus store is built once under data/eval/ and reused by later runs.
eval: install
	@if [ -f $(SHARED)/eval/dev.jsonl ] && [ -f $(SHARED)/eval/dev_corpus.jsonl ]; then \
		$(BIN)/newsdesk eval $(SHARED)/eval/dev.jsonl --corpus $(SHARED)/eval/dev_corpus.jsonl; \
	else \
		echo "skipped: $(SHARED)/eval is absent (the development set lives outside the repo)"; \
	fi

BENCH_STAMP := $(VENV)/.bench-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(BENCH_STAMP): $(STAMP)
	$(PIP_INSTALL) -e '.[bench]'
	rm -f $(VENV)/.bench-installed-*
	touch $@

# Each benchmark prints its ratios from one run and skips cleanly when $(SHARED)/eval is absent.
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/ingest_speed.py
	$(BIN)/python benchmarks/query.py
	$(BIN)/python benchmarks/baseline.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

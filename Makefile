# Two commands do all set-up on a fresh machine (see README):
#   make run    creates .venv, installs abstractpipe, runs the pipeline on raw/ into processed/
#   make test   creates .venv, installs abstractpipe with its dev tools, runs ruff and the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/abstractpipe run configs/default.yaml --raw raw --out processed

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/boilerplate.py
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/align.py
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf processed/records processed/*.json processed/*.jsonl

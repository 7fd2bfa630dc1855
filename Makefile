# The two jobs: `make run` (install, ingest the sample corpus into an empty store, serve)
# and `make test` (install, run the suite). Both build the same .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install system-deps bench clean

run: install
	$(BIN)/scrkb ingest --if-empty corpora/sample
	$(BIN)/scrkb serve

test: install
	$(BIN)/python -m pytest

install: system-deps $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# torch first, pinned: an unpinned resolve would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet -c constraints.txt "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# Every benchmark: one JSON line per figure, then a table (`BENCH="--quick"` for a first look).
bench: install
	$(BIN)/python -m bench $(BENCH)

system-deps:
	@bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) build *.egg-info

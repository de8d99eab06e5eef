# The two commands that matter: `make book` and `make test`. Every target installs first
# (idempotent: the virtual environment is rebuilt only when pyproject.toml or
# constraints.txt changed since it was made).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEPS := pyproject.toml constraints.txt

# Real data lives outside the repo; default to ../shared/data when it exists.
ifeq ($(origin REPRO_DATA), undefined)
  ifneq ($(wildcard ../shared/data),)
    export REPRO_DATA := $(abspath ../shared/data)
  endif
endif
export TF_CPP_MIN_LOG_LEVEL := 2
export PYDEVD_DISABLE_FILE_VALIDATION := 1

CHAIN ?=
PARAMS ?=
PROFILE ?= full

.PHONY: help install book test run claims data-check clean status check-book verify verify-ci

help:
	@echo "make install                     create/refresh .venv with the pinned dependencies"
	@echo "make book                        run every chain (full profile, unchanged notebooks skipped) and build _build/html"
	@echo "make test                        unit + CLI tests and every notebook under nbval (smoke profile)"
	@echo "make run CHAIN=agn PARAMS=\"seed=7\" [PROFILE=full]   re-run one paper with parameters"
	@echo "make claims                      print the claims table"
	@echo "make data-check                  verify every registered data set"
	@echo "make status                      is each chain's record fresh, stale (and why) or missing?"
	@echo "make verify CHAIN=agn            re-execute a chain's committed record under strict nbval"
	@echo "make verify-ci                   the same for the chains CI verifies (agn databright adpsgd dcd)"
	@echo "make check-book                  build the book from the records (executing nothing), open every page in Chromium"

install: $(STAMP)

$(STAMP): $(DEPS)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 2; }
	@if [ ! -x $(PY) ]; then echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,book]"
	@touch $(STAMP)

# FORCE=1 re-runs every notebook of every chain.
book: install
	$(PY) -m repro book $(if $(FORCE),--force,)

status: install
	$(PY) -m repro status

check-book: install
	$(PY) -m repro check-book

# Re-execute the committed record of one chain (or of several: CHAIN="agn dcd") under strict nbval.
verify: install
	@if [ -z "$(CHAIN)" ]; then echo "usage: make verify CHAIN=<id> [CHAIN=\"id1 id2\"]"; exit 2; fi
	@set -e; for c in $(CHAIN); do $(PY) -m repro verify $$c; done

# The records CI re-executes on every change (repro.verify.CI_CHAINS).
verify-ci: install
	$(PY) -m repro verify --ci

# Notebooks under nbval write their results to .cache/test-results (never into results/).
test: install
	rm -rf .cache/test-results
	REPRO_RESULTS=$(CURDIR)/.cache/test-results $(PY) -m pytest -q tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider

run: install
	@if [ -z "$(CHAIN)" ]; then echo "usage: make run CHAIN=<id> [PARAMS=\"key=value ...\"] [PROFILE=smoke|full]"; exit 2; fi
	$(PY) -m repro run $(CHAIN) --profile $(PROFILE) $(foreach kv,$(PARAMS),-p $(firstword $(subst =, ,$(kv))) $(patsubst $(firstword $(subst =, ,$(kv)))=%,%,$(kv)))

claims: install
	$(PY) -m repro claims

data-check: install
	$(PY) -m repro data check

clean:
	rm -rf _build book/_executed results

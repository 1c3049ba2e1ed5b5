# The README's two commands: `make demo` and `make test`. Both create the virtual environment.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/quickstart.py

# A fresh numba cache for every run: a stale cache can hide an edit to another module.
# Benchmarks run once each in quick mode (smoke test); `make bench` measures them. Two workers
# (pytest-xdist), each with its own numba cache folder (tests/conftest.py); worksteal moves queued
# tests to the worker that runs dry, so one long compile test at the end does not leave a core idle.
test: $(VENV)/.installed lint
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	NUMBA_CACHE_DIR=$$cache NUMBA_AD_BENCH_QUICK=1 $(PY) -m pytest -q -n 2 --dist worksteal tests benchmarks --benchmark-disable

# ruff's lint and format checks over everything Python in the repository (config: pyproject.toml).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check numba_ad tests benchmarks examples
	$(VENV)/bin/ruff format --check numba_ad tests benchmarks examples

bench: $(VENV)/.installed
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	NUMBA_CACHE_DIR=$$cache $(PY) -m pytest -q benchmarks --benchmark-only --benchmark-columns=median,iqr,rounds --benchmark-sort=name && \
	NUMBA_CACHE_DIR=$$cache $(PY) benchmarks/report.py

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .hypothesis build *.egg-info

# Quick start: `make demo` and `make test`. Each target builds .venv itself
# from the lock files, so a fresh machine installs exactly the same versions.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo demo-serve demo-home test lint typecheck unit bench bench-quick clean lock

$(VENV)/.runtime: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -qq --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime
	$(BIN)/python -m pip install -qq --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

# Builds a realistic simulated workspace, imports it, reconciles, prints the report.
demo: $(VENV)/.runtime
	$(BIN)/daozhang --home .demo demo

# Serves the demo workspace on http://127.0.0.1:8000 (building it first if need be),
# signed in as a demo admin whose new password is printed each time.
demo-serve: $(VENV)/.runtime
	test -f .demo/daozhang.db || $(BIN)/daozhang --home .demo demo
	$(BIN)/daozhang --home .demo serve --demo

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest -q

test: lint typecheck unit

# 100k, 1M and 10M POS transactions: import and reconcile timed separately,
# against a bare DuckDB pass over the same files. BENCH_SIZES to choose.
# Then each real format (camt.053, MT940, bills, ISO 8583, a column profile)
# at BENCH_FORMAT_ROWS rows, against the same records as canonical CSV.
BENCH_SIZES ?= 100000 1000000 10000000
BENCH_FORMAT_ROWS ?= 1000000
bench: $(VENV)/.runtime
	$(BIN)/python -m daozhang.bench $(BENCH_SIZES)
	$(BIN)/python -m daozhang.bench_formats $(BENCH_FORMAT_ROWS)

bench-quick: $(VENV)/.runtime
	$(BIN)/python -m daozhang.bench 100000

# Regenerates the lock files from pyproject.toml (needs uv on PATH).
lock:
	uv pip compile pyproject.toml requirements-build.in --python-version 3.11 --generate-hashes -o requirements.lock
	uv pip compile pyproject.toml requirements-build.in --extra dev --extra spark --python-version 3.11 --generate-hashes -o requirements-dev.lock

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache

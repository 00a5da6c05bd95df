# `make demo`, `make lint` and `make test` create .venv when it is missing (CPU builds of all three backends).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.keras-nted-installed
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=
# Test processes per backend (pytest-xdist; whole test files per process, so module fixtures are
# built once). Most of the suite's time is single-threaded tracing and compilation: two
# processes on two cores take the JAX suite from about 8.5 to 6 minutes. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: all env demo lint test test-one clean

all: test

$(STAMP): pyproject.toml requirements-ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-ci.txt
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/keras-nted demo

# The tree as ruff (the dev extra's pinned version, pyproject's configuration) leaves it: seconds,
# so CI runs it before the suite. tests/test_house.py runs the same two checks.
LINT_PATHS ?= keras_nted tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# The whole suite once per backend; fails if any backend fails. The tests compile many
# small JAX programs once each: XLA's optimisation passes would cost more than they save.
TEST_ENV ?= JAX_DISABLE_MOST_OPTIMIZATIONS=1 TF_CPP_MIN_LOG_LEVEL=2

test: $(STAMP)
	@status=0; for b in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$b ==="; \
	  $(TEST_ENV) KERAS_BACKEND=$$b $(BIN)/python -m pytest -q $(XDIST) tests $(PYTEST_ARGS) || status=1; \
	done; exit $$status

# One backend: make test-one B=jax
test-one: $(STAMP)
	$(TEST_ENV) KERAS_BACKEND=$(B) $(BIN)/python -m pytest -q $(XDIST) tests $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

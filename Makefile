# microgradnn task runner. Every target bootstraps what it needs: a fresh clone needs only
# python3 (and apt-get, or an existing graphviz, for the pictures).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: help setup dot test test-fast lint typecheck format check demo bench notebooks images clean

help:
	@echo "make setup      create .venv with microgradnn and its dev tools, install graphviz"
	@echo "make test       run the whole test suite (bootstraps first)"
	@echo "make demo       train an MLP on two moons and write results into out/"
	@echo "make lint       ruff (check and format --check) + mypy"
	@echo "make format     rewrite the code in ruff's format and apply ruff's safe fixes"
	@echo "make check      everything CI checks: lint, then the whole test suite"
	@echo "make bench      benchmarks against micrograd, PyTorch and numpy"
	@echo "make images     regenerate the pictures in docs/images/"
	@echo "make notebooks  re-execute the course notebooks and refresh their outputs"
	@echo "make clean      remove build products (keeps .venv)"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# graphviz's `dot` is a system program that pip cannot install.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing graphviz (dot) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  else \
	    echo "warning: graphviz's 'dot' is missing; install it (apt install graphviz / brew install graphviz);" \
	         "tests that render pictures will be skipped"; \
	  fi; }

setup: $(STAMP) dot

test: setup
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -n 2 -m "not slow and not notebooks and not browser" $(PYTEST_ARGS)

demo: setup
	$(PY) -m microgradnn demo

# Speed and memory against micrograd 0.1.0, PyTorch and numpy; writes benchmarks/README.md.
bench: setup
	$(PY) benchmarks/run.py

NB_STAMP := $(VENV)/.installed-notebooks
$(NB_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet -e '.[notebooks]'
	touch $@

# Rebuild every notebook from notebooks/src, execute it and save its outputs.
notebooks: setup $(NB_STAMP)
	$(PY) notebooks/_build.py

# The pictures README shows (docs/images/), regenerated from seeded examples.
images: setup
	$(PY) tools/make_images.py docs/images

LINTED := microgradnn tests benchmarks tools notebooks/_build.py

lint: setup
	$(PY) -m ruff check $(LINTED) notebooks/src
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy

typecheck: setup
	$(PY) -m mypy

format: setup
	$(PY) -m ruff check --fix $(LINTED) notebooks/src
	$(PY) -m ruff format $(LINTED)

check: lint test

clean:
	rm -rf out build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -f notebooks/backward_steps.html
	find . -name __pycache__ -prune -exec rm -rf {} +

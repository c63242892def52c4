# microgradnn task runner. Every target bootstraps what it needs: a fresh clone needs only
# python3 (and apt-get with root or passwordless sudo, or the programs already installed, for
# graphviz's `dot` and the browser tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LEARN_STAMP := $(VENV)/.installed-learn
STAMP := $(VENV)/.installed-dev
TORCH_STAMP := $(VENV)/.installed-torch
PYTEST_ARGS ?=
SYSTEM := sh tools/system_packages.sh

.PHONY: help setup learn dot browser fonts torch test test-fast lint typecheck format check \
	demo bench notebooks images clean

help:
	@echo "make demo       train an MLP on two moons, draw its backprop; writes out/ (learner's install)"
	@echo "make test       the whole test suite: installs the dev tools, PyTorch (the oracle), Chromium"
	@echo "make setup      .venv with microgradnn and its dev tools, and graphviz"
	@echo "make lint       ruff (check and format --check) + mypy"
	@echo "make format     rewrite the code in ruff's format and apply ruff's safe fixes"
	@echo "make check      everything CI checks: lint, then the whole test suite"
	@echo "make bench      benchmarks against micrograd, PyTorch and numpy"
	@echo "make images     regenerate the pictures in docs/images/"
	@echo "make notebooks  re-execute the course notebooks and refresh their outputs"
	@echo "make clean      remove build products (keeps .venv)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# What a learner needs (numpy, graphviz, tqdm, matplotlib), and no developer tools.
$(LEARN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[learn]'
	touch $@

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(LEARN_STAMP)

# The PyTorch oracle, pinned: an unpinned torch pulls a multi-GB CUDA build. Where the pinned
# CPU wheel is not at hand, get it with
#   pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
# (without torch, the tests that compare with it are skipped).
$(TORCH_STAMP): | $(STAMP)
	@$(PY) -m pip install --quiet 'torch==2.13.0' && touch $@ || echo "warning: torch==2.13.0" \
	  "could not be installed, so the PyTorch comparisons will be skipped; get the CPU build" \
	  "with: $(PY) -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"

torch: $(TORCH_STAMP)

# System programs pip cannot install: graphviz's `dot` renders the pictures; Chromium and its
# driver run the browser tests; DejaVu has the glyphs (∂ Σ σ ×) the pictures use.
dot:
	@$(SYSTEM) "rendering pictures (and the tests that render them)" dot:graphviz

browser:
	@$(SYSTEM) "the browser tests" chromium:chromium chromedriver:chromium-driver

fonts:
	@$(SYSTEM) "the glyphs ∂ Σ σ × in rendered pictures" \
	  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core

learn: $(LEARN_STAMP) dot

setup: $(STAMP) dot

# --dist loadscope: each test module runs on one worker, so a module-scoped fixture (a notebook
# executed once, a JupyterLab server) is built once, not once per worker.
test: setup torch browser fonts
	$(PY) -m pytest -n 2 --dist loadscope $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -n 2 --dist loadscope -m "not slow and not notebooks and not browser" $(PYTEST_ARGS)

demo: learn
	$(PY) -m microgradnn demo

# Speed and memory against micrograd 0.1.0, PyTorch and numpy; writes benchmarks/README.md
# and TrainingView's budgets (benchmarks/watch.py).
bench: setup
	$(PY) benchmarks/run.py
	$(PY) benchmarks/watch.py

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

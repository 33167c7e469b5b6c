# Set up a virtual environment, build the sample book, run the tests.
#   make html   - set up, then build the sample book's site into _build/html
#   make pdf    - set up (TeX via apt when root), then build _build/pdf/d2lbook-sample.pdf
#   make test   - set up, then run every test (slow ones included, whole-corpus PDFs not:
#                 run those with `pytest -m corpus_pdf` or benchmarks/bench_corpus_pdf.py)
#   make quick  - the fast tests only
#   make lint   - ruff (rules and formatting) and mypy (strict on d2lbook/)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.d2lbook-installed

# Test modules run side by side, one module per worker (module fixtures build a book once);
# kernels and Sphinx leave cores idle while they wait. `make test PARALLEL=` runs serially.
PARALLEL ?= -n auto --maxprocesses=4 --dist loadscope

.PHONY: setup html pdf eval lib test quick lint system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[sample,test,dev,ray,lab]"
	touch $(STAMP)

html: setup
	$(BIN)/d2lbook build html

pdf: setup system-deps
	$(BIN)/d2lbook build pdf

eval: setup
	$(BIN)/d2lbook build eval

lib: setup
	$(BIN)/d2lbook build lib

# Debian packages the PDF and browser tests need (installed when running as root).
SYSTEM_PACKAGES := texlive-xetex latexmk texlive-latex-extra texlive-latex-recommended \
	texlive-fonts-recommended fonts-freefont-otf xindy librsvg2-bin poppler-utils \
	fonts-noto-cjk texlive-lang-cjk texlive-lang-chinese \
	chromium chromium-driver
system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	else echo "not root: install $(SYSTEM_PACKAGES) yourself for the PDF and browser tests"; fi

test: setup system-deps
	$(BIN)/python -m pytest -m "(slow or not slow) and not corpus_pdf" -q --durations=25 $(PARALLEL)

quick: setup
	$(BIN)/python -m pytest -m "not slow" -q $(PARALLEL)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf _build

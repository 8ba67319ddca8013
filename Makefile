# nnlife: `make demo` (a real batch and its HTML reports) and `make test`; see README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.nnlife-installed
DEMO_BATCH ?= data/batches/demo-fashionmnist-small-seed0
DATA ?= $(DEMO_BATCH)
REPORTS ?= reports
SAMPLES := tests/fixtures/original-format

.PHONY: demo test report report-samples bench bench-quick bench-full-size venv data browser slurm lint clean-venv

# --- set-up: create or update .venv, install nnlife with its test extra, register the kernel ------
venv: $(STAMP)
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; nnlife needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nnlife)" >/dev/null
	touch $(STAMP)

# --- data: Fashion-MNIST from Debian's package, torchvision's download, or a clear message --------
data: venv
	bash scripts/get-data.sh FashionMNIST

browser:
	bash scripts/install-browser.sh

# --- a one-node Slurm for tests/test_engine_slurm.py (as root; stop it: bash scripts/stop-slurm.sh) --
# Not fatal here: without it the Slurm tests fail with start-slurm.sh's message, the rest still run.
slurm:
	bash scripts/start-slurm.sh >/dev/null || echo "make: scripts/start-slurm.sh failed; tests/test_engine_slurm.py will fail"

# --- the two commands -----------------------------------------------------------------------------
test: venv data browser slurm lint
	$(PY) -m pytest

# ruff: lint (pyflakes, pycodestyle, isort, bugbear, pyupgrade) and the one code format
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: venv data
	mkdir -p $(REPORTS)
	$(VENV)/bin/papermill --cwd . notebooks/01-generate-batch.ipynb $(REPORTS)/01-generate-batch.ipynb
	$(VENV)/bin/jupyter nbconvert --to html --no-input $(REPORTS)/01-generate-batch.ipynb --output-dir $(REPORTS) >/dev/null
	$(VENV)/bin/nnlife report $(DEMO_BATCH) --out $(REPORTS)
	@echo "demo: batch in $(DEMO_BATCH), HTML reports in $(REPORTS)/"

# make report DATA="data/batches/x tests/fixtures/original-format"
report: venv
	$(VENV)/bin/nnlife report $(DATA) --out $(REPORTS)

report-samples: venv
	$(VENV)/bin/nnlife report $(SAMPLES) --out $(REPORTS)/samples

bench: venv data
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/run.py --out $(REPORTS)

bench-quick: venv data
	$(PY) bench/run.py --quick --out $(REPORTS)/bench-quick

# issue 16's parts alone (full-size training throughput, the malloc tax), merged into the report
bench-full-size: venv data
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/run.py --parts train_full_size malloc --out $(REPORTS)

clean-venv:
	rm -rf $(VENV)

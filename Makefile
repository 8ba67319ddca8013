# nnlife: `make demo` (a real batch and its HTML reports) and `make test`; see README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.nnlife-installed
# The demo's batch seed: the reference corpus's batches use seeds 0 and 1, so seed 2 draws networks
# the corpus does not have (the same network and training seed twice would be one id, kept once).
DEMO_SEED ?= 2
DEMO_BATCH ?= data/batches/demo-fashionmnist-small-seed$(DEMO_SEED)
REFERENCE := data/reference
DATA ?= $(DEMO_BATCH)
REPORTS ?= reports
SAMPLES := tests/fixtures/original-format

.PHONY: demo test report report-samples bench bench-quick bench-full-size venv data browser slurm lint clean-venv

# --- set-up: create or update .venv, install nnlife with its test extra, register the kernel ------
venv: $(STAMP)
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; nnlife needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 2; }
	@echo "make venv: setting up $(VENV) (Python, nnlife and its dependencies: several minutes the first time)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nnlife)" >/dev/null
	touch $(STAMP)
	@echo "make venv: $(VENV) is ready"

# --- data: Fashion-MNIST from Debian's package, torchvision's download, or a clear message --------
data: venv
	@echo "make data: looking for Fashion-MNIST (Debian's package, or torchvision's download)"
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

# The generation notebook writes one progress line per finished lifespan (done of planned, elapsed,
# time left) to its kernel's stderr, which is this terminal; papermill's own cell-count bar is off.
# The reports cover the fresh batch together with the reference corpus (data/reference: hundreds
# of real 40-epoch curves once it is complete), with every notebook's default settings.
demo: venv data
	@mkdir -p $(REPORTS)
	@echo "demo 1/3: training the demo batch with notebooks/01-generate-batch.ipynb into $(DEMO_BATCH)"
	@echo "          (6 small networks on 3,000 Fashion-MNIST images: a few minutes on two cores; a finished batch is not trained again)"
	$(VENV)/bin/papermill --no-progress-bar --cwd . -p seed $(DEMO_SEED) -p out_dir $(DEMO_BATCH) notebooks/01-generate-batch.ipynb $(REPORTS)/01-generate-batch.ipynb
	@echo "demo 2/3: rendering the executed notebook as $(REPORTS)/01-generate-batch.html"
	$(VENV)/bin/jupyter nbconvert --to html --no-input $(REPORTS)/01-generate-batch.ipynb --output-dir $(REPORTS) >/dev/null
	@echo "demo 3/3: analysis reports of the batch and the reference corpus in $(REFERENCE) (nnlife report: runs the analysis notebooks, a few minutes)"
	$(VENV)/bin/nnlife report $(DEMO_BATCH) $(REFERENCE) --out $(REPORTS)
	@echo "demo: done: batch in $(DEMO_BATCH), HTML reports of it and $(REFERENCE) in $(REPORTS)/"

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

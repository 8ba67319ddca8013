#!/usr/bin/env bash
# Make (or continue) the reference corpus under data/reference/: real 40-epoch lifespans on the
# real Fashion-MNIST, deterministic, in nnlife's table layout. Several CPU-hours on 2 cores, so it
# runs at low priority and resumes: run the same command again and finished tables are skipped;
# a lifespan cut off in the middle resumes from its last checkpoint (every 2 epochs; the curves
# are the same as without the interruption, as tests/test_train.py and tests/test_batch.py check);
# cheapest first, so that each run cut short leaves as many finished tables as it can.
#   bash scripts/make-reference.sh            # all three batches, in this order
#   bash scripts/make-reference.sh small      # one of: small, seeds, paper
set -euo pipefail
cd "$(dirname "$0")/.."
NNLIFE=${NNLIFE:-.venv/bin/nnlife}
# glibc's adaptive mmap threshold is switched off inside Dask workers (the nanny sets
# MALLOC_TRIM_THRESHOLD_); a fixed large threshold keeps training buffers off mmap/munmap.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-33554432}
run() { nice -n 19 "$NNLIFE" generate "$@" --dataset FashionMNIST --epochs 40 --eval-interval 0.5 --workers 2 --checkpoint-every 2 --order cheapest-first --quiet; }
want=${1:-all}
if [[ $want == all || $want == small ]]; then
  run data/reference/fmnist-small-4000-seed0 --space small --networks 240 --seed 0 --train-size 4000 --val-size 1000
fi
if [[ $want == all || $want == seeds ]]; then
  run data/reference/fmnist-small-seeds3-seed1 --space small --networks 12 --seeds-per-network 3 --seed 1 --train-size 4000 --val-size 1000
fi
if [[ $want == all || $want == paper ]]; then
  run data/reference/fmnist-paper-2000-seed0 --space paper --networks 60 --seed 0 --train-size 2000 --val-size 500
fi

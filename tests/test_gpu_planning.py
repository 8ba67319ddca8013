"""``--workers-per-gpu N`` planned without a GPU: which GPUs a worker may be given, N slots per
GPU, and real Dask worker processes started with the planned environment; bench/gpu.py refuses
to run without a GPU."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from nnlife.errors import ParameterError
from nnlife.generate.gpus import gpu_cluster, plan_gpu_workers, visible_gpus


def test_visible_gpus_follow_cuda_visible_devices_entries_not_positions():
    assert visible_gpus(None, 3) == ("0", "1", "2")
    assert visible_gpus("2,5", 2) == ("2", "5")  # the workers get 2 and 5, not 0 and 1
    assert visible_gpus("GPU-5d1c8c3a, GPU-77ab", 2) == ("GPU-5d1c8c3a", "GPU-77ab")
    assert visible_gpus("4,6,7", 2) == ("4", "6")  # what torch does not count is dropped
    assert visible_gpus("", 0) == () and visible_gpus(None, 0) == ()


def test_n_single_threaded_slots_per_gpu():
    slots = plan_gpu_workers(("2", "5"), 3)
    assert [s.name for s in slots] == ["gpu0-0", "gpu0-1", "gpu0-2", "gpu1-0", "gpu1-1", "gpu1-2"]
    assert [s.gpu for s in slots] == ["2"] * 3 + ["5"] * 3
    assert all(
        s.threads == 1
        and s.env == {"CUDA_VISIBLE_DEVICES": s.gpu, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        for s in slots
    )
    with pytest.raises(ParameterError, match="needs a GPU"):
        plan_gpu_workers((), 2)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError, match="workers_per_gpu"):
            plan_gpu_workers(("0",), bad)


def test_the_cluster_starts_each_worker_with_its_slots_environment():
    from distributed import Client

    slots = plan_gpu_workers(("7", "GPU-abc"), 1)
    with gpu_cluster(slots) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        seen = client.run(
            lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("OMP_NUM_THREADS"), os.getpid())
        )
        names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
        nthreads = client.nthreads()
    by_name = {names[a]: v for a, v in seen.items()}
    assert {n: v[:2] for n, v in by_name.items()} == {"gpu0-0": ("7", "1"), "gpu1-0": ("GPU-abc", "1")}
    assert len({v[2] for v in seen.values()}) == 2 and os.getpid() not in {v[2] for v in seen.values()}
    assert set(nthreads.values()) == {1}


def test_bench_gpu_fails_clearly_without_a_gpu():
    # CUDA_VISIBLE_DEVICES="" hides any GPU, so this checks the refusal on every machine
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu.py"), "--out", "/nonexistent"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""),
    )
    assert proc.returncode == 2
    assert "needs a CUDA GPU" in proc.stderr and "--cpu-check" in proc.stderr


def test_workers_per_gpu_is_refused_where_it_cannot_apply(tmp_path):
    import torch

    from nnlife import generate_batch

    small = dict(epochs=1, train_size=600, val_size=200, progress=False)
    cases = [
        (dict(workers_per_gpu=2, scheduler="tcp://127.0.0.1:1"), "with a scheduler"),
        (dict(workers_per_gpu=2, workers=2), "not both"),
        (dict(workers_per_gpu=2, device="cpu"), "trains on the GPUs"),
        (dict(workers_per_gpu=0), "workers_per_gpu must be"),
    ]
    if not torch.cuda.is_available():  # as on this project's machine
        cases.append((dict(workers_per_gpu=2), "needs a GPU"))
    for kwargs, message in cases:
        with pytest.raises(ParameterError, match=message):
            generate_batch(tmp_path / "b", "FashionMNIST", 2, **small, **kwargs)
    assert not (tmp_path / "b" / "manifest.json").exists()  # refused before anything ran

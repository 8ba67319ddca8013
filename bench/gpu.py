"""GPU throughput: lifespans per GPU-hour with 1, 2, 4 and 8 worker processes on one GPU.

    python bench/gpu.py --out reports        # needs a CUDA GPU; about 4-5 minutes on one
    python bench/gpu.py --cpu-check          # the same machinery on the CPU, tiny: a test of the
                                             # script, not a measurement

What it measures, on the first visible GPU (the others are left alone):
- for each of Fashion-MNIST (the real files, ``nnlife.load_dataset``) and CIFAR-100 (the real
  files when they are here, else random uint8 tensors of CIFAR-100's shape: 3 x 32 x 32 images,
  100 classes, which cost the same to train on), ``paper``-space networks at the datasets' full
  input sizes, 1 epoch over 10,000 training images, validation on 2,000:
  W = 1, 2, 4, 8 worker processes on the GPU at once, set up as ``--workers-per-gpu W`` sets
  them up (``nnlife.generate.gpus``: one thread each, ``CUDA_VISIBLE_DEVICES`` = the GPU, the
  dataset copied to the GPU once per process). Every worker takes the next network of one shared,
  seeded sequence (network i = ``sample("paper", dataset, seed=default_rng([0, i]))``), so each W
  trains a prefix of the same sequence; it trains for a fixed window of wall time after all W
  workers are ready (start-up is timed apart), and the lifespans still running at the end of the
  window count with the share of their duration that fell inside it. Reported: lifespans per
  GPU-hour, the analytic FLOP rate they achieve (``balance.lifespan_cost`` summed over the work
  done, per second) against a large fp32 matmul on the same GPU, and peak GPU memory (device-wide
  used memory sampled every 0.2 s, and each process's ``torch.cuda.max_memory_allocated``);
- the matmul peak: 8192 x 8192 fp32 matmuls (TF32 off, as nnlife trains in true fp32).

The total stays under 5 minutes: 8 windows of ``--window-s`` (default 22 s) plus start-ups;
when ``--budget-s`` (default 285) would be exceeded the remaining cells are skipped and said so.
Without a GPU it exits with status 2 and a message (``--cpu-check`` excepted).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path

WORKERS = (1, 2, 4, 8)
DATASETS = ("FashionMNIST", "CIFAR100")
FULL = dict(space="paper", train_size=10_000, val_size=2_000, epochs=1, window_s=22.0, workers=WORKERS)
CPU_CHECK = dict(space="small", train_size=256, val_size=64, epochs=1, window_s=4.0, workers=(1, 2))
SEED = 0  # network i of the sequence: sample(space, dataset, seed=default_rng([SEED, i]))
MATMUL_N = 8192  # matmul peak: n x n fp32


class NoGPU(SystemExit):
    pass


# ==============================================================================================
# In each worker process
# ==============================================================================================
def _dataset(name: str, train_size: int, val_size: int):
    """The real dataset, or (CIFAR-100 only) random uint8 tensors of its shape and class count."""
    import torch

    import nnlife
    from nnlife.errors import DatasetNotFoundError

    try:
        return nnlife.load_dataset(name, train_size=train_size, val_size=val_size, seed=0), "real files"
    except DatasetNotFoundError:
        if name != "CIFAR100":
            raise
    from nnlife.generate.data import Dataset

    g = torch.Generator().manual_seed(0)
    train_x = torch.randint(0, 256, (train_size, 3, 32, 32), dtype=torch.uint8, generator=g)
    val_x = torch.randint(0, 256, (val_size, 3, 32, 32), dtype=torch.uint8, generator=g)
    train_y = torch.randint(0, 100, (train_size,), generator=g)
    val_y = torch.randint(0, 100, (val_size,), generator=g)
    mean = tuple(float(m) for m in (train_x.double() / 255).mean((0, 2, 3)))
    std = tuple(float(s) for s in (train_x.double() / 255).std((0, 2, 3), unbiased=False))
    return Dataset(
        name="CIFAR100",
        train_x=train_x,
        train_y=train_y,
        val_x=val_x,
        val_y=val_y,
        n_classes=100,
        mean=mean,
        std=std,
        val_source="test",
        train_size=train_size,
        val_size=val_size,
        subset_seed=0,
        files={},
        root="(random tensors of CIFAR-100's shape)",
        verified=False,
    ), "random tensors of CIFAR-100's shape (CIFAR-100 is not here)"


def _worker(env: dict, cfg: dict, dataset: str, device: str, counter, go, results) -> None:
    """Train networks of the shared sequence until the window closes; put the records on
    ``results``: ("ready"/"done", payload)."""
    os.environ.update(env)  # before torch starts CUDA: this process's GPU
    import numpy as np
    import torch

    import nnlife
    from nnlife.generate.balance import lifespan_cost

    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        data, source = _dataset(dataset, cfg["train_size"], cfg["val_size"])
        # a short warm-up lifespan (a `small` network, half an epoch) puts the data on the GPU and
        # starts CUDA, cuBLAS and cuDNN, before the window
        net, train = nnlife.sample(
            "small",
            dataset,
            seed=np.random.default_rng([SEED, 10**6]),
            epochs=cfg["epochs"],
            train_size=cfg["train_size"],
            val_size=cfg["val_size"],
        )
        nnlife.train_lifespan(net, train, data, device=device, until_epoch=train.eval_interval)
        results.put(("ready", {"pid": os.getpid(), "startup_s": time.perf_counter() - t0, "data": source}))
        go.wait()  # all W workers start the window together
        deadline = time.time() + cfg["window_s"]
        records = []
        while time.time() < deadline:
            with counter.get_lock():
                i = counter.value
                counter.value += 1
            net, train = nnlife.sample(
                cfg["space"],
                dataset,
                seed=np.random.default_rng([SEED, i]),
                epochs=cfg["epochs"],
                train_size=cfg["train_size"],
                val_size=cfg["val_size"],
            )
            start = time.time()
            life = nnlife.train_lifespan(net, train, data, device=device)
            records.append(
                {
                    "index": i,
                    "start": start,
                    "end": time.time(),
                    "status": life.status,
                    "cost_flops": lifespan_cost(net, train, len(data.train_y), len(data.val_y)),
                }
            )
        memory = {}
        if device != "cpu":
            memory = {
                "max_allocated_b": torch.cuda.max_memory_allocated(),
                "max_reserved_b": torch.cuda.max_memory_reserved(),
            }
        results.put(("done", {"pid": os.getpid(), "records": records, **memory}))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which fails loudly
        results.put(("error", {"pid": os.getpid(), "error": f"{type(e).__name__}: {e}"}))


# ==============================================================================================
# In the parent
# ==============================================================================================
class _MemorySampler:
    """Peak device-wide used memory of the GPU (all processes), sampled every 0.2 s."""

    def __init__(self, enabled: bool):
        self.enabled, self.peak, self._stop = enabled, 0, threading.Event()

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        import torch

        while not self._stop.is_set():
            free, total = torch.cuda.mem_get_info()
            self.peak = max(self.peak, total - free)
            self._stop.wait(0.2)

    def __exit__(self, *exc):
        self._stop.set()
        if self.enabled:
            self._thread.join()
        return False


def window_share(records: list[dict], t0: float, t1: float) -> tuple[float, float]:
    """(lifespans, FLOPs) of work done in [t0, t1]: each lifespan counts with the share of its
    duration inside the window (all of it when it started and ended inside)."""
    n = flops = 0.0
    for r in records:
        dur = r["end"] - r["start"]
        inside = max(0.0, min(r["end"], t1) - max(r["start"], t0))
        share = inside / dur if dur > 0 else 1.0
        n += share
        flops += share * r["cost_flops"]
    return n, flops


def one_cell(cfg: dict, dataset: str, workers: int, device: str, gpu: str | None) -> dict:
    """W worker processes on the GPU at once for one window; their throughput."""
    from nnlife.generate.gpus import plan_gpu_workers

    ctx = mp.get_context("spawn")
    slots = plan_gpu_workers([gpu if gpu is not None else "cpu"], workers)
    counter = ctx.Value("q", 0)
    go = ctx.Barrier(workers + 1)
    results = ctx.Queue()
    env_of = (lambda s: s.env) if device != "cpu" else (lambda s: {"OMP_NUM_THREADS": "1"})
    procs = [
        ctx.Process(
            target=_worker,
            args=(env_of(s), cfg, dataset, "cuda" if device != "cpu" else "cpu", counter, go, results),
            daemon=True,
        )
        for s in slots
    ]
    t_spawn = time.perf_counter()
    for p in procs:
        p.start()
    startups, done = [], []
    try:

        def take(kind_wanted, n, timeout):
            got = []
            while len(got) < n:
                kind, payload = results.get(timeout=timeout)
                if kind != kind_wanted:
                    raise RuntimeError(f"worker {payload['pid']}: {payload.get('error', kind)}")
                got.append(payload)
            return got

        startups = take("ready", workers, timeout=180)
        ready_all = time.perf_counter() - t_spawn
        with _MemorySampler(device != "cpu") as mem:
            t0 = time.time()
            go.wait()
            done = take("done", workers, timeout=cfg["window_s"] + 600)
        t1 = t0 + cfg["window_s"]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    records = [r for d in done for r in d["records"]]
    n, flops = window_share(records, t0, t1)
    return {
        "workers": workers,
        "window_s": cfg["window_s"],
        "lifespans_in_window": n,
        "lifespans_started": len(records),
        "lifespans_per_gpu_hour": 3600.0 * n / cfg["window_s"],
        "achieved_flops_per_s": flops / cfg["window_s"],
        "mean_cost_flops": (sum(r["cost_flops"] for r in records) / len(records)) if records else None,
        "diverged": sum(r["status"] != "complete" for r in records),
        "startup_s_max": max(s["startup_s"] for s in startups),
        "ready_s": ready_all,
        "data": startups[0]["data"],
        "peak_device_memory_b": mem.peak if device != "cpu" else None,
        "max_allocated_b_per_process": [d.get("max_allocated_b") for d in done],
        "max_reserved_b_per_process": [d.get("max_reserved_b") for d in done],
    }


def matmul_peak(device: str) -> dict:
    """fp32 FLOP/s of n x n matmuls (TF32 off), median of 10 timed after warm-up."""
    import statistics

    import torch

    n = MATMUL_N if device != "cpu" else 1024
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    times = []
    for _ in range(13):
        if device != "cpu":
            torch.cuda.synchronize()
        t = time.perf_counter()
        (a @ b).sum().item()
        times.append(time.perf_counter() - t)
    s = statistics.median(times[3:])
    return {"n": n, "seconds": s, "flops_per_s": 2 * n**3 / s}


def run(cfg: dict, device: str, budget_s: float) -> dict:
    import torch

    t_start = time.perf_counter()
    gpu_name = torch.cuda.get_device_name(0) if device != "cpu" else "cpu"
    first = (os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0].strip() or "0"
    peak = matmul_peak("cuda" if device != "cpu" else "cpu")
    cells, skipped = [], []
    for dataset in DATASETS:
        for w in cfg["workers"]:
            spent = time.perf_counter() - t_start
            if spent + cfg["window_s"] + 20 > budget_s:
                skipped.append(f"{dataset} x {w} workers")
                continue
            print(
                f"{time.strftime('%H:%M:%S')} {dataset}, {w} worker(s) per GPU ...",
                file=sys.stderr,
                flush=True,
            )
            cell = one_cell(cfg, dataset, w, device, first if device != "cpu" else None)
            cell["dataset"] = dataset
            cell["peak_fraction"] = cell["achieved_flops_per_s"] / peak["flops_per_s"]
            cells.append(cell)
    return {
        "device": gpu_name,
        "config": {k: v for k, v in cfg.items()},
        "matmul": peak,
        "cells": cells,
        "skipped": skipped,
        "total_s": time.perf_counter() - t_start,
        "load_average": list(os.getloadavg()),
    }


def markdown(res: dict, command: str) -> str:
    cfg = res["config"]
    gib = 2**30
    rows = []
    for c in res["cells"]:
        rows.append(
            f"| {c['dataset']} | {c['workers']} | {c['lifespans_per_gpu_hour']:,.0f} | "
            f"{c['achieved_flops_per_s'] / 1e12:.3g} | {c['peak_fraction']:.1%} | "
            f"{(c['peak_device_memory_b'] or 0) / gib:.1f} | "
            f"{max((m or 0) for m in c['max_allocated_b_per_process']) / gib:.2f} | "
            f"{c['lifespans_started']} | {c['startup_s_max']:.1f} |"
        )
    out = [
        f"## GPU throughput (`bench/gpu.py`), {res['device']}",
        "",
        f"`{command}`: `{cfg['space']}`-space networks at full input size, {cfg['epochs']} epoch over "
        f"{cfg['train_size']:,} training images, validation on {cfg['val_size']:,}; W worker processes "
        f"on one GPU for a {cfg['window_s']:.0f} s window each (after start-up). Matmul peak "
        f"({res['matmul']['n']}² fp32, TF32 off): {res['matmul']['flops_per_s'] / 1e12:.3g} TFLOP/s.",
        "",
        "| dataset | workers | lifespans / GPU-hour | TFLOP/s (analytic) | of matmul peak | "
        "peak GPU memory (GiB, device) | max allocated per process (GiB) | lifespans started | "
        "start-up s (slowest worker) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    sources = {c["dataset"]: c["data"] for c in res["cells"]}
    out.append("Data: " + "; ".join(f"{k}: {v}" for k, v in sources.items()) + ".")
    if res["skipped"]:
        out += ["", f"Skipped to stay within the time budget: {', '.join(res['skipped'])}."]
    out += [
        "",
        f"Total {res['total_s']:.0f} s; load average at the end "
        f"{', '.join(f'{x:.2f}' for x in res['load_average'])}.",
        "",
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default="reports", help="folder for gpu.md and gpu.json (default %(default)s)"
    )
    parser.add_argument("--window-s", type=float, default=None, help="seconds of training per cell")
    parser.add_argument("--budget-s", type=float, default=285.0, help="skip cells that would end later")
    parser.add_argument(
        "--cpu-check",
        action="store_true",
        help="run the machinery on the CPU with tiny sizes (tests the script; no figures)",
    )
    args = parser.parse_args(argv)
    cfg = dict(CPU_CHECK if args.cpu_check else FULL)
    if args.window_s:
        cfg["window_s"] = args.window_s
    if not args.cpu_check:
        import torch

        if not torch.cuda.is_available():
            print(
                "bench/gpu.py needs a CUDA GPU, and torch sees none here (torch.cuda.is_available() is "
                f"False; torch {torch.__version__}, CUDA build {torch.version.cuda}). Run it on a GPU "
                "machine, or with --cpu-check to test the script itself.",
                file=sys.stderr,
            )
            return 2
    device = "cpu" if args.cpu_check else "cuda"
    command = "python bench/gpu.py " + " ".join(argv if argv is not None else sys.argv[1:])
    res = run(cfg, device, args.budget_s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "gpu-cpu-check" if args.cpu_check else "gpu"
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown(res, command.strip()))
    print(markdown(res, command.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

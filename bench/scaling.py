"""Scale-out: lifespans per hour with 1 and with 2 Dask workers (``nnlife.generate_batch``).

The same batch (the same ``small`` networks from the same seed, the same Fashion-MNIST subset,
the same epochs) is generated with ``workers=1`` and ``workers=2`` (a Dask ``LocalCluster`` of that
many worker processes, one torch thread each), into a fresh folder every time (a batch skips the
tables it finds finished), repeats interleaved. The timer covers the whole ``generate_batch`` call:
starting the cluster, loading the data in each worker, training, writing the tables, closing; so
lifespans per hour is what a user gets from the call. The summed training time of the tables
(their last ``elapsed_s``) is reported too, to separate the set-up from the training.

When a GPU is present, the same batch runs on it with 1, 2 and 4 concurrent workers (lifespans
per GPU-hour); otherwise the report says that no GPU was measured.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from run import interleave, md_table, median, part_main

# networks per batch, epochs, subset sizes, repeats. Small networks' costs are heavy-tailed (the
# FLOPs of `small` samples span two orders of magnitude): with 8 networks of seed 0 one of them
# holds ~60 % of the work and no scheduler could make 2 workers 1.8x faster; with 24 the largest
# holds ~27 %, closer to a real batch of hundreds, where the tail does not matter.
MODES = {
    "full": dict(n_networks=24, epochs=2, train_size=5000, val_size=1000, repeats=5),
    "quick": dict(n_networks=8, epochs=1, train_size=2000, val_size=500, repeats=2),
    "smoke": dict(n_networks=2, epochs=0.5, train_size=512, val_size=32, repeats=1),
}
# smoke mode (the test suite) runs the batches on in-process, threaded Dask clusters: starting
# worker processes (a fresh interpreter importing torch each) would take most of the test's time.
SEED = 0  # seed of the batch: which networks are drawn


def one_batch(cfg: dict, workers: int, device: str = "cpu", cluster: str = "generate_batch") -> dict:
    """Generate the batch once with ``workers`` workers into a fresh folder; time it.

    ``cluster``: "generate_batch": ``generate_batch(workers=W)`` starts its own LocalCluster
    (its one worker's torch gets every core when W = 1); "one_thread": a LocalCluster made here
    with W single-threaded worker processes, passed as ``scheduler`` (Dask starts its workers
    with OMP_NUM_THREADS=1, so torch keeps one thread); "threads": an in-process LocalCluster of
    W threads (smoke mode only: fast to start, no real parallelism).
    """
    from nnlife.batch import generate_batch

    out = Path(tempfile.mkdtemp(prefix=f"nnlife-bench-scaling-{workers}w-"))
    try:
        t0 = time.perf_counter()
        kwargs = dict(
            epochs=cfg["epochs"],
            train_size=cfg["train_size"],
            val_size=cfg["val_size"],
            device=device,
            progress=False,
        )
        if cluster != "generate_batch":
            from distributed import Client, LocalCluster

            with (
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=cluster == "one_thread",
                    dashboard_address=None,
                ) as lc,
                Client(lc) as client,
            ):
                frame = generate_batch(
                    out / "batch",
                    "FashionMNIST",
                    cfg["n_networks"],
                    space="small",
                    seed=SEED,
                    scheduler=client,
                    **kwargs,
                )
        else:
            frame = generate_batch(
                out / "batch",
                "FashionMNIST",
                cfg["n_networks"],
                space="small",
                seed=SEED,
                workers=workers,
                **kwargs,
            )
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if len(frame) != cfg["n_networks"] or (frame["status"] == "failed").any():
        raise RuntimeError(f"generate_batch returned {len(frame)} lifespans, expected {cfg['n_networks']}")
    return {
        "seconds": seconds,
        "tables": len(frame),
        "training_s": float(frame["elapsed_s"].sum()),
        "lifespans_per_hour": 3600.0 * len(frame) / seconds,
        "elapsed_s": [float(v) for v in frame["elapsed_s"]],
    }


def startup_breakdown() -> dict:
    """Seconds of the fixed costs of one generate_batch call, measured once on a 1-worker
    LocalCluster: start the cluster, import torch and nnlife in the worker, load the dataset
    (read, checksum and parse Fashion-MNIST), close the cluster."""
    from distributed import Client, LocalCluster

    def in_worker():
        t0 = time.perf_counter()
        import torch  # noqa: F401

        import nnlife.train  # noqa: F401
        from nnlife.data import load_dataset

        t1 = time.perf_counter()
        load_dataset("FashionMNIST", train_size=1000, val_size=100)
        return t1 - t0, time.perf_counter() - t1

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    t1 = time.perf_counter()
    ((imports, load),) = client.run(in_worker).values()
    t2 = time.perf_counter()
    client.close()
    cluster.close()
    t3 = time.perf_counter()
    return {
        "cluster_start_s": t1 - t0,
        "worker_imports_s": imports,
        "dataset_load_s": load,
        "cluster_close_s": t3 - t2,
    }


def run(mode: str) -> dict:
    """Scale-out: lifespans per hour with 1 and 2 Dask workers (and 1/2/4 per GPU if present)."""
    cfg = MODES[mode]
    load0 = os.getloadavg()
    if mode == "smoke":
        contenders = {
            "1 worker": lambda: one_batch(cfg, 1, cluster="threads"),
            "2 workers": lambda: one_batch(cfg, 2, cluster="threads"),
        }
    else:
        contenders = {
            "1 worker": lambda: one_batch(cfg, 1),
            "1 worker, 1 thread": lambda: one_batch(cfg, 1, cluster="one_thread"),
            "2 workers": lambda: one_batch(cfg, 2),
        }
    runs = interleave(contenders, cfg["repeats"], label="scaling")
    med = {}
    for name, rs in runs.items():
        med[name] = {k: median([r[k] for r in rs]) for k in ("seconds", "training_s", "lifespans_per_hour")}
    # scaling_2_workers: against one worker on one core (the classic baseline: two single-core
    # workers against one). generate_batch(workers=1) gives its one worker's torch both cores,
    # so against it 2 workers compare processes with threads; that ratio is reported beside it.
    base = med.get("1 worker, 1 thread", med["1 worker"])
    ratio = med["2 workers"]["lifespans_per_hour"] / base["lifespans_per_hour"]
    ratio_default = med["2 workers"]["lifespans_per_hour"] / med["1 worker"]["lifespans_per_hour"]
    one = med.get("1 worker, 1 thread", med["1 worker"])
    ratio_1t = med["2 workers"]["lifespans_per_hour"] / one["lifespans_per_hour"]
    # training time alone: 2 workers train two lifespans at a time, so their training wall time
    # is about half their summed elapsed_s (start-up, data loading and imbalance left out)
    ratio_train = one["training_s"] / (med["2 workers"]["training_s"] / 2)
    gpu = _gpu(cfg)
    breakdown = startup_breakdown() if ratio < 1.8 and mode != "smoke" else None
    # load balance: the lifespans' training times (median over the one-worker repeats) and the
    # shortest possible 2-worker training span: longest-first onto the less busy worker (LPT)
    base_name = "1 worker, 1 thread" if "1 worker, 1 thread" in runs else "1 worker"
    per_life = [median(v) for v in zip(*(r["elapsed_s"] for r in runs[base_name]))]
    busy = [0.0, 0.0]
    for d in sorted(per_life, reverse=True):
        busy[busy.index(min(busy))] += d
    balance = {
        "lifespan_s": per_life,
        "sum_s": sum(per_life),
        "longest_s": max(per_life),
        "lpt_2_worker_span_s": max(busy),
        "two_worker_wall_s": med["2 workers"]["seconds"],
        "two_worker_overhead_s": med["2 workers"]["seconds"] - med["2 workers"]["training_s"] / 2,
    }
    load = {"start": list(load0), "end": list(os.getloadavg())}
    details = {
        "config": cfg,
        "medians": med,
        "all_seconds": {n: [r["seconds"] for r in rs] for n, rs in runs.items()},
        "scaling_2_workers": ratio,
        "scaling_2_workers_vs_workers_1": ratio_default,
        "scaling_2_workers_vs_1_thread": ratio_1t,
        "scaling_2_workers_training_only": ratio_train,
        "startup": breakdown,
        "balance": balance,
        "gpu": gpu,
        "load_average": load,
    }
    return {
        "figures": {"scaling_2_workers": ratio},
        "extra_figures": {
            "scaling_2_workers_vs_workers_1": ratio_default,
            "scaling_2_workers_vs_1_thread": ratio_1t,
            "scaling_2_workers_training_only": ratio_train,
            **{
                f"lifespans_per_hour_{k.replace(' ', '_').replace(',', '')}": m["lifespans_per_hour"]
                for k, m in med.items()
            },
        },
        "details": details,
        "markdown": markdown(
            cfg, med, runs, ratio, ratio_default, ratio_train, breakdown, balance, gpu, load
        ),
    }


def _gpu(cfg: dict):
    import torch

    if not torch.cuda.is_available():
        return None
    runs = interleave(
        {f"{w} GPU workers": (lambda w=w: one_batch(cfg, w, device="cuda")) for w in (1, 2, 4)},
        cfg["repeats"],
        label="gpu scaling",
    )
    return {name: median([r["lifespans_per_hour"] for r in rs]) for name, rs in runs.items()}


def markdown(cfg, med, runs, ratio, ratio_default, ratio_train, breakdown, balance, gpu, load) -> str:
    rows = []
    for name, m in med.items():
        rows.append(
            [
                name,
                m["seconds"],
                m["training_s"],
                m["lifespans_per_hour"],
                ", ".join(f"{r['seconds']:.1f}" for r in runs[name]),
            ]
        )
    out = [
        "## 3. Scale-out (`bench/scaling.py`)",
        "",
        f"`generate_batch(out, 'FashionMNIST', {cfg['n_networks']}, space='small', seed={SEED}, "
        f"epochs={cfg['epochs']}, train_size={cfg['train_size']}, val_size={cfg['val_size']}, "
        f"workers=W, device='cpu')` into a fresh folder, W = 1 and 2, {cfg['repeats']} interleaved "
        "repeats, medians. generate_batch starts a Dask LocalCluster of W single-threaded worker "
        "processes and gives torch cores // W threads in each: 2 threads with W = 1, 1 with W = 2. "
        "'1 worker, 1 thread' passes generate_batch a LocalCluster of one worker whose torch keeps "
        "Dask's one thread (the classic one-core baseline). The time is the whole call (cluster "
        "start, data loading in each worker, training, writing, shutdown); 'training s' sums the "
        "lifespans' `elapsed_s`.",
        "",
        md_table(["workers", "median s", "training s (sum)", "lifespans / hour", "all repeats (s)"], rows),
        "",
        f"`scaling_2_workers` = {ratio:.2f}: 2-worker lifespans per hour over the one-thread "
        "worker's (one core against two; target >= 1.8 on this 2-core machine, where 2 workers "
        "need both cores to themselves). Against `generate_batch(workers=1)`, whose one worker "
        f"already uses both cores through torch's threads: {ratio_default:.2f}. Training time "
        "alone (summed `elapsed_s` of the one-thread worker over half the 2-worker sum: leaves "
        "out cluster start-up, data loading and load imbalance, which a 40-epoch batch of "
        "thousands of networks amortises): "
        f"{ratio_train:.2f}.",
        "",
        f"Load average at start / end: {', '.join(f'{x:.2f}' for x in load['start'])} / "
        f"{', '.join(f'{x:.2f}' for x in load['end'])}.",
        "",
    ]
    if breakdown:
        labels = {
            "cluster_start_s": "start the LocalCluster and a Client",
            "worker_imports_s": "import torch and nnlife in a worker",
            "dataset_load_s": "load_dataset in a worker (read, MD5, parse)",
            "cluster_close_s": "close Client and cluster",
        }
        b = balance
        out += [
            "### Where the time goes (target missed)",
            "",
            "Fixed costs of one call, measured once on a 1-worker LocalCluster (each worker "
            "of a W-worker cluster pays the middle two, in parallel with the others):",
            "",
            md_table(["step", "s"], [[labels.get(k, k), v] for k, v in breakdown.items()]),
            "",
            f"Load balance: the {len(b['lifespan_s'])} lifespans take "
            + ", ".join(f"{x:.1f}" for x in b["lifespan_s"])
            + f" s on one core (sum {b['sum_s']:.1f} s, longest {b['longest_s']:.1f} s); "
            f"placed longest-first on 2 workers they need at least {b['lpt_2_worker_span_s']:.1f} s, "
            f"against the ideal {b['sum_s'] / 2:.1f} s. The 2-worker call takes "
            f"{b['two_worker_wall_s']:.1f} s, {b['two_worker_overhead_s']:.1f} s more than half "
            "its summed training time: start-up, data loading, writing, shutdown and imbalance.",
            "",
            "What would close the gap: at the published scale (40 epochs over 50,000-60,000 "
            "images, hundreds of times this benchmark's lifespans) the fixed costs vanish and "
            "the training-time ratio above is what remains. For short batches: submit the "
            "lifespans longest-first (by FLOPs x images, known from the spec before training) "
            "so the last task is a short one, and start the workers' imports and dataset load "
            "while the cluster comes up (Dask worker `preload`).",
            "",
        ]
    if gpu is None:
        out += [
            "No GPU was measured (torch.cuda.is_available() is False on this machine): lifespans "
            "per GPU-hour with 1, 2 and 4 concurrent workers are not reported.",
            "",
        ]
    else:
        out += [
            md_table(["workers on one GPU", "lifespans per GPU-hour"], [[k, v] for k, v in gpu.items()]),
            "",
        ]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(part_main(run))

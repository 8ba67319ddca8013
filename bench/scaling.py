"""Scale-out: lifespans per hour with 1 and with 2 Dask workers (``nnlife.generate_batch``).

The same batch (the same ``small`` networks from the same seed, the same Fashion-MNIST subset,
the same epochs) is generated with one single-threaded worker and with two (``generate_batch``
on a Dask ``LocalCluster`` of W worker processes, one torch thread each), into a fresh folder
every time (a batch skips the tables it finds finished), repeats interleaved. The batch is long
enough that start-up is a small share of it (full mode: 16 networks x 10 epochs over 5,000
images, a few minutes per call), and it is submitted largest first (``generate_batch`` does so
by estimated cost), so its tail is short lifespans.

Each call is timed whole (cluster start, imports and data loading in the workers, training,
writing, shutdown): ``scaling_2_workers`` is the ratio of lifespans per hour so measured. From
the lifespans' task times in ``generate_batch``'s result (``started_at``/``finished_at``, taken
in the workers) each call is also split into start-up (call start to the first lifespan's
training start), the training span (first start to last end) and shutdown (last end to call end);
the span gives the steady-state rate, and ``tail_idle`` the share of worker time spent idle at
the end.

GPU throughput is ``bench/gpu.py``'s (it needs a GPU; this part never uses one).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from run import interleave, md_table, median, part_main

# networks per batch, epochs, subset sizes, repeats, and the contenders run. Small networks'
# costs are heavy-tailed (their FLOPs span two orders of magnitude): in the 16 networks of seed 0
# the largest holds ~28 % of the work, so largest-first placement matters; 10 epochs make the
# fixed costs (~5 s per call) a few per cent of a call.
MODES = {
    "full": dict(
        n_networks=16,
        epochs=10,
        train_size=5000,
        val_size=1000,
        repeats=2,
        contenders=("1 worker, 1 thread", "2 workers"),
    ),
    "quick": dict(
        n_networks=8,
        epochs=2,
        train_size=2000,
        val_size=500,
        repeats=2,
        contenders=("1 worker, 1 thread", "2 workers"),
    ),
    "smoke": dict(
        n_networks=2, epochs=0.5, train_size=512, val_size=32, repeats=1, contenders=("1 worker", "2 workers")
    ),
}
# Every mode runs worker processes: torch training in Dask's in-process worker threads has
# crashed the process here (heap corruption), so smoke mode pays their start-up too.
SEED = 0  # seed of the batch: which networks are drawn


def one_batch(cfg: dict, workers: int) -> dict:
    """Generate the batch once with ``workers`` workers into a fresh folder; time it.

    The workers: a LocalCluster made here with W single-threaded worker processes and the
    scheduler settings ``generate_batch`` uses, passed as ``scheduler`` (Dask starts its workers
    with OMP_NUM_THREADS=1, so torch keeps one thread; with W = 2 this is the cluster
    ``generate_batch(workers=2)`` starts on 2 cores); its start is inside the timer.
    """
    import dask
    from distributed import Client, LocalCluster

    from nnlife import generate_batch
    from nnlife.generate.cluster import WORKER_SATURATION

    out = Path(tempfile.mkdtemp(prefix=f"nnlife-bench-scaling-{workers}w-"))
    try:
        t0 = time.time()
        # the scheduler's queueing as generate_batch sets it for the clusters it starts
        with (
            dask.config.set({"distributed.scheduler.worker-saturation": WORKER_SATURATION}),
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as lc,
            Client(lc) as client,
        ):
            frame = generate_batch(
                out / "batch",
                "FashionMNIST",
                cfg["n_networks"],
                space="small",
                seed=SEED,
                epochs=cfg["epochs"],
                train_size=cfg["train_size"],
                val_size=cfg["val_size"],
                device="cpu",
                scheduler=client,
                progress=False,
            )
        t1 = time.time()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if len(frame) != cfg["n_networks"] or (frame["status"] == "failed").any() or not frame["trained"].all():
        raise RuntimeError(
            f"generate_batch returned {len(frame)} lifespans, expected {cfg['n_networks']} trained"
        )
    from nnlife.generate.balance import tail_idle

    first, last = float(frame["started_at"].min()), float(frame["finished_at"].max())
    tail = tail_idle(zip(frame["worker"], frame["started_at"], frame["finished_at"]))
    return {
        "seconds": t1 - t0,
        "tables": len(frame),
        "training_s": float(frame["elapsed_s"].sum()),
        "lifespans_per_hour": 3600.0 * len(frame) / (t1 - t0),
        "startup_s": first - t0,
        "span_s": last - first,
        "shutdown_s": t1 - last,
        "steady_lifespans_per_hour": 3600.0 * len(frame) / (last - first),
        "tail_idle_share": tail.tail_idle_share,
        "idle_share": tail.idle_share,
        "workers_used": tail.workers,
        "order": [str(i) for i in frame.sort_values("started_at")["id"]],
        "elapsed_s": {str(i): float(e) for i, e in zip(frame["id"], frame["elapsed_s"])},
    }


def startup_breakdown() -> dict:
    """Seconds of the fixed costs of one generate_batch call, measured once on a 1-worker
    LocalCluster: start the cluster, import torch and nnlife in the worker, load the dataset
    (read, checksum and parse Fashion-MNIST), close the cluster."""
    from distributed import Client, LocalCluster

    def in_worker():
        t0 = time.perf_counter()
        import torch  # noqa: F401

        import nnlife.generate.train  # noqa: F401
        from nnlife import load_dataset

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


KEYS = (
    "seconds",
    "training_s",
    "lifespans_per_hour",
    "startup_s",
    "span_s",
    "shutdown_s",
    "steady_lifespans_per_hour",
    "tail_idle_share",
    "idle_share",
)


def run(mode: str) -> dict:
    """Scale-out: lifespans per hour with 1 and 2 single-threaded Dask workers."""
    cfg = MODES[mode]
    load0 = os.getloadavg()
    contenders = {
        name: (lambda w=(2 if name.startswith("2") else 1): one_batch(cfg, w)) for name in cfg["contenders"]
    }
    runs = interleave(contenders, cfg["repeats"], label="scaling")
    med = {name: {k: median([r[k] for r in rs]) for k in KEYS} for name, rs in runs.items()}
    one_name = cfg["contenders"][0]
    one, two = med[one_name], med["2 workers"]
    ratio = two["lifespans_per_hour"] / one["lifespans_per_hour"]
    ratio_steady = two["steady_lifespans_per_hour"] / one["steady_lifespans_per_hour"]
    # training time alone: 2 workers train two lifespans at a time, so their training wall time
    # is about half their summed elapsed_s (start-up, data loading and imbalance left out)
    ratio_train = one["training_s"] / (two["training_s"] / 2)
    breakdown = startup_breakdown() if mode != "smoke" else None
    # load balance: the lifespans' training times (median over the one-worker repeats) and the
    # shortest 2-worker span longest-first placement (LPT) allows with those times
    per_life = {
        k: median([r["elapsed_s"][k] for r in runs[one_name]]) for k in runs[one_name][0]["elapsed_s"]
    }
    busy = [0.0, 0.0]
    for d in sorted(per_life.values(), reverse=True):
        busy[busy.index(min(busy))] += d
    order = runs["2 workers"][0]["order"]
    balance = {
        "lifespan_s": per_life,
        "sum_s": sum(per_life.values()),
        "longest_s": max(per_life.values()),
        "lpt_2_worker_span_s": max(busy),
        "two_worker_span_s": two["span_s"],
        "two_worker_start_order_s": [per_life[i] for i in order],
    }
    load = {"start": list(load0), "end": list(os.getloadavg())}
    details = {
        "config": {k: v for k, v in cfg.items() if k != "contenders"},
        "contenders": list(cfg["contenders"]),
        "medians": med,
        "all_seconds": {n: [r["seconds"] for r in rs] for n, rs in runs.items()},
        "runs": {n: [{k: r[k] for k in KEYS} for r in rs] for n, rs in runs.items()},
        "scaling_2_workers": ratio,
        "scaling_2_workers_steady": ratio_steady,
        "scaling_2_workers_training_only": ratio_train,
        "startup": breakdown,
        "balance": balance,
        "gpu": None,
        "load_average": load,
    }
    return {
        "figures": {"scaling_2_workers": ratio},
        "extra_figures": {
            "scaling_2_workers_steady": ratio_steady,
            "scaling_2_workers_training_only": ratio_train,
            "scaling_tail_idle_share_2_workers": two["tail_idle_share"],
            "scaling_startup_s_2_workers": two["startup_s"],
            **{
                f"lifespans_per_hour_{k.replace(' ', '_').replace(',', '')}": m["lifespans_per_hour"]
                for k, m in med.items()
            },
        },
        "details": details,
        "markdown": markdown(cfg, med, runs, ratio, ratio_steady, ratio_train, breakdown, balance, load),
    }


def markdown(cfg, med, runs, ratio, ratio_steady, ratio_train, breakdown, balance, load) -> str:
    rows = [
        [
            name,
            m["seconds"],
            m["startup_s"],
            m["span_s"],
            m["shutdown_s"],
            m["lifespans_per_hour"],
            m["steady_lifespans_per_hour"],
            f"{m['tail_idle_share']:.1%}",
            ", ".join(f"{r['seconds']:.1f}" for r in runs[name]),
        ]
        for name, m in med.items()
    ]
    b = balance
    out = [
        "## 3. Scale-out (`bench/scaling.py`)",
        "",
        f"`generate_batch(out, 'FashionMNIST', {cfg['n_networks']}, space='small', seed={SEED}, "
        f"epochs={cfg['epochs']}, train_size={cfg['train_size']}, val_size={cfg['val_size']}, device='cpu', "
        "scheduler=client)` into a fresh folder, where `client` is a new Dask LocalCluster of W "
        "single-threaded worker processes (torch keeps one thread in each; W = 2 is what "
        "`generate_batch(workers=2)` starts on this 2-core machine), W = 1 and 2, "
        f"{cfg['repeats']} interleaved repeats, medians. The lifespans are submitted largest first "
        "by estimated cost (analytic FLOPs x images x epochs). 'call s' is the whole call including "
        "the cluster's start and close; from the lifespans' task times (taken in the workers) it "
        "splits into start-up (call start to the first lifespan's training start: cluster, worker "
        "imports, the first worker's data loading), span (first training start to last end: "
        "training and writing, and the other worker's start-up) and shutdown; 'steady' is "
        "lifespans per hour over the span; 'tail idle' is the share of the workers' time in the "
        "span spent idle after their own last lifespan.",
        "",
        md_table(
            [
                "workers",
                "call s",
                "start-up s",
                "span s",
                "shutdown s",
                "lifespans / hour",
                "steady lifespans / hour",
                "tail idle",
                "all repeats (s)",
            ],
            rows,
        ),
        "",
        f"`scaling_2_workers` = {ratio:.2f} (target >= 1.85): 2-worker lifespans per hour over the "
        f"one-worker's, whole calls. Over the training span only: {ratio_steady:.2f}. Training time "
        "alone (summed `elapsed_s` of the one worker over half the 2-worker sum: per-lifespan speed "
        f"of two processes sharing the machine's 2 cores, memory bandwidth and caches): {ratio_train:.2f}.",
        "",
        f"Load balance: the {len(b['lifespan_s'])} lifespans take "
        + ", ".join(f"{x:.1f}" for x in sorted(b["lifespan_s"].values(), reverse=True))
        + f" s on one worker (sum {b['sum_s']:.1f} s, longest {b['longest_s']:.1f} s); longest first on "
        f"2 workers they need at least {b['lpt_2_worker_span_s']:.1f} s (ideal {b['sum_s'] / 2:.1f} s). "
        f"The 2-worker span was {b['two_worker_span_s']:.1f} s; order of starts in its first repeat, "
        "by one-worker seconds: " + ", ".join(f"{x:.1f}" for x in b["two_worker_start_order_s"]) + ".",
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
        out += [
            "Fixed costs of one call, measured once on a 1-worker LocalCluster (each worker of a "
            "W-worker cluster pays the middle two, in parallel with the others):",
            "",
            md_table(["step", "s"], [[labels.get(k, k), v] for k, v in breakdown.items()]),
            "",
        ]
    out += [
        "GPU: lifespans per GPU-hour with 1, 2, 4 and 8 workers per GPU are `bench/gpu.py`'s "
        "(prepared; this machine has no GPU).",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(part_main(run))

"""The malloc tax in Dask workers (issue 16): the same batch before and after nnlife's fix.

Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``). Setting any of glibc's malloc thresholds switches off
its adaptive mmap threshold, so every buffer above 128 KiB (activations, gradients) is mapped
and unmapped again at every training step and page-faults on first touch. nnlife starts its
workers with ``nnlife.generate.cluster.MALLOC_ENV`` instead (see there).

Contenders, on the same batch (``generate_batch`` of the same ``small`` networks, 2 workers):

- ``dask_default``: a ``LocalCluster`` made here with Dask's own worker environment, passed to
  ``generate_batch`` as ``scheduler`` (nnlife leaves a cluster it did not start as it is);
- ``nnlife``: ``generate_batch(workers=2)``, which starts its own LocalCluster with nnlife's
  malloc environment.

Each call runs in a fresh Python process (``python bench/malloc.py --one NAME``), so that the
workers' CPU time, system time, minor page faults and peak memory can be read from
``getrusage(RUSAGE_CHILDREN)`` once the cluster has closed (its worker processes are children of
that process); repeats are interleaved, figures are medians.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import interleave, log, md_table, median, part_main

BENCH = Path(__file__).resolve().parent
MODES = {
    "full": dict(n_networks=8, epochs=2, train_size=5000, val_size=1000, repeats=3, processes=True),
    "quick": dict(n_networks=4, epochs=1, train_size=2000, val_size=500, repeats=2, processes=True),
    # smoke (the test suite): one call of each in this process, on worker processes all the same
    "smoke": dict(n_networks=2, epochs=0.5, train_size=512, val_size=32, repeats=1, processes=True),
}
CONTENDERS = ("dask_default", "nnlife")


def one(name: str, cfg: dict) -> dict:
    """One generate_batch call with ``name``'s worker environment, in this process."""
    from nnlife.generate.batch import generate_batch

    out = Path(tempfile.mkdtemp(prefix=f"nnlife-bench-malloc-{name}-"))
    kwargs = dict(
        epochs=cfg["epochs"],
        train_size=cfg["train_size"],
        val_size=cfg["val_size"],
        device="cpu",
        progress=False,
    )
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        if name == "dask_default":
            from distributed import Client, LocalCluster

            with (
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
                Client(lc) as client,
            ):
                frame = generate_batch(
                    out / "batch",
                    "FashionMNIST",
                    cfg["n_networks"],
                    space="small",
                    seed=0,
                    scheduler=client,
                    **kwargs,
                )
        else:
            frame = generate_batch(
                out / "batch", "FashionMNIST", cfg["n_networks"], space="small", seed=0, workers=2, **kwargs
            )
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if (frame["status"] != "complete").any():
        raise RuntimeError(f"{name}: some lifespans did not complete: {frame['status'].tolist()}")
    return {
        "seconds": seconds,
        "training_s": float(frame["elapsed_s"].sum()),
        "workers_user_s": r1.ru_utime - r0.ru_utime,
        "workers_system_s": r1.ru_stime - r0.ru_stime,
        "workers_minor_faults": r1.ru_minflt - r0.ru_minflt,
        "workers_peak_rss_gib": r1.ru_maxrss / 2**20,
        "lifespans_per_hour": 3600.0 * len(frame) / seconds,
    }


def _in_process(name: str, mode: str):
    """A contender for ``interleave``: one call in a fresh Python process."""

    def call():
        cmd = [sys.executable, str(BENCH / "malloc.py"), "--one", name, "--mode", mode]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return call


def run(mode: str) -> dict:
    """The same batch on 2 workers: Dask's default malloc environment vs nnlife's."""
    from nnlife.generate.cluster import MALLOC_ENV

    cfg = MODES[mode]
    load0 = os.getloadavg()
    runs = interleave({n: _in_process(n, mode) for n in CONTENDERS}, cfg["repeats"], label="malloc")
    keys = (
        "seconds",
        "training_s",
        "workers_user_s",
        "workers_system_s",
        "workers_minor_faults",
        "workers_peak_rss_gib",
        "lifespans_per_hour",
    )
    med = {n: {k: median([r[k] for r in rs]) for k in keys} for n, rs in runs.items()}
    load = {"start": list(load0), "end": list(os.getloadavg())}
    speedup = med["dask_default"]["seconds"] / med["nnlife"]["seconds"]
    extra = {
        "malloc_speedup": speedup,
        "malloc_system_s_before": med["dask_default"]["workers_system_s"],
        "malloc_system_s_after": med["nnlife"]["workers_system_s"],
        "malloc_faults_before": med["dask_default"]["workers_minor_faults"],
        "malloc_faults_after": med["nnlife"]["workers_minor_faults"],
        "malloc_peak_rss_gib_before": med["dask_default"]["workers_peak_rss_gib"],
        "malloc_peak_rss_gib_after": med["nnlife"]["workers_peak_rss_gib"],
    }
    details = {
        "config": cfg,
        "medians": med,
        "all": runs,
        "environment": dict(MALLOC_ENV),
        "load_average": load,
    }
    return {
        "figures": {},
        "extra_figures": extra,
        "details": details,
        "markdown": markdown(cfg, med, runs, speedup, load, MALLOC_ENV),
    }


def markdown(cfg, med, runs, speedup, load, env) -> str:
    what = {
        "dask_default": "before: Dask's worker environment (`MALLOC_TRIM_THRESHOLD_=65536`)",
        "nnlife": "after: nnlife's (" + ", ".join(f"`{k}={v}`" for k, v in env.items()) + ")",
    }
    rows = [
        [
            what[n],
            m["seconds"],
            m["workers_user_s"],
            m["workers_system_s"],
            m["workers_minor_faults"],
            m["workers_peak_rss_gib"],
            ", ".join(f"{r['seconds']:.1f}" for r in runs[n]),
        ]
        for n, m in med.items()
    ]
    return "\n".join(
        [
            "## 3b. The malloc tax in Dask workers (`bench/malloc.py`)",
            "",
            f"`generate_batch(out, 'FashionMNIST', {cfg['n_networks']}, space='small', seed=0, "
            f"epochs={cfg['epochs']}, train_size={cfg['train_size']}, val_size={cfg['val_size']}, 2 workers)`, "
            "each call in a fresh process, the workers' rusage read after the cluster closed; "
            f"{cfg['repeats']} interleaved repeats, medians.",
            "",
            md_table(
                [
                    "worker environment",
                    "median s (whole call)",
                    "workers' user s",
                    "workers' system s",
                    "minor page faults",
                    "peak RSS of a worker (GiB)",
                    "all repeats (s)",
                ],
                rows,
            ),
            "",
            f"With nnlife's environment the batch runs at **{speedup:.2f}x** the speed of Dask's (wall time "
            "of the whole call, start-up included; the CPU and system times are less sensitive to "
            "the other jobs of a shared machine). Load average at start / end: "
            f"{', '.join(f'{x:.2f}' for x in load['start'])} / {', '.join(f'{x:.2f}' for x in load['end'])}.",
            "",
        ]
    )


def _main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if "--one" in argv:  # one call, in this process: print its measurements as a JSON line
        import argparse

        p = argparse.ArgumentParser()
        p.add_argument("--one", choices=CONTENDERS, required=True)
        p.add_argument("--mode", default="quick")
        a = p.parse_args(argv)
        print(json.dumps(one(a.one, MODES[a.mode])))
        return 0
    return part_main(run, argv)


if __name__ == "__main__":
    log("bench/malloc.py")
    raise SystemExit(_main())

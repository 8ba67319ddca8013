"""Many lifespans on Dask: ``generate_batch``.

A batch folder holds ``manifest.json`` (every parameter, versions, host, start and end of each
run; ``nnlife.generate.manifest``) and one table per lifespan, ``<id>.txt`` with id
``<net id>-s<seed>``. ``generate_batch`` plans the lifespans (``plan``), skips those whose tables
are finished and sound (``task.finished``), submits one Dask task per remaining lifespan
(``task.run_job``) to the cluster that ``scheduler`` names (``cluster``), and collects the results.
Starting the same batch again trains only what is missing or broken.
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..datasets import split_sizes
from ..errors import NnlifeError, ParameterError
from ..spec import DEFAULT_MEMORY_FORMAT
from .balance import ordered, tail_idle
from .cluster import Connection, check_scheduler, label, runs_here
from .device import resolve_device
from .locate import locate_dataset
from .lock import BatchLock
from .mainguard import main_hidden
from .manifest import batch_parameters, folder_parameters, open_manifest, write_manifest
from .plan import check_fits, check_parameters, images_per_epoch, plan_batch
from .task import TaskOptions, failed_summary, finished, run_job, summary

BATCHES_DIR = Path("data") / "batches"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def batch_dir(name: str) -> Path:
    """``data/batches/<name>``: under the nnlife checkout when nnlife runs from one (so a notebook
    and ``make demo`` in the checkout use the same folder), else under the current directory."""
    repo = Path(__file__).resolve().parents[2]
    base = repo if (repo / "pyproject.toml").is_file() else Path.cwd()
    return base / BATCHES_DIR / name


def generate_batch(
    out_dir,
    dataset: str,
    n_networks: int,
    space="small",
    seed: int = 0,
    epochs: float = 40,
    seeds_per_network: int = 1,
    train_size: int | None = None,
    val_size: int | None = None,
    scheduler=None,
    workers: int | None = None,
    device: str = "auto",
    *,
    eval_interval: float = 0.5,
    subset_seed: int = 0,
    val_source: str = "test",
    deterministic: bool = True,
    memory_format: str | None = None,
    save_weights: bool = False,
    checkpoint_every: float | None = None,
    data_root=None,
    progress=True,
    wait: bool = False,
    workers_per_gpu: int | None = None,
    order: str = "largest-first",
):
    """Train a batch of lifespans on Dask, one table per lifespan in ``out_dir``.

    out_dir: the batch folder (created); a name that says what made it, e.g.
        ``data/batches/fashionmnist-small-seed0``. Tables already there are kept; only missing
        or broken ones are trained (see ``nnlife.generate.task``).
    dataset, space: "FashionMNIST"/"CIFAR100"/"SVHN"; "small"/"paper" or a SearchSpace.
    n_networks, seed: networks 0..n_networks-1, network i sampled from (seed, i).
    epochs, eval_interval: training length and record period in epochs (40 and 0.5: 80 rows).
    seeds_per_network: training seeds per network (k tables per network).
    train_size, val_size, subset_seed, val_source: the data subsets (see ``load_dataset``).
    scheduler, workers: where to run (see ``nnlife.generate.cluster``); ``workers`` is the number of
        LocalCluster worker processes (default: one per core) or of dask-jobqueue jobs when the
        options give no ``jobs``; ignored for a running scheduler.
    device: "auto", "cpu", "cuda", "cuda:N", resolved in each worker.
    deterministic: torch's deterministic algorithms (``TrainSpec.deterministic``); on by default so
        that ``nnlife.reproduce`` replays a table exactly.
    memory_format: "channels_last" or "contiguous" (``TrainSpec.memory_format``); None: the
        batch's own when ``out_dir`` holds one (``contiguous`` for batches begun before the
        setting existed, so a resumed batch trains as it began), else "channels_last".
    save_weights: also write each network's final weights, ``<id>.weights.pt``.
    checkpoint_every: epochs between checkpoints of unfinished lifespans (None: none).
    data_root: a folder to look for the dataset in first (in each worker).
    workers_per_gpu: N single-threaded worker processes per visible GPU on this machine, each
        seeing only its GPU (``nnlife.generate.gpus``); instead of ``workers``, local only.
    wait: when another run holds the folder's lock (``nnlife.generate.lock``), wait for it to
        finish instead of raising BatchInUseError (a ParameterError naming its pid and host).
    order: "largest-first" (the default: the batch's span is shortest) or "cheapest-first" (as
        many lifespans as possible finish early, for a run that will be cut short; with
        ``checkpoint_every`` the big ones resume in the next run); see ``nnlife.generate.balance``.
    progress: True for a tqdm bar (notebook-aware), ``"lines"`` for plain-text lines on the
        process's stderr (``nnlife.generate.progress``: what papermill runs and logs show), False
        for none, or a callable ``(done, total, summary dict)``.

    Returns a DataFrame, one row per lifespan of the batch (trained now or before), sorted by
    network and seed: id, network_index, seed_index, seed, net_id, path, status ("complete",
    "diverged", "failed"), rows, final_val_acc (%), elapsed_s (training seconds), trained (in
    this call), error, worker, started_at, finished_at (where and when, in Unix seconds, this call
    trained it; empty and nan otherwise). The lifespans are submitted largest first by estimated
    cost (``nnlife.generate.balance``); the manifest's run records the workers' idle share at
    the tail. Raises ParameterError (or DatasetNotFoundError) for bad parameters before
    any training starts, and NnlifeError after the run when some lifespans failed (their tables
    are missing; the others are written, and a second call retries the failed ones).
    """
    # --- check everything before any training -----------------------------------------------------
    batch = dict(
        n_networks=n_networks,
        space=space,
        seed=seed,
        epochs=epochs,
        seeds_per_network=seeds_per_network,
        train_size=train_size,
        val_size=val_size,
        eval_interval=eval_interval,
        subset_seed=subset_seed,
        val_source=val_source,
        deterministic=deterministic,
    )
    slots = _gpu_slots(workers_per_gpu, scheduler, workers, device)
    if slots and device == "auto":
        device = "cuda"  # each GPU worker sees its one GPU as cuda:0
    _check_run(scheduler, device, checkpoint_every, order)  # before the folder is made: nothing written
    batch["memory_format"] = _memory_format(out_dir, memory_format)
    name, out = check_parameters(out_dir, dataset, workers=workers, **batch)
    if runs_here(scheduler):
        locate_dataset(name, root=data_root)  # the data must be here (a shared file system)
    jobs = plan_batch(out, name, **batch)
    check_fits(jobs, images_per_epoch(name, train_size, val_size, val_source))
    open_manifest(out, batch_parameters(name, **batch))  # a foreign or damaged manifest: refused
    # before anything is written, the lock file included (read again under the lock)
    with BatchLock(out, wait=wait, on_wait=_say_waiting(out) if progress else None):  # the whole run
        return _locked_run(
            out,
            name,
            batch,
            jobs,
            scheduler=scheduler,
            workers=workers,
            device=device,
            save_weights=save_weights,
            checkpoint_every=checkpoint_every,
            data_root=data_root,
            progress=progress,
            gpu_slots=slots,
            order=order,
        )


def _memory_format(out_dir, requested: str | None) -> str:
    """``requested``, or for None the batch folder's own (its manifest's, legacy-aware), or the
    default for a new batch. A value that differs from the folder's is refused later, with the
    other parameters, by ``open_manifest``."""
    if requested is not None:
        return requested
    try:
        own = folder_parameters(Path(out_dir).expanduser().absolute())
    except (TypeError, OSError):  # out_dir itself is checked by check_parameters
        own = None
    return own["memory_format"] if own else DEFAULT_MEMORY_FORMAT


def _say_waiting(out: Path):
    return lambda holder: print(f"nnlife: {out} is in use by {holder}; waiting for it", file=sys.stderr)


def _locked_run(
    out,
    name,
    batch,
    jobs,
    *,
    scheduler,
    workers,
    device,
    save_weights,
    checkpoint_every,
    data_root,
    progress,
    gpu_slots,
    order,
):
    """The rest of ``generate_batch``, with the folder's lock held: resume, train, record the run."""
    manifest = open_manifest(out, batch_parameters(name, **batch))

    # --- what is finished, what is left -----------------------------------------------------------
    done: dict[str, dict] = {}
    for job in jobs:
        life = finished(job)
        if life is not None:
            done[job.id] = summary(job, life, trained=False)
    todo = [job for job in jobs if job.id not in done]
    n_workers = len(gpu_slots) if gpu_slots else (workers or os.cpu_count() or 1)
    gpus = sorted({s.gpu for s in gpu_slots}) if gpu_slots else None
    run = _start_run(
        out,
        manifest,
        jobs,
        todo,
        device=device,
        workers=workers,
        save_weights=save_weights,
        checkpoint_every=checkpoint_every,
        workers_per_gpu=len(gpu_slots) // len(gpus) if gpu_slots else None,
        gpus=gpus,
    )

    # --- train what is left, one Dask task per lifespan -------------------------------------------
    results: list[dict] = []
    bar = _progress_bar(progress, len(jobs), len(done), out.name)
    try:
        if todo:
            local = scheduler is None
            opts = TaskOptions(
                device=device,
                # one torch thread per worker (DESIGN: one single-threaded worker per core): two
                # threads in one worker crashed ("free(): invalid size") or changed curves on some
                # sampled networks on this CPU (torch 2.14.1), so more threads are never given
                torch_threads=1 if (gpu_slots or local) else None,
                save_weights=save_weights,
                checkpoint_every=checkpoint_every,
                data_root=None if data_root is None else str(data_root),
            )
            run["scheduler"] = label(scheduler, n_workers)
            n_train = images_per_epoch(name, batch["train_size"], batch["val_size"], batch["val_source"])
            n_val = batch["val_size"] or split_sizes(name, batch["val_source"], batch["val_size"])[1]
            connection = Connection(scheduler, n_workers, workers, gpu_slots=gpu_slots)
            run["order"] = order
            results = _submit(ordered(todo, n_train, n_val, order), opts, connection, bar)
    finally:
        _end_run(out, manifest, run, results, n_done=len(done), n_jobs=len(jobs))
        bar(None)

    return _result(list(done.values()) + results, out)


def _result(summaries: list[dict], out: Path):
    """The result frame, by network and seed; NnlifeError naming the first failure if any."""
    import pandas as pd

    frame = pd.DataFrame(summaries)
    frame = frame.sort_values(["network_index", "seed_index"], kind="stable").reset_index(drop=True)
    failed = frame[frame["status"] == "failed"]
    if len(failed):
        first = failed.iloc[0]
        raise NnlifeError(
            f"{len(failed)} of {len(frame)} lifespans failed in {out} (first: {first['id']}: "
            f"{first['error']}); the other tables are written. Run the same batch again "
            "to retry the failed ones"
        )
    return frame


def _check_run(scheduler, device, checkpoint_every, order="largest-first") -> None:
    """ParameterError for a bad scheduler, device (on a local cluster), checkpoint period or order."""
    ordered([], 0, 0, order)
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, (int, float))
        or checkpoint_every <= 0
    ):
        raise ParameterError(
            f"checkpoint_every must be a number of epochs > 0 or None, got {checkpoint_every!r}"
        )
    if scheduler is None:
        resolve_device(device)  # a GPU asked for on a machine without one fails here
    check_scheduler(scheduler)


def _start_run(out: Path, manifest: dict, jobs, todo, **settings) -> dict:
    """Add this run to the manifest (versions, host, what is left to train) and write it."""
    run = {
        "started": _now(),
        "finished": None,
        "host": socket.gethostname(),
        "nnlife_version": __version__,
        "torch_version": _version("torch"),
        "python": sys.version.split()[0],
        "device": settings["device"],
        "workers": settings["workers"],
        "save_weights": settings["save_weights"],
        "checkpoint_every": settings["checkpoint_every"],
        "workers_per_gpu": settings["workers_per_gpu"],
        "gpus": settings["gpus"],
        "pid": os.getpid(),
        "to_train": len(todo),
        "trained": 0,
        "failed": 0,
    }
    manifest.update(
        {
            "nnlife_version": __version__,
            "torch_version": _version("torch"),
            "host": run["host"],
            "started": manifest.get("started") or run["started"],
            "finished": None,
            "lifespans": [
                {
                    "id": j.id,
                    "network_index": j.network_index,
                    "seed_index": j.seed_index,
                    "seed": j.train["seed"],
                    "net_id": j.id.rsplit("-s", 1)[0],
                }
                for j in jobs
            ],
        }
    )
    manifest["runs"].append(run)
    write_manifest(out, manifest)
    return run


def _gpu_slots(workers_per_gpu, scheduler, workers, device):
    """The GPU worker slots of ``workers_per_gpu`` (None without it); ParameterError when it
    cannot apply: with another scheduler or ``workers``, on the CPU, or without a GPU."""
    if workers_per_gpu is None:
        return None
    from .gpus import gpu_workers_here

    if scheduler is not None:
        raise ParameterError(
            "workers_per_gpu starts GPU workers on this machine; with a scheduler, start them "
            "there: per GPU, N `dask worker --nthreads 1` processes with CUDA_VISIBLE_DEVICES set "
            "to it (or a dask-jobqueue job per GPU with processes: N)"
        )
    if workers is not None:
        raise ParameterError("give workers (CPU worker processes) or workers_per_gpu, not both")
    if str(device) not in ("auto", "cuda"):
        raise ParameterError(
            f"workers_per_gpu trains on the GPUs (device 'auto' or 'cuda'), not on device "
            f"{device!r}: each worker sees its one GPU as cuda:0"
        )
    return gpu_workers_here(workers_per_gpu)


def _submit(queue, opts: TaskOptions, connection: Connection, bar) -> list[dict]:
    """Run ``run_job`` for every job on the cluster, ``queue`` as ``balance.ordered`` gives
    them ((job, cost, priority), in the run's order; Dask starts higher priorities first);
    the summaries in the order they finish."""
    from distributed import as_completed

    results = []
    with main_hidden(), connection as client:  # workers spawned meanwhile skip the main module
        futures = {
            client.submit(run_job, job, opts, retries=2, pure=False, priority=priority): job
            for job, _, priority in queue
        }
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except Exception as e:  # noqa: BLE001 - reported in the result and raised after the run
                result = failed_summary(futures[fut], e)
            results.append(result)
            bar(result)
    return results


def _end_run(out: Path, manifest: dict, run: dict, results, n_done: int, n_jobs: int) -> None:
    """Record the run's end and counts; the batch is finished when every lifespan has its table."""
    run["finished"] = _now()
    run["trained"] = sum(1 for r in results if r["trained"])
    run["failed"] = sum(1 for r in results if r["status"] == "failed")
    tail = tail_idle((r["worker"], r["started_at"], r["finished_at"]) for r in results if r["trained"])
    if tail is not None:  # how evenly the lifespans filled the workers (balance.TailIdle)
        run.update(
            workers_used=tail.workers,
            span_s=round(tail.span_s, 3),
            tail_idle_share=round(tail.tail_idle_share, 4),
            idle_share=round(tail.idle_share, 4),
        )
    if n_done + sum(1 for r in results if r["status"] != "failed") == n_jobs:
        manifest["finished"] = run["finished"]  # the batch is complete
    write_manifest(out, manifest)


def _progress_bar(progress, total: int, initial: int, desc: str):
    """A function to call with each finished lifespan's summary (None to close the bar)."""
    if isinstance(progress, str):
        if progress != "lines":
            raise ParameterError(f'progress={progress!r}: use True (a bar), "lines", False or a callable')
        from .progress import ProgressLines

        return ProgressLines(desc, total, initial)
    if callable(progress):
        state = {"done": initial}

        def call(summary):
            if summary is not None:
                state["done"] += 1
                progress(state["done"], total, summary)

        return call
    if not progress:
        return lambda summary: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, unit="lifespan", desc=desc, smoothing=0.1)
    counts = {"diverged": 0, "failed": 0}

    def update(summary):
        if summary is None:
            bar.close()
            return
        if summary["status"] in counts:
            counts[summary["status"]] += 1
            bar.set_postfix(counts, refresh=False)
        bar.update(1)

    return update


__all__ = ["generate_batch", "batch_dir", "BATCHES_DIR"]

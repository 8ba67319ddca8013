"""One task of a batch (it runs in a Dask worker): one lifespan, trained and written atomically.

The task loads the dataset in its worker (once per process, ``load_dataset`` caches it), trains,
and writes its own table with ``write_lifespan`` (``nnlife.atomic``: a temporary file, then a
link that never replaces a finished table), so a batch that is killed at any moment loses no
finished table. A table that is already there and sound is kept (``finished``); one that cannot
be read, or holds another network or training, is moved aside to ``<id>.txt.broken-<UTC time>``
(nothing written is ever deleted) and trained again. With ``checkpoint_every`` an interrupted
lifespan resumes from ``checkpoints/<id>.pt``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import TableError
from ..spec import NetSpec, TrainSpec
from ..table import read_lifespan, write_lifespan
from .attempts import log_event, where
from .plan import LifespanJob

CHECKPOINT_DIR = "checkpoints"  # under the batch folder: one <id>.pt per unfinished lifespan
WEIGHTS_SUFFIX = ".weights.pt"  # final weights beside the table: <id>.weights.pt


def finished(job: LifespanJob):
    """The table of ``job`` when it exists, reads back and is the planned lifespan; else None.

    A table that exists but cannot be read, or holds another network or training, is moved
    aside to ``<name>.broken-<UTC time>`` so it is trained again and nothing is lost.
    """
    path = Path(job.path)
    if not path.exists():
        return None
    try:
        life = read_lifespan(path)
        planned_train = TrainSpec.from_dict(job.train)
        if life.net.canonical() != NetSpec.from_dict(job.net).canonical() or life.train.replace(
            device="cpu"
        ) != planned_train.replace(device="cpu"):
            raise TableError(f"{path}: holds another network or training than planned")
    except TableError:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path.rename(path.with_name(f"{path.name}.broken-{stamp}"))
        return None
    return life


def summary(
    job: LifespanJob,
    life,
    trained: bool,
    worker: str = "",
    started_at: float = math.nan,
    finished_at: float = math.nan,
) -> dict:
    """The row of ``generate_batch``'s result for a lifespan that has its table; ``worker``,
    ``started_at`` and ``finished_at`` (Unix seconds) say where and when this task trained it."""
    curve = life.curve
    return {
        "id": job.id,
        "network_index": job.network_index,
        "seed_index": job.seed_index,
        "seed": job.train["seed"],
        "net_id": life.net.id,
        "path": job.path,
        "status": life.status,
        "rows": len(curve),
        "final_val_acc": float(curve["val_acc"].iloc[-1]) if len(curve) else float("nan"),
        "elapsed_s": float(curve["elapsed_s"].iloc[-1]) if len(curve) else float("nan"),
        "trained": trained,
        "error": "",
        "worker": worker,
        "started_at": started_at,
        "finished_at": finished_at,
    }


def failed_summary(job: LifespanJob, error: BaseException) -> dict:
    """The row of ``generate_batch``'s result for a lifespan whose task failed (no table)."""
    return {
        "id": job.id,
        "network_index": job.network_index,
        "seed_index": job.seed_index,
        "seed": job.train["seed"],
        "net_id": job.id.rsplit("-s", 1)[0],
        "path": job.path,
        "status": "failed",
        "rows": 0,
        "final_val_acc": float("nan"),
        "elapsed_s": float("nan"),
        "trained": False,
        "error": f"{type(error).__name__}: {error}",
        "worker": "",
        "started_at": math.nan,
        "finished_at": math.nan,
    }


@dataclass(frozen=True)
class TaskOptions:
    """How every task of one run trains (the same for all lifespans of the run)."""

    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:N"
    torch_threads: int | None = None  # torch.set_num_threads in the worker; None: leave it
    save_weights: bool = False  # write <id>.weights.pt beside the table
    checkpoint_every: float | None = None  # epochs between checkpoints; None: none
    data_root: str | None = None  # first folder to look for the dataset in


def run_job(job: LifespanJob, opts: TaskOptions) -> dict:
    """Train one lifespan of a batch and write its table atomically; return its summary dict.

    A table already there and sound (a task that ran twice) is kept and not trained again.
    Every start, end, find and failure goes into the lifespan's log (``attempts``).
    """
    import torch

    if opts.torch_threads:
        torch.set_num_threads(opts.torch_threads)
    place, batch = where(), Path(job.path).parent
    life = finished(job)
    if life is not None:
        log_event(batch, job.id, "found", place)
        return summary(job, life, trained=False)
    try:
        data = _load(job, opts)
    except BaseException as e:
        log_event(batch, job.id, "failed", place, error=type(e).__name__, during="load_dataset")
        raise
    started_at = time.time()  # training starts (the dataset is in memory: loaded once per process)
    log_event(batch, job.id, "start", place)
    try:
        life, written = _train_and_write(job, opts, data)
    except BaseException as e:
        log_event(batch, job.id, "failed", place, error=type(e).__name__)
        raise
    log_event(
        batch,
        job.id,
        "finished",
        place,
        status=life.status,
        rows=len(life.curve),
        elapsed_s=f"{float(life.curve['elapsed_s'].iloc[-1]):.3f}" if len(life.curve) else None,
        resumed_at_epoch=life.meta.get("resumed_at_epoch"),
        table=written,
    )
    return summary(
        job,
        life,
        trained=True,
        worker=place.get("worker") or f"{place['host']}:{place['pid']}",
        started_at=started_at,
        finished_at=time.time(),
    )


def _load(job: LifespanJob, opts: TaskOptions):
    """The lifespan's dataset (``load_dataset`` keeps it for the process's later lifespans)."""
    from .data import load_dataset

    train = TrainSpec.from_dict(job.train)
    return load_dataset(
        train.dataset,
        root=opts.data_root,
        train_size=train.train_size,
        val_size=train.val_size,
        seed=train.subset_seed,
        val_source=train.val_source,
    )


def _train_and_write(job: LifespanJob, opts: TaskOptions, data):
    """Train the lifespan and write its table; (Lifespan, "written" or "kept")."""
    from .train import train_lifespan

    net, train = NetSpec.from_dict(job.net), TrainSpec.from_dict(job.train)
    path = Path(job.path)
    checkpoint = path.parent / CHECKPOINT_DIR / f"{job.id}.pt"
    life = train_lifespan(
        net,
        train,
        data,
        device=opts.device,
        id=job.id,
        meta=job.meta,
        weights=path.with_name(job.id + WEIGHTS_SUFFIX) if opts.save_weights else None,
        checkpoint=checkpoint if opts.checkpoint_every else None,
        checkpoint_every=opts.checkpoint_every,
    )
    written = "written"
    try:
        write_lifespan(life, path)
    except FileExistsError:  # another run of this task finished first: keep its table
        written = "kept"
    if checkpoint.exists():
        checkpoint.unlink()
    return life, written


__all__ = [
    "TaskOptions",
    "run_job",
    "finished",
    "summary",
    "failed_summary",
    "CHECKPOINT_DIR",
    "WEIGHTS_SUFFIX",
]

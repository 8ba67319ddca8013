"""Reproduce: rebuild and retrain a lifespan from its table alone, and compare the two curves.

``reproduce(path)`` reads one table (nnlife's or the published layout), rebuilds the network and
its training from the table's columns (nothing else: no manifest, no batch folder), loads the
same data (the table's dataset, subset sizes, subset seed and validation source), trains again
and returns a ``Comparison``: both curves side by side, the largest absolute difference per
column and a verdict.

Verdicts and their thresholds (``THRESHOLDS``):
- ``identical``: every compared value equal, bit for bit (NaN equals NaN), over the same rows;
- ``within noise``: the same rows, accuracies within ``NOISE_ACC_PP`` percentage points and
  losses within ``NOISE_LOSS`` nats everywhere;
- ``different``: anything else (more or fewer rows, e.g. one run diverged and the other not).

What can be identical: a table nnlife made on CPU, replayed on CPU with the same torch thread
count (``reproduce`` sets the table's ``torch_threads`` for the replay), nnlife and torch
versions. On a GPU, only with the deterministic flag. For the published tables nnlife knows the
network and the optimiser but not the original's data order, augmentation, weight
initialisation stream or GPU arithmetic, so the comparison says so and never claims identity;
the replay validates as the original did, dropping the last partial validation batch.

The replay is written next to the table as ``<id>.replay.txt`` (a derived table, replaced by a
later replay; the catalog skips it), where the explorer notebook finds it. The figure of a
replay is ``nnlife.report.lifespan.plot_replay``; the command, ``nnlife.cli.reproduce``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import columns as C
from ..errors import ParameterError
from ..table import REPLAY_SUFFIX

if TYPE_CHECKING:  # imported where used, so that `nnlife --help` stays fast
    import pandas as pd

    from ..table import Lifespan

VERDICTS = ("identical", "within noise", "different")
NOISE_ACC_PP = 2.0  # within noise: every accuracy within 2 percentage points of the table's
NOISE_LOSS = 0.1  # within noise: every loss within 0.1 nats of the table's
THRESHOLDS = {"accuracy_pp": NOISE_ACC_PP, "loss_nats": NOISE_LOSS}
COMPARED = (C.TRAIN_LOSS, C.TRAIN_ACC, C.VAL_LOSS, C.VAL_ACC)
ORIGINAL_UNKNOWNS = (
    "published table: the original run's data order, augmentation, weight initialisation and "
    "dropout draws are unknown (nnlife uses its own seeded streams from random_seed), and it ran "
    "on a GPU without deterministic algorithms; the replay can at best be 'within noise', never "
    "identical"
)


@dataclass(frozen=True, eq=False)
class Comparison:
    """A table's curve against its replay."""

    table: Lifespan  # the lifespan as read from the table
    replay: Lifespan  # the lifespan trained again now
    curves: pd.DataFrame  # epoch, then <column>_table and <column>_replay per compared column
    max_abs_diff: dict  # compared column -> largest |table - replay| (inf: NaN on one side)
    verdict: str  # "identical", "within noise" or "different"
    thresholds: dict  # {"accuracy_pp": 2.0, "loss_nats": 0.1}: the "within noise" bounds
    notes: tuple  # what is known to differ or to be unknown between the two runs
    replay_path: Path | None = None  # where the replay table was written, if it was

    def summary(self) -> str:
        """A few lines for people: verdict with thresholds, the differences, the notes."""
        lines = [
            f"replay of {self.table.id}: {self.verdict.upper()} over {len(self.curves)} rows "
            f"(identical = every value equal; within noise = accuracies within "
            f"{self.thresholds['accuracy_pp']} points and losses within "
            f"{self.thresholds['loss_nats']} nats)"
        ]
        lines += [f"  max |difference| {col}: {d:.6g}" for col, d in self.max_abs_diff.items()]
        lines += [f"  note: {n}" for n in self.notes]
        if self.replay_path is not None:
            lines.append(f"  replay table: {self.replay_path}")
        return "\n".join(lines)


def _replay_train(life: Lifespan):
    """The TrainSpec the replay uses: the table's, validating like the original for its tables."""
    if life.layout == "original":
        return life.train.replace(drop_last_val=True)
    return life.train


def _diffs(a, b) -> float:
    """Largest |a - b|, NaN against NaN counting as equal and NaN against a number as inf."""
    import numpy as np

    both_nan = np.isnan(a) & np.isnan(b)
    one_nan = np.isnan(a) ^ np.isnan(b)
    if one_nan.any():
        return math.inf
    d = np.abs(np.where(both_nan, 0.0, a) - np.where(both_nan, 0.0, b))
    d = np.where(np.isinf(a) & np.isinf(b) & (a == b), 0.0, d)  # the same infinity: no difference
    return float(np.nanmax(d)) if len(d) else 0.0


def compare(table: Lifespan, replay: Lifespan, n_rows: int | None = None, notes=()) -> tuple:
    """(curves side by side, max |difference| per column, verdict) over the first ``n_rows``
    records of ``table`` (default all); columns the table does not record (NaN throughout, like
    ``train_acc`` in the published tables) are not compared."""
    import numpy as np
    import pandas as pd

    t = table.curve.iloc[:n_rows] if n_rows is not None else table.curve
    r = replay.curve
    cols = [c for c in COMPARED if not t[c].isna().all()]
    n = max(len(t), len(r))
    side = pd.DataFrame({C.EPOCH: (t if len(t) >= len(r) else r)[C.EPOCH].to_numpy()[:n]})
    for c in cols:
        side[f"{c}_table"] = np.pad(t[c].to_numpy(float), (0, n - len(t)), constant_values=np.nan)
        side[f"{c}_replay"] = np.pad(r[c].to_numpy(float), (0, n - len(r)), constant_values=np.nan)
    same_rows = len(t) == len(r)
    m = min(len(t), len(r))
    diff = {c: _diffs(t[c].to_numpy(float)[:m], r[c].to_numpy(float)[:m]) for c in cols}
    identical = same_rows and all(
        np.array_equal(t[c].to_numpy(float), r[c].to_numpy(float), equal_nan=True) for c in cols
    )
    if identical and table.layout != "original":
        verdict = "identical"
    elif same_rows and all(d <= (NOISE_ACC_PP if c.endswith("acc") else NOISE_LOSS) for c, d in diff.items()):
        verdict = "within noise"
    else:
        verdict = "different"
    return side, diff, verdict


def _notes(life: Lifespan, data, dev, threads: int | None) -> list[str]:
    """What is known to differ, or unknown, between the table's run and this replay."""
    import torch

    from .. import __version__

    notes = []
    if life.layout == "original":
        notes.append(ORIGINAL_UNKNOWNS)
        notes.append("the original dropped the last partial validation batch; so does the replay")
        return notes
    meta, recorded = life.meta, life.train.device
    here = "cpu" if dev.type == "cpu" else f"cuda:{dev.index}"
    if recorded.split(":")[0] != dev.type:
        notes.append(
            f"the table was trained on {recorded}, the replay on {here}: expect small "
            "floating-point differences"
        )
    elif dev.type == "cuda" and not life.train.deterministic:
        notes.append("GPU run without deterministic algorithms: the replay may differ slightly")
    if meta.get("torch_version") not in (None, torch.__version__):
        notes.append(f"torch {meta['torch_version']} made the table, {torch.__version__} the replay")
    if meta.get("nnlife_version") not in (None, __version__):
        notes.append(f"nnlife {meta['nnlife_version']} made the table, {__version__} the replay")
    if dev.type == "cpu" and threads is None:
        notes.append(
            "the table does not record torch_threads; the replay used "
            f"{torch.get_num_threads()} (CPU sums may be ordered differently)"
        )
    files = ";".join(f"{k}={v}" for k, v in sorted(data.files.items()))
    if "dataset_files" not in meta:
        notes.append("the table does not record the dataset file checksums")
    elif meta["dataset_files"] != files:
        notes.append(f"the dataset files differ from the table's: {meta['dataset_files']} vs {files}")
    if meta.get("device_name") and dev.type == "cpu":
        from .device import device_name

        if device_name(dev) != meta["device_name"]:
            notes.append(f"the table was made on {meta['device_name']}, the replay on {device_name(dev)}")
    return notes


def reproduce(
    path,
    device="auto",
    epochs: float | None = None,
    *,
    data_root=None,
    save: bool = True,
    replay_path=None,
    progress=None,
) -> Comparison:
    """Rebuild and retrain the lifespan of the table at ``path`` from the table alone; compare.

    device: "auto", "cpu", "cuda" or "cuda:N" for the replay.
    epochs: replay only the first ``epochs`` epochs (a multiple of the table's eval_interval)
        and compare those rows; None: the whole planned training.
    data_root: a folder to look for the dataset in first (see ``nnlife.load_dataset``).
    save, replay_path: write the replay as a table (default ``<id>.replay.txt`` next to the
        table; replaced if there); when the folder cannot be written, a note says so.
    progress: passed to ``train_lifespan`` ((records done, records planned, row) -> None).

    Returns a ``Comparison``. Raises TableError (unreadable table), ParameterError (bad epochs),
    DatasetNotFoundError / ChecksumError (the data is not here) before any training.
    """
    import torch

    from ..table import Lifespan, read_lifespan, write_lifespan
    from .data import load_dataset
    from .device import resolve_device
    from .train import train_lifespan

    path = Path(path)
    life = read_lifespan(path)
    train = _replay_train(life)
    n_rows = None
    if epochs is not None:
        k = 1 / train.eval_interval
        if (
            isinstance(epochs, bool)
            or not isinstance(epochs, (int, float))
            or not 0 < epochs <= train.epochs
            or abs(epochs * k - round(epochs * k)) > 1e-9
        ):
            raise ParameterError(
                f"epochs must be a multiple of the table's eval_interval "
                f"{train.eval_interval} in (0, {train.epochs}], got {epochs!r}"
            )
        n_rows = round(epochs * k)
    dev = resolve_device(device)
    data = load_dataset(
        train.dataset,
        root=data_root,
        train_size=train.train_size,
        val_size=train.val_size,
        seed=train.subset_seed,
        val_source=train.val_source,
    )
    threads = life.meta.get("torch_threads")
    threads = int(threads) if threads and threads.isdigit() else None
    notes = _notes(life, data, dev, threads)

    before = torch.get_num_threads()
    if dev.type == "cpu" and threads:
        torch.set_num_threads(threads)  # CPU sums split across threads: the same count, the same sums
    try:
        replay = train_lifespan(
            life.net,
            train,
            data,
            device=dev,
            progress=progress,
            id=life.id,
            meta={"replay_of": life.id},
            until_epoch=epochs,
        )
    finally:
        torch.set_num_threads(before)
    if epochs is not None:  # a table of what was replayed: planned = replayed epochs
        replay = Lifespan(
            id=replay.id,
            net=replay.net,
            train=replay.train.replace(epochs=epochs),
            curve=replay.curve,
            status=replay.status,
            meta=replay.meta,
            layout="nnlife",
        )
    curves, diff, verdict = compare(life, replay, n_rows)

    written = None
    if save:
        target = Path(replay_path) if replay_path is not None else path.with_name(f"{life.id}{REPLAY_SUFFIX}")
        try:
            written = write_lifespan(replay, target, layout="nnlife", overwrite=True)
        except OSError as e:
            notes.append(f"the replay was not saved: {target} cannot be written ({e.strerror or e})")
    return Comparison(
        table=life,
        replay=replay,
        curves=curves,
        max_abs_diff=diff,
        verdict=verdict,
        thresholds=dict(THRESHOLDS),
        notes=tuple(notes),
        replay_path=written,
    )


__all__ = ["reproduce", "compare", "Comparison", "VERDICTS", "THRESHOLDS", "ORIGINAL_UNKNOWNS"]

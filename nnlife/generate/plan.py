"""The plan of a batch: which lifespans it holds, and the checks made before anything runs.

Network i of a batch is ``nnlife.sample(space, dataset, seed=numpy.random.default_rng([seed,
i]))``; its first training seed is the one sampled, further seeds (``seeds_per_network``) are
drawn from ``default_rng([seed, i, j])``. Plain Python and numpy; no torch.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import DATASETS, canonical_name, split_sizes
from ..errors import ParameterError, SpecError
from ..space import get_space
from ..spec import DEFAULT_MEMORY_FORMAT, TrainSpec
from .sampling import sample
from .train import interval_bounds


@dataclass(frozen=True)
class LifespanJob:
    """One lifespan of a batch: what to train and where its table goes."""

    id: str  # table id, "<net id>-s<seed>"
    network_index: int  # i: the network is sampled from default_rng([batch seed, i])
    seed_index: int  # j: which of the network's training seeds (0 = the sampled one)
    net: dict  # NetSpec.to_dict()
    train: dict  # TrainSpec.to_dict()
    path: str  # the table, <out_dir>/<id>.txt
    meta: dict  # extra provenance for the table (batch seed, indices)


def plan_batch(
    out_dir,
    dataset: str,
    n_networks: int,
    space="small",
    seed: int = 0,
    epochs: float = 40,
    seeds_per_network: int = 1,
    train_size: int | None = None,
    val_size: int | None = None,
    eval_interval: float = 0.5,
    subset_seed: int = 0,
    val_source: str = "test",
    deterministic: bool = True,
    memory_format: str = DEFAULT_MEMORY_FORMAT,
) -> list[LifespanJob]:
    """The lifespans of a batch, in order (network i, seed j), without training anything.

    Raises ParameterError for an unknown space or dataset or a training spec that cannot work
    (e.g. epochs <= 0, an eval_interval that does not split an epoch).
    """
    out_dir = Path(out_dir)
    jobs, seen = [], {}
    for i in range(n_networks):
        try:
            net, train = sample(
                space,
                dataset,
                seed=np.random.default_rng([seed, i]),
                deterministic=deterministic,
                memory_format=memory_format,
                **_train_fields(epochs, eval_interval, train_size, val_size, subset_seed, val_source),
            )
        except SpecError as e:
            raise ParameterError(f"bad training parameters: {e}") from None
        for j in range(seeds_per_network):
            s = train.seed if j == 0 else int(np.random.default_rng([seed, i, j]).integers(0, 2**32))
            t = train.replace(seed=s)
            job_id = f"{net.id}-s{s}"
            if job_id in seen:  # the same network drawn twice with the same seed: one table
                continue
            seen[job_id] = True
            jobs.append(
                LifespanJob(
                    id=job_id,
                    network_index=i,
                    seed_index=j,
                    net=net.to_dict(),
                    train=t.to_dict(),
                    path=str(out_dir / f"{job_id}.txt"),
                    meta={"batch_seed": str(seed), "network_index": str(i), "seed_index": str(j)},
                )
            )
    return jobs


def _train_fields(epochs, eval_interval, train_size, val_size, subset_seed, val_source) -> dict:
    """The TrainSpec fields that a batch fixes for all its lifespans."""
    return dict(
        epochs=epochs,
        eval_interval=eval_interval,
        train_size=train_size,
        val_size=val_size,
        subset_seed=subset_seed,
        val_source=val_source,
    )


def check_parameters(
    out_dir,
    dataset,
    n_networks,
    space="small",
    seed=0,
    epochs=40,
    seeds_per_network=1,
    train_size=None,
    val_size=None,
    eval_interval=0.5,
    subset_seed=0,
    val_source="test",
    deterministic=True,
    memory_format=DEFAULT_MEMORY_FORMAT,
    workers=None,
) -> tuple[str, Path]:
    """Validate what can be checked without the data; return (canonical dataset, absolute out_dir).

    The training fields (epochs, eval_interval, subset sizes and seed, validation source) are
    checked by ``TrainSpec`` itself; the batch's own counts and the split sizes here. Raises
    ParameterError naming the parameter.
    """
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir).strip():
        raise ParameterError(
            f"out_dir {out_dir!r} names no folder; name the batch folder, e.g. "
            "data/batches/fashionmnist-small-seed0"
        )
    name = canonical_name(dataset)  # ParameterError for an unknown dataset
    get_space(space)  # ParameterError for an unknown space
    _whole(n_networks, "n_networks", 1)
    _whole(seeds_per_network, "seeds_per_network", 1)
    _whole(seed, "seed", 0)
    _whole(workers, "workers", 1, none_ok=True)
    try:  # the batch's training fields, with placeholders for what each network draws
        TrainSpec(
            dataset=name,
            batch_size=1,
            learning_rate=1.0,
            deterministic=deterministic,
            memory_format=memory_format,
            **_train_fields(epochs, eval_interval, train_size, val_size, subset_seed, val_source),
        )
    except SpecError as e:
        raise ParameterError(f"bad training parameters: {e}") from None
    info = DATASETS[name]
    if val_source == "train" and val_size is not None and val_size >= info.n_train:
        raise ParameterError(
            f"val_size={val_size} leaves no training images: {name}'s training split has {info.n_train}"
        )
    n_train, n_val = split_sizes(name, val_source, val_size)
    if train_size is not None and train_size > n_train:
        raise ParameterError(
            f"train_size={train_size} is more than the {n_train} training images {name} has here"
        )
    if val_source == "test" and val_size is not None and val_size > n_val:
        raise ParameterError(f"val_size={val_size} is more than the validation images {name} has")
    return name, _writable_dir(out_dir)


def _whole(value, what: str, low: int, none_ok: bool = False) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(
            f"{what} must be a whole number >= {low}{' or None' if none_ok else ''}, got {value!r}"
        )


def _writable_dir(out_dir) -> Path:
    """``out_dir`` made absolute (workers may run elsewhere) and created; ParameterError unless a
    file can be written there (a probe file, removed at once)."""
    out = Path(out_dir).expanduser().absolute()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".nnlife-write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ParameterError(
            f"out_dir {str(out_dir)!r} cannot be written ({e.strerror or e}); "
            "choose a folder you can write to"
        ) from None
    return out


def images_per_epoch(name: str, train_size, val_size, val_source: str) -> int:
    """Training images a lifespan of the batch sees per epoch."""
    return train_size if train_size is not None else split_sizes(name, val_source, val_size)[0]


def check_fits(jobs: list[LifespanJob], n_train: int) -> None:
    """Every network's batch size must leave each evaluation interval at least one batch."""
    for job in jobs:
        try:
            interval_bounds(n_train, job.train["batch_size"], job.train["eval_interval"])
        except ParameterError as e:
            raise ParameterError(f"network {job.network_index} ({job.id}): {e}") from None


__all__ = ["LifespanJob", "plan_batch", "check_parameters", "check_fits", "images_per_epoch"]

"""Several workers per GPU: ``generate_batch(..., workers_per_gpu=N)``, ``--workers-per-gpu N``.

One small CNN leaves most of a GPU idle (kernel launches, not arithmetic, bound its speed), so
running N lifespans at once on each GPU, in N worker processes, raises lifespans per GPU-hour.
Each visible GPU gets N single-threaded Dask worker processes; each process sees only its GPU
(``CUDA_VISIBLE_DEVICES`` set to that one device before CUDA starts, so it is ``cuda:0`` there)
and keeps its dataset on it once (``train._data_on``: the uint8 tensors are copied to the GPU
on the first lifespan and reused by every later one). Processes rather than threads: dropout
draws from torch's per-process global generator (see ``nnlife.generate.train``).

``visible_gpus`` and ``plan_gpu_workers`` are pure (tested without a GPU); ``gpu_cluster``
starts the workers as planned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import ParameterError


def visible_gpus(cuda_visible_devices: str | None, device_count: int) -> tuple[str, ...]:
    """The GPUs this process may use, as values for a worker's ``CUDA_VISIBLE_DEVICES``.

    cuda_visible_devices: this process's ``CUDA_VISIBLE_DEVICES`` (None: not set); its entries
        (indices like ``2`` or UUIDs like ``GPU-5d1c...``, comma-separated) are what a worker
        must be given, not the positions 0..n-1 torch numbers them by.
    device_count: ``torch.cuda.device_count()`` here; entries beyond it are dropped (CUDA also
        ignores everything after an invalid entry).
    """
    if device_count < 1:
        return ()
    if cuda_visible_devices is None:
        return tuple(str(i) for i in range(device_count))
    entries = [e.strip() for e in cuda_visible_devices.split(",")]
    entries = [e for e in entries if e]
    return tuple(entries[:device_count])


@dataclass(frozen=True)
class WorkerSlot:
    """One planned worker process on a GPU."""

    name: str  # Dask worker name, "gpu<k>-<j>": the j-th worker on the k-th visible GPU
    gpu: str  # its CUDA_VISIBLE_DEVICES value (an index or a UUID)
    threads: int = 1  # torch threads (and Dask threads) of the process

    @property
    def env(self) -> dict[str, str]:
        """Environment of the worker process."""
        t = str(self.threads)
        return {"CUDA_VISIBLE_DEVICES": self.gpu, "OMP_NUM_THREADS": t, "MKL_NUM_THREADS": t}


def plan_gpu_workers(gpus, workers_per_gpu: int) -> list[WorkerSlot]:
    """``workers_per_gpu`` single-threaded worker slots on each GPU in ``gpus`` (from
    ``visible_gpus``), GPU by GPU. Raises ParameterError when there is no GPU or N < 1."""
    if isinstance(workers_per_gpu, bool) or not isinstance(workers_per_gpu, int) or workers_per_gpu < 1:
        raise ParameterError(f"workers_per_gpu must be a whole number >= 1, got {workers_per_gpu!r}")
    gpus = tuple(gpus)
    if not gpus:
        raise ParameterError(
            "workers_per_gpu needs a GPU, and torch sees none here (check "
            "CUDA_VISIBLE_DEVICES and the driver); use workers= (--workers) for CPU "
            "worker processes"
        )
    return [
        WorkerSlot(name=f"gpu{k}-{j}", gpu=gpu) for k, gpu in enumerate(gpus) for j in range(workers_per_gpu)
    ]


def gpu_workers_here(workers_per_gpu: int) -> list[WorkerSlot]:
    """The plan for this machine: its visible GPUs (torch, ``CUDA_VISIBLE_DEVICES``) x N."""
    import os

    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return plan_gpu_workers(visible_gpus(os.environ.get("CUDA_VISIBLE_DEVICES"), count), workers_per_gpu)


def gpu_cluster(slots: list[WorkerSlot]):
    """A Dask ``SpecCluster`` on this machine with one nanny-managed worker process per slot,
    each started with the slot's environment (its GPU, one thread). Close it when done."""
    from distributed import Nanny, Scheduler, SpecCluster

    from .cluster import malloc_environment

    workers = {
        s.name: {
            "cls": Nanny,
            "options": {
                "nthreads": s.threads,
                "env": s.env,
                "name": s.name,
                "host": "127.0.0.1",
                "silence_logs": logging.ERROR,
            },
        }
        for s in slots
    }
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": ":0"}}
    with malloc_environment():  # the nannies start their workers with nnlife's malloc settings
        return SpecCluster(
            workers=workers, scheduler=scheduler, silence_logs=logging.ERROR, name=f"nnlife-gpu-{len(slots)}w"
        )


__all__ = ["visible_gpus", "plan_gpu_workers", "gpu_workers_here", "gpu_cluster", "WorkerSlot"]

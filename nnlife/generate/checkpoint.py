"""Checkpoints of one lifespan in training, so that an interrupted lifespan resumes exactly.

A checkpoint is taken at a record boundary and holds everything the rest of the run depends on:
the model and optimizer state (momentum buffers), torch's global generator inside the training's
``fork_rng`` (dropout draws from it), the rows recorded so far and the elapsed time. The data
order needs no state: each epoch's permutation comes from its own generator (``nnlife.train``).
A resumed run therefore gives the same losses and accuracies as one never interrupted.

Files are written atomically (``nnlife.atomic``), so a kill while saving leaves the previous
checkpoint. A checkpoint that is torn, of another format, or of another network or
training spec is ignored (``load_checkpoint`` returns None) and training starts from the beginning.
"""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write
from ..spec import NetSpec, TrainSpec

CHECKPOINT_FORMAT = 1  # version of the file's layout; other versions are ignored


def atomic_save(obj, path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (``nnlife.atomic``); returns the path."""
    import torch

    return atomic_write(path, write=lambda f: torch.save(obj, f))


def save_checkpoint(
    path, net: NetSpec, train: TrainSpec, rows: list[dict], elapsed_s: float, model, optimizer, dev
) -> None:
    """Save the state after ``len(rows)`` records (call it inside the training's ``fork_rng``)."""
    import torch

    atomic_save(
        {
            "format": CHECKPOINT_FORMAT,
            "net": net.canonical(),
            "train": train.to_dict(),
            "row": len(rows),
            "rows": list(rows),
            "elapsed_s": float(elapsed_s),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
        },
        path,
    )


def load_checkpoint(path, net: NetSpec, train: TrainSpec) -> dict | None:
    """The saved state when ``path`` holds a checkpoint of this very network and training
    (``train`` including its device), else None."""
    import torch

    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a torn or foreign file: start again rather than fail
        return None
    if (
        not isinstance(state, dict)
        or state.get("format") != CHECKPOINT_FORMAT
        or state.get("net") != net.canonical()
        or state.get("train") != train.to_dict()
    ):
        return None
    return state


def restore(state: dict, model, optimizer, dev) -> tuple[list[dict], int, float]:
    """Put a loaded state back (call it inside the training's ``fork_rng``); returns
    (rows so far, the next record's index, elapsed seconds)."""
    import torch

    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng_cpu"])
    if dev.type == "cuda" and state.get("rng_cuda") is not None:
        torch.cuda.set_rng_state(state["rng_cuda"], dev)
    return list(state["rows"]), int(state["row"]), float(state["elapsed_s"])


__all__ = ["save_checkpoint", "load_checkpoint", "restore", "atomic_save", "CHECKPOINT_FORMAT"]

"""A batch folder's ``manifest.json``: the batch's parameters, versions, host, and every run.

A second run into the same folder must repeat the parameters in ``BATCH_PARAMETERS``; other
parameters are refused (use a new folder, named after what made it). The manifest is written
atomically (``nnlife.atomic``) at the start and the end of each run.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_write
from ..errors import ParameterError

MANIFEST = "manifest.json"
# Parameters that define a batch: a second run into the same folder must repeat them.
BATCH_PARAMETERS = (
    "dataset",
    "n_networks",
    "space",
    "seed",
    "epochs",
    "seeds_per_network",
    "train_size",
    "val_size",
    "eval_interval",
    "subset_seed",
    "val_source",
    "deterministic",
)


def batch_parameters(
    dataset: str,
    n_networks,
    space,
    seed,
    epochs,
    seeds_per_network,
    train_size,
    val_size,
    eval_interval,
    subset_seed,
    val_source,
    deterministic,
) -> dict:
    """The manifest's ``parameters``: the ``BATCH_PARAMETERS`` as plain JSON values (space by name)."""
    from ..space import get_space

    def opt_int(v):
        return None if v is None else int(v)

    return {
        "dataset": dataset,
        "n_networks": int(n_networks),
        "space": get_space(space).name,
        "seed": int(seed),
        "epochs": epochs,
        "seeds_per_network": int(seeds_per_network),
        "train_size": opt_int(train_size),
        "val_size": opt_int(val_size),
        "eval_interval": eval_interval,
        "subset_seed": int(subset_seed),
        "val_source": val_source,
        "deterministic": bool(deterministic),
    }


def write_manifest(out: Path, manifest: dict) -> Path:
    """Write ``manifest`` as ``out/manifest.json`` (indented JSON), atomically."""
    return atomic_write(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def open_manifest(out: Path, parameters: dict) -> dict:
    """The manifest to extend: the folder's own when its parameters match, else a new one.

    Raises ParameterError when the folder holds a batch made with other parameters, or a
    manifest that cannot be read (it is never replaced then).
    """
    path = out / MANIFEST
    if not path.exists():
        return {
            "nnlife_batch": 1,
            "parameters": parameters,
            "started": None,
            "finished": None,
            "runs": [],
            "lifespans": [],
        }
    try:
        manifest = json.loads(path.read_text())
        old = manifest["parameters"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ParameterError(
            f"{path} cannot be read as a batch manifest; move it away (the tables "
            "beside it are kept and checked) or use another out_dir"
        ) from None
    differ = [
        f"{k} {old.get(k)!r} (folder) vs {parameters[k]!r} (now)"
        for k in BATCH_PARAMETERS
        if old.get(k) != parameters[k]
    ]
    if differ:
        raise ParameterError(
            f"{out} already holds a batch made with other parameters: "
            + "; ".join(differ)
            + ". Use the same parameters to complete it, or "
            "another out_dir for a new batch"
        )
    return manifest


__all__ = ["MANIFEST", "BATCH_PARAMETERS", "batch_parameters", "open_manifest", "write_manifest"]

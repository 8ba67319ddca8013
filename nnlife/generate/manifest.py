"""A batch folder's ``manifest.json``: the batch's parameters, versions, host, and every run.

A second run into the same folder must repeat the parameters in ``BATCH_PARAMETERS``; other
parameters are refused (use a new folder, named after what made it). A parameter that nnlife
added after a batch was started reads, for that batch, as what nnlife did before it existed
(``LEGACY_PARAMETERS``), so a batch resumed by a newer nnlife goes on exactly as it began. The
manifest is written atomically (``nnlife.atomic``) at the start and the end of each run.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_write
from ..errors import ParameterError
from ..spec import LEGACY_MEMORY_FORMAT

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
    "memory_format",
)
# What a manifest written before a parameter existed means by its absence: the behaviour of the
# nnlife that wrote it (memory_format came with issue 16; tables and batches before it were
# trained in torch's contiguous layout).
LEGACY_PARAMETERS = {"memory_format": LEGACY_MEMORY_FORMAT}


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
    memory_format,
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
        "memory_format": memory_format,
    }


def folder_parameters(out: Path) -> dict | None:
    """The parameters of the batch already in ``out`` (absent ones as ``LEGACY_PARAMETERS``
    say), or None when the folder holds no manifest yet. ParameterError for a damaged one."""
    path = out / MANIFEST
    if not path.exists():
        return None
    return {**LEGACY_PARAMETERS, **_read(path)["parameters"]}


def write_manifest(out: Path, manifest: dict) -> Path:
    """Write ``manifest`` as ``out/manifest.json`` (indented JSON), atomically."""
    return atomic_write(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def open_manifest(out: Path, parameters: dict) -> dict:
    """The manifest to extend: the folder's own when its parameters match, else a new one.

    Raises ParameterError when the folder holds a batch made with other parameters, or a
    manifest that cannot be read or has the wrong shape (it is never replaced then).
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
    manifest = _read(path)
    old = {**LEGACY_PARAMETERS, **manifest["parameters"]}
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
    manifest["parameters"] = {**old, **parameters}  # a legacy value is written out explicitly
    return manifest


def _read(path: Path) -> dict:
    """The manifest at ``path``, its shape checked: a JSON object whose ``parameters`` is an object
    and whose ``runs`` (if any) is a list of objects. A manifest of nnlife before runs were a list
    (one run: ``started``/``finished``/``host`` at the top) reads as a list of that one run.
    ParameterError naming the file and what is wrong otherwise (the file is never replaced then)."""
    fix = "move it away (the tables beside it are kept and checked) or use another out_dir"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ParameterError(f"{path} cannot be read as a batch manifest ({e}); {fix}") from None
    if not isinstance(manifest, dict):
        raise ParameterError(
            f"{path}: a batch manifest is a JSON object, not a {type(manifest).__name__}; {fix}"
        )
    if not isinstance(manifest.get("parameters"), dict):
        got = type(manifest.get("parameters")).__name__ if "parameters" in manifest else "nothing"
        raise ParameterError(
            f"{path}: 'parameters' must be an object of the batch's parameters, got {got}; {fix}"
        )
    if "runs" not in manifest:  # a single-run manifest of an earlier nnlife
        keys = ("started", "finished", "host", "nnlife_version", "torch_version")
        manifest["runs"] = [{k: manifest.get(k) for k in keys}] if manifest.get("started") else []
    runs = manifest["runs"]
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ParameterError(
            f"{path}: 'runs' must be a list of run records (objects), got {runs!r:.80}; {fix}"
        )
    if not isinstance(manifest.get("lifespans", []), list):
        raise ParameterError(f"{path}: 'lifespans' must be a list; {fix}")
    return manifest


__all__ = [
    "MANIFEST",
    "BATCH_PARAMETERS",
    "LEGACY_PARAMETERS",
    "batch_parameters",
    "folder_parameters",
    "open_manifest",
    "write_manifest",
]

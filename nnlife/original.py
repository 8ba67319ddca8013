"""The published dataset's 24 metadata columns <-> (NetSpec, TrainSpec), exactly.

Column meanings (Rorabaugh et al., Data in Brief 2022; the three sample tables in
``tests/fixtures/original-format``):

- ``random_seed`` int, ``train_GPU`` True/False, ``torch_set_deterministic`` True/False,
  ``dataset``, ``batch_size``, ``loss_fn`` (CrossEntropyLoss), ``optimizer`` (SGD),
  ``learning_rate``, ``momentum``, ``dampening``, ``weight_decay``;
- per conv layer, dash-separated: ``layer_types``, ``convKernels``, ``convStrides``,
  ``convPaddings``, ``convFilters``; ``dropout_rate`` is the rate of every conv dropout layer;
- per conv layer that pools, dash-separated: ``poolKernels``, ``poolStrides``, ``poolPaddings``;
- ``FCFilters``: units of each FC layer, ending with the output layer (100 for CIFAR-100);
  ``FC_dropout_layers``: one 0/1 flag per hidden FC layer; ``FC_dropout_rate`` their rate.
  An empty list is an empty field (two spaces in a row in the file).

``layer_types`` is undocumented. nnlife reads each entry as bit flags, an interpretation tested on
the three published samples:

- bit 2: a pooling layer follows this conv layer. In all three samples the count of entries with
  bit 2 equals the number of pooling entries (3-3-1 with 2 pools; 4-1-3 with 1; 5-3-7 with 2), so
  the pooling entries belong, in order, to the layers with bit 2;
- bit 4: a dropout layer follows this conv layer. It appears exactly when ``dropout_rate`` is
  non-zero (4-1-3 and 5-3-7 have rates 0.46 and 0.40; 3-3-1 has rate 0);
- bit 1: meaning unknown. 8 of the 9 sample layers have it (not the first layer of 4-1-3). nnlife
  keeps the raw value (``ConvLayer.layer_type``) so a round trip loses nothing, does not use it
  when building, and sets it for the networks it generates (the common case in the samples).

``train_GPU`` maps to ``TrainSpec.device``: True reads as ``"cuda"``, False as ``"cpu"``; nnlife's
own tables also carry the exact device in an extra column.
"""

from __future__ import annotations

import math

from .errors import SpecError, TableError
from .limits import check_activations
from .spec import (
    BIT_DROPOUT,
    BIT_POOL,
    DATASET_SHAPES,
    ConvLayer,
    NetSpec,
    Pool,
    TrainSpec,
    canonical_dataset,
)


def fmt_number(x) -> str:
    """A number as the original writes it: ints plainly, 0 as ``0``, other floats by repr.

    repr round-trips every float exactly; the published tables write a zero rate as ``0``.
    """
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    x = float(x)
    return "0" if x == 0 else repr(x)


def _dashes(values) -> str:
    return "-".join(str(int(v)) for v in values)


def spec_to_columns(net: NetSpec, train: TrainSpec, id: str) -> dict[str, str]:
    """The 24 metadata fields of the first data row, as strings, in the original's format."""
    pooled = [c.pool for c in net.conv if c.pool is not None]
    return {
        "ID": id,
        "random_seed": str(train.seed),
        "train_GPU": str(train.device != "cpu"),
        "torch_set_deterministic": str(bool(train.deterministic)),
        "dataset": train.dataset,
        "batch_size": str(train.batch_size),
        "loss_fn": train.loss_fn,
        "optimizer": train.optimizer,
        "learning_rate": fmt_number(train.learning_rate),
        "momentum": fmt_number(train.momentum),
        "dampening": fmt_number(train.dampening),
        "weight_decay": fmt_number(train.weight_decay),
        "layer_types": _dashes(c.type_code for c in net.conv),
        "dropout_rate": fmt_number(net.conv_dropout_rate),
        "convKernels": _dashes(c.kernel for c in net.conv),
        "convStrides": _dashes(c.stride for c in net.conv),
        "convPaddings": _dashes(c.padding for c in net.conv),
        "poolKernels": _dashes(p.kernel for p in pooled),
        "poolStrides": _dashes(p.stride for p in pooled),
        "poolPaddings": _dashes(p.padding for p in pooled),
        "convFilters": _dashes(c.filters for c in net.conv),
        "FC_dropout_rate": fmt_number(net.fc_dropout_rate),
        "FC_dropout_layers": _dashes(int(f) for f in net.fc_dropout),
        "FCFilters": _dashes(net.fc),
    }


def parse_bool(text: str, column: str, where: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise TableError(f"{where}: column {column} must be True or False, got {text!r}")


def _ints(meta: dict, column: str, where: str) -> list[int]:
    text = meta[column].strip()
    if not text:
        return []
    try:
        return [int(v) for v in text.split("-")]
    except ValueError:
        raise TableError(f"{where}: column {column} must be dash-separated integers, got {text!r}") from None


# column -> (what a value must be, the test): checked here, so the message names the column
_RANGES = {
    "batch_size": ("an integer >= 1", lambda v: v >= 1),
    "random_seed": ("an integer >= 0", lambda v: v >= 0),
    "learning_rate": ("a finite number > 0", lambda v: math.isfinite(v) and v > 0),
    "momentum": ("a finite number >= 0", lambda v: math.isfinite(v) and v >= 0),
    "dampening": ("a finite number >= 0", lambda v: math.isfinite(v) and v >= 0),
    "weight_decay": ("a finite number >= 0", lambda v: math.isfinite(v) and v >= 0),
    "dropout_rate": ("a probability in [0, 1)", lambda v: 0 <= v < 1),
    "FC_dropout_rate": ("a probability in [0, 1)", lambda v: 0 <= v < 1),
}


def _num(meta: dict, column: str, where: str, kind=float):
    what, ok = _RANGES.get(column, ("a number", lambda v: True))
    try:
        value = kind(meta[column])
    except ValueError:
        raise TableError(f"{where}: column {column} must be {what}, got {meta[column]!r}") from None
    if not ok(value):
        raise TableError(f"{where}: column {column} must be {what}, got {meta[column]!r}")
    return value


def columns_to_specs(meta: dict[str, str], where: str, **train_extra) -> tuple[NetSpec, TrainSpec]:
    """Rebuild (NetSpec, TrainSpec) from the 24 metadata fields of a first data row.

    ``where`` names the table in error messages; ``train_extra`` holds TrainSpec fields that the
    original columns do not carry (nnlife's extra columns: epochs, eval_interval, device, ...).
    Raises TableError naming the table and the column when a field cannot be read.
    """
    try:
        dataset = canonical_dataset(meta["dataset"])
    except SpecError as e:
        raise TableError(f"{where}: column dataset: {e}") from None
    types = _ints(meta, "layer_types", where)
    kernels, strides = _ints(meta, "convKernels", where), _ints(meta, "convStrides", where)
    paddings, filters = _ints(meta, "convPaddings", where), _ints(meta, "convFilters", where)
    pools = list(
        zip(
            _ints(meta, "poolKernels", where),
            _ints(meta, "poolStrides", where),
            _ints(meta, "poolPaddings", where),
        )
    )
    n = len(filters)
    if not (len(types) == len(kernels) == len(strides) == len(paddings) == n):
        raise TableError(
            f"{where}: the per-layer columns disagree on the number of conv layers "
            f"(layer_types {len(types)}, convKernels {len(kernels)}, convStrides "
            f"{len(strides)}, convPaddings {len(paddings)}, convFilters {n})"
        )
    n_pool = sum(1 for t in types if t & BIT_POOL)
    if n_pool != len(pools) or not (
        len(_ints(meta, "poolKernels", where))
        == len(_ints(meta, "poolStrides", where))
        == len(_ints(meta, "poolPaddings", where))
    ):
        raise TableError(
            f"{where}: layer_types {meta['layer_types']!r} marks {n_pool} pooling "
            f"layers (bit 2) but poolKernels/poolStrides/poolPaddings hold "
            f"{meta['poolKernels']!r}/{meta['poolStrides']!r}/{meta['poolPaddings']!r}"
        )
    fc = _ints(meta, "FCFilters", where)
    fc_flags = _ints(meta, "FC_dropout_layers", where)
    try:
        pool_iter = iter(pools)
        conv = tuple(
            ConvLayer(
                filters=f,
                kernel=k,
                stride=s,
                padding=p,
                pool=Pool(*next(pool_iter)) if t & BIT_POOL else None,
                dropout=bool(t & BIT_DROPOUT),
                layer_type=t,
            )
            for t, k, s, p, f in zip(types, kernels, strides, paddings, filters)
        )
        net = NetSpec(
            input_shape=DATASET_SHAPES[dataset],
            conv=conv,
            fc=tuple(fc),
            fc_dropout=tuple(bool(x) for x in fc_flags),
            conv_dropout_rate=_num(meta, "dropout_rate", where),
            fc_dropout_rate=_num(meta, "FC_dropout_rate", where),
        )
        train_fields = dict(
            dataset=dataset,
            batch_size=_num(meta, "batch_size", where, int),
            learning_rate=_num(meta, "learning_rate", where),
            momentum=_num(meta, "momentum", where),
            dampening=_num(meta, "dampening", where),
            weight_decay=_num(meta, "weight_decay", where),
            loss_fn=meta["loss_fn"],
            optimizer=meta["optimizer"],
            seed=_num(meta, "random_seed", where, int),
            deterministic=parse_bool(meta["torch_set_deterministic"], "torch_set_deterministic", where),
            device="cuda" if parse_bool(meta["train_GPU"], "train_GPU", where) else "cpu",
        )
        train_fields.update(train_extra)
        train = TrainSpec(**train_fields)
    except SpecError as e:
        raise TableError(
            f"{where}: the table describes a network or training that cannot work: {e}"
        ) from None
    try:
        net.for_dataset(dataset)  # the output layer against the dataset's classes
    except SpecError as e:
        raise TableError(f"{where}: column FCFilters {meta['FCFilters']!r}: {e}") from None
    try:
        check_activations(net, train.batch_size)
    except SpecError as e:
        raise TableError(
            f"{where}: the table describes a network or training that cannot work: {e}"
        ) from None
    return net, train

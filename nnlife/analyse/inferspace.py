"""The search space a set of tables was drawn from, inferred (``nnlife.infer_space``).

For every parameter of ``nnlife.space.SearchSpace``, from the networks and training settings of
the tables of one dataset:

- layer counts: the smallest and largest seen, and the frequency of each
  (``conv_layers_weights``, ``fc_layers_weights``);
- the other ranges (filters, kernels, strides, paddings, pool windows, FC units, batch size; the
  learning rate and the non-zero momentum, dampening, weight decay and dropout rates): the range
  seen, widened by the unbiased estimate of a uniform's end points (``min - (max - min) / (n - 1)``
  and the same above, on the log scale for a log-uniform one; integers rounded, so with many
  tables an integer range is the one seen), so that the inferred range covers the one drawn
  from rather than falling just inside it; below 8 values a range is the one seen (three
  published learning rates would otherwise widen to 0.001..7);
- the scale of each range, uniform ("linear") or log-uniform ("log"): the one of higher
  likelihood given the values (a log-uniform needs a positive low end; below 8 values the
  parameter keeps nnlife's default scale, since so few cannot tell the two apart);
- shares: of exact zeros (momentum, dampening, weight decay; conv and FC dropout rates, drawn
  apart, since the published tables have FC dropout without conv dropout), of conv layers that
  pool, and of layers with dropout among those whose rate is not zero.

The sampler reads positions and windows that must fit the feature map, so the observed ranges of
kernels and pool windows are the ones that fitted, not necessarily the ones the authors allowed.
Torch-free: it reads tables with nnlife.table, never builds a network.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..space import SearchSpace
from ..table import parse_record

MIN_VALUES = 8  # values below which a range keeps its default scale and is not widened


def _specs(source) -> list:
    """(NetSpec, TrainSpec) pairs from a Catalog, a catalog DataFrame (its ``path`` column),
    Lifespans, (net, train) pairs, or table paths / folders."""
    table = getattr(source, "table", None)
    if table is None and hasattr(source, "columns"):
        table = source
    if table is not None:
        if "path" not in table.columns:
            raise ParameterError(
                "infer_space needs the catalog's path column: pass "
                "nnlife.load_catalog(...) or nnlife.catalog(...)"
            )
        paths = list(table["path"])
    else:
        items = [source] if isinstance(source, (str, Path)) else list(source)
        pairs = []
        paths = []
        for item in items:
            if hasattr(item, "net") and hasattr(item, "train"):
                pairs.append((item.net, item.train))
            elif isinstance(item, tuple) and len(item) == 2:
                pairs.append(item)
            else:
                p = Path(item)
                paths += (
                    sorted(
                        q
                        for q in p.rglob("*.txt")
                        if not any(part.startswith(".") for part in q.relative_to(p).parts)
                    )
                    if p.is_dir()
                    else [p]
                )
        if pairs:
            return pairs + _read(paths)
    return _read(paths)


def _read(paths) -> list:
    out = []
    for path in paths:
        rec = parse_record(Path(path).read_text(), str(path), Path(path).stem)
        out.append((rec.net, rec.train))
    return out


# --- one range ----------------------------------------------------------------------------------
def _loglik_int(v: np.ndarray, lo: int, hi: int, scale: str) -> float:
    if scale == "linear":
        return -len(v) * math.log(hi - lo + 1)
    # log-uniform integers: floor(exp(U(log lo, log(hi + 1)))), P(k) = log((k+1)/k) / log((hi+1)/lo)
    return float(np.sum(np.log(np.log((v + 1) / v)))) - len(v) * math.log(math.log((hi + 1) / lo))


def _loglik_real(v: np.ndarray, lo: float, hi: float, scale: str) -> float:
    if scale == "linear":
        return -len(v) * math.log(hi - lo)
    return float(-np.sum(np.log(v))) - len(v) * math.log(math.log(hi / lo))


def _scale(values, integer: bool, default: str) -> str:
    v = np.asarray(values, dtype=float)
    lo, hi = float(v.min()), float(v.max())
    if len(v) < MIN_VALUES or hi <= lo or lo <= 0:
        return default if lo > 0 or default == "linear" else "linear"
    ll = _loglik_int if integer else _loglik_real
    return "log" if ll(v, lo, hi, "log") > ll(v, lo, hi, "linear") else "linear"


def _int_range(values, default_scale: str = "linear") -> tuple[tuple[int, int], str]:
    v = [int(x) for x in values]
    if not v:
        return (1, 1), "linear"
    scale = _scale(v, True, default_scale)
    lo, hi = min(v), max(v)
    if len(v) >= MIN_VALUES and hi > lo:  # widened as a real range, then rounded
        if scale == "log":
            pad = (math.log(hi) - math.log(lo)) / (len(v) - 1)
            lo, hi = round(math.exp(math.log(lo) - pad)), round(math.exp(math.log(hi) + pad))
        else:
            pad = (hi - lo) / (len(v) - 1)
            lo, hi = round(lo - pad), round(hi + pad)
        lo = max(lo, min(1, min(v)))  # counts and sizes stay >= 1 (padding >= 0)
    return (int(lo), int(hi)), scale


def _real_range(values, default_scale: str, upper: float | None = None) -> tuple[tuple[float, float], str]:
    v = np.asarray([float(x) for x in values], dtype=float)
    if len(v) == 0:
        return (0.0, 0.0), "linear"
    scale = _scale(v, False, default_scale)
    lo, hi = float(v.min()), float(v.max())
    if len(v) >= MIN_VALUES and hi > lo:
        if scale == "log":
            a, b = math.log(lo), math.log(hi)
            pad = (b - a) / (len(v) - 1)
            lo, hi = math.exp(a - pad), math.exp(b + pad)
        else:
            pad = (hi - lo) / (len(v) - 1)
            lo, hi = max(0.0, lo - pad), hi + pad
            if lo == 0.0 and min(v) > 0:
                lo = float(min(v)) / 2  # a non-zero range stays non-zero
    if upper is not None:
        hi = min(hi, upper)
        lo = min(lo, hi)
    return (lo, hi), scale


def _share(flags) -> float:
    flags = list(flags)
    return float(np.mean(flags)) if flags else 0.0


def _weights(counts, bounds) -> tuple:
    c = Counter(counts)
    total = sum(c.values())
    return tuple(c.get(k, 0) / total for k in range(bounds[0], bounds[1] + 1))


# --- the space ----------------------------------------------------------------------------------
def space_from_specs(pairs, name: str) -> SearchSpace:
    """The SearchSpace of ``pairs`` ((NetSpec, TrainSpec), one dataset), as the module says."""
    if not pairs:
        raise ParameterError(f"{name}: no networks to infer a search space from")
    nets = [n for n, _ in pairs]
    trains = [t for _, t in pairs]
    layers = [layer for n in nets for layer in n.conv]
    pooled = [layer.pool for layer in layers if layer.pool is not None]
    scales = {}

    def int_field(field, values, default="linear"):
        bounds, scale = _int_range(values, default)
        scales[field] = scale
        return bounds

    def real_field(field, values, default, upper=None):
        bounds, scale = _real_range(values, default, upper)
        scales[field] = scale
        return bounds

    conv_counts = [len(n.conv) for n in nets]
    fc_counts = [len(n.fc) for n in nets]
    conv_layers = (min(conv_counts), max(conv_counts))
    fc_layers = (min(fc_counts), max(fc_counts))
    conv_rates = [n.conv_dropout_rate for n in nets]
    fc_rates = [n.fc_dropout_rate for n in nets]
    nonzero = lambda xs: [x for x in xs if x > 0]  # noqa: E731
    with_rate = [layer.dropout for n in nets if n.conv_dropout_rate > 0 for layer in n.conv]
    with_rate += [flag for n in nets if n.fc_dropout_rate > 0 for flag in n.fc_dropout]
    momentum, dampening, decay = (
        [getattr(t, f) for t in trains] for f in ("momentum", "dampening", "weight_decay")
    )
    space = dict(
        name=name,
        conv_layers=conv_layers,
        filters=int_field("filters", [layer.filters for layer in layers]),
        kernel=int_field("kernel", [layer.kernel for layer in layers]),
        stride=int_field("stride", [layer.stride for layer in layers]),
        padding=int_field("padding", [layer.padding for layer in layers]),
        pool_prob=_share(layer.pool is not None for layer in layers),
        pool_kernel=int_field("pool_kernel", [p.kernel for p in pooled]),
        pool_stride=int_field("pool_stride", [p.stride for p in pooled]),
        dropout_zero_prob=_share(r == 0 for r in conv_rates),
        dropout_rate=real_field("dropout_rate", nonzero(conv_rates), "linear", 0.95),
        dropout_layer_prob=_share(with_rate),
        fc_layers=fc_layers,
        fc_units=int_field("fc_units", [u for n in nets for u in n.fc[:-1]]),
        batch_size=int_field("batch_size", [t.batch_size for t in trains]),
        learning_rate=real_field("learning_rate", [t.learning_rate for t in trains], "log"),
        momentum_zero_prob=_share(m == 0 for m in momentum),
        momentum=real_field("momentum", nonzero(momentum), "log"),
        dampening_zero_prob=_share(d == 0 for d in dampening),
        dampening=real_field("dampening", nonzero(dampening), "linear", 1.0),
        weight_decay_zero_prob=_share(w == 0 for w in decay),
        weight_decay=real_field("weight_decay", nonzero(decay), "log"),
        conv_layers_weights=_weights(conv_counts, conv_layers),
        fc_layers_weights=_weights(fc_counts, fc_layers),
        fc_dropout_zero_prob=_share(r == 0 for r in fc_rates),
        fc_dropout_rate=real_field("fc_dropout_rate", nonzero(fc_rates), "linear", 0.95),
    )
    # a range nothing was drawn from (all zeros) cannot be log-uniform
    for field in ("momentum", "dampening", "weight_decay", "dropout_rate", "fc_dropout_rate"):
        if space[field][0] <= 0:
            scales[field] = "linear"
    space["scales"] = tuple(sorted(scales.items()))
    return SearchSpace(**space)


def infer_spaces(source) -> dict:
    """{dataset: SearchSpace} of the tables in ``source`` (see ``infer_space``), one per dataset."""
    by_dataset: dict = {}
    for net, train in _specs(source):
        by_dataset.setdefault(train.dataset, []).append((net, train))
    if not by_dataset:
        raise ParameterError("infer_space: no tables given")
    return {ds: space_from_specs(pairs, f"inferred-{ds}") for ds, pairs in sorted(by_dataset.items())}


def infer_space(source, dataset: str | None = None) -> SearchSpace:
    """The SearchSpace the tables of ``source`` were drawn from, for one dataset.

    ``source``: a Catalog (``nnlife.load_catalog``), a catalog DataFrame (``nnlife.catalog``),
    Lifespans, (NetSpec, TrainSpec) pairs, or table files and folders. ``dataset``: which one, when
    the tables hold several (CIFAR100, FashionMNIST, SVHN); ``infer_spaces`` gives them all.
    Raises ParameterError when there are no tables, or several datasets and none was chosen.
    """
    spaces = infer_spaces(source)
    if dataset is None:
        if len(spaces) > 1:
            raise ParameterError(
                f"the tables hold {len(spaces)} datasets ({', '.join(spaces)}): pass "
                "dataset=..., or use infer_spaces for one space per dataset"
            )
        return next(iter(spaces.values()))
    for name, space in spaces.items():
        if name.lower() == str(dataset).lower():
            return space
    raise ParameterError(f"no tables of dataset {dataset!r}; the tables hold {', '.join(spaces)}")


__all__ = ["infer_space", "infer_spaces", "space_from_specs"]

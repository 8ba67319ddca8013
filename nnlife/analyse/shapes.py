"""Shape classes of learning curves: one label per network, with the evidence behind it.

Classes, tested in this order (the first that applies wins); accuracies in percent, epochs in
epochs, every threshold a parameter of ``classify_shapes`` (defaults in ``THRESHOLDS``):

``diverged``     a present row has a nan or inf in val_acc, val_loss or train_loss, or the curve
                 has fewer than ``expected_rows`` rows (when given).
``collapsed``    learned, then fell to the no-skill level for good: from some record on (the
                 collapse epoch, ``collapse_epoch`` in the evidence) every val_acc to the end lies
                 within ``no_learning_margin`` points of the no-skill level (defined below), at
                 least ``collapse_min_rows`` records, and within the ``collapse_within`` epochs
                 before it val_acc was at least ``collapse_from`` points above that level (a fall
                 within an epoch or two from well above chance: a training that broke, not one
                 that never started).
``no_learning``  the best smoothed val_acc stays within ``no_learning_margin`` points of the
                 no-skill level: max(chance, majority-class accuracy of the validation split),
                 chance = 100 / classes (the majority level differs only for SVHN, 19.59 %, whose
                 test split is unbalanced: a network that always answers "1" scores that).
``unstable``     at least ``unstable_min_drops`` half-epoch steps in which val_acc falls by more
                 than ``unstable_drop`` points, after the first ``warmup_epochs``.
``overfitting``  the smoothed val_loss reaches its minimum at or before ``overfit_max_frac`` of
                 the run, ends at least ``overfit_loss_rise`` (relative) above that minimum, and
                 the smoothed train_loss ends at least ``overfit_train_drop`` (relative) below its
                 value at that minimum (training keeps improving while validation worsens).
``peaked``       the smoothed val_acc ends at least ``peak_drop`` points below its maximum, and
                 the maximum is not within the last ``tail_frac`` of the run.
``still_rising`` the least-squares slope of val_acc over the last ``rising_frac`` of the run is at
                 least ``rising_slope`` points per epoch: not converged at the end.
``saturating``   none of the above: learned, and flat at the end.

Smoothing is a trailing mean over ``smooth`` rows (2 = one epoch, which cancels the half-epoch
zig-zag of the published training loss). Evidence columns (``classify_shapes``): chance,
no_skill, best_val_acc, final_val_acc, n_rows, n_nonfinite, collapse_epoch (nan unless the curve
collapsed), n_large_drops, val_loss_min_frac, val_loss_rise, train_loss_drop, peak_drop,
tail_slope.

The classes were checked against labels given by eye to real curves (the reference corpus,
``data/reference/shape-labels.csv``; ``tests/test_shapes_real.py`` holds the agreement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..columns import TRAIN_LOSS, VAL_ACC, VAL_LOSS
from ..datasets import N_CLASSES, canonical_name
from ..errors import ParameterError
from .long import (
    ID,
    CurveArrays,
    as_long,
    finite_or_nan,
    last_index,
    nonfinite_rows,
    pivot_curves,
    quiet_nan_warnings,
    running_mean,
    take,
)

EVIDENCE = (
    "chance",
    "no_skill",
    "best_val_acc",
    "final_val_acc",
    "n_rows",
    "n_nonfinite",
    "collapse_epoch",
    "n_large_drops",
    "val_loss_min_frac",
    "val_loss_rise",
    "train_loss_drop",
    "peak_drop",
    "tail_slope",
)
LABELS = (
    "diverged",
    "collapsed",
    "no_learning",
    "unstable",
    "overfitting",
    "peaked",
    "still_rising",
    "saturating",
)

# Chance level (percent) of each dataset: 100 / classes.
CHANCE = {ds: 100.0 / k for ds, k in N_CLASSES.items()}
# Accuracy (percent) of always answering the most frequent class of the validation (official
# test) split. SVHN's test split holds 5,099 "1"s among 26,032 digits; the others are balanced.
MAJORITY = {"CIFAR100": 1.0, "FashionMNIST": 10.0, "SVHN": 100.0 * 5099 / 26032}

THRESHOLDS = {
    "no_learning_margin": 3.0,  # points above the no-skill level that still count as no learning
    "collapse_from": 10.0,  # points above the no-skill level val_acc held just before a collapse
    "collapse_within": 2.0,  # epochs before the collapse epoch in which it held them
    "collapse_min_rows": 2,  # records at the no-skill level, to the end, that make a collapse
    # 8 points, 4 times (5 points, 6 times before 124 more curves were labelled by eye: noisy
    # plateaus that hold their level by eye jitter by 5-7 points a record, and were called
    # unstable 12 times against 9 labelled so; tests/test_shapes_real.py)
    "unstable_drop": 8.0,  # points: a half-epoch fall larger than this is a large drop
    "unstable_min_drops": 4,  # large drops that make a curve unstable
    "warmup_epochs": 1.0,  # epochs at the start where drops are not counted
    "overfit_max_frac": 0.75,  # the val_loss minimum must come at or before this run fraction
    # 0.3, not 0.05: the real val_loss jitters by 10-20 % from one record to the next, so a few
    # per cent of rise at the end is noise; by eye a curve overfits when val_loss climbs a third
    "overfit_loss_rise": 0.3,  # relative rise of val_loss from its minimum to the end
    "overfit_train_drop": 0.05,  # relative fall of train_loss from the val_loss minimum to the end
    "peak_drop": 3.0,  # points the end lies below the best (smoothed) val_acc
    "tail_frac": 0.25,  # fraction of the run that counts as its end
    # judged over the second half (over the last quarter only, half-epoch noise of 1-2 points
    # swamps the slope of a curve that creeps up), at 0.15 points per epoch (3 points in 20
    # epochs): the middle of the plateau 0.12-0.19 over which the agreement with the labels by
    # eye is flat (0.2 before a second labeller's curves; see tests/test_shapes_real.py)
    "rising_slope": 0.15,  # points per epoch over the last rising_frac that count as still rising
    "rising_frac": 0.5,  # fraction of the run at its end over which the rising slope is fitted
    "smooth": 2,  # rows in the trailing mean
    "expected_rows": None,  # rows a complete run has (None: not checked)
}


@dataclass(frozen=True)
class ShapeResult:
    """The shape class of one curve."""

    label: str  # one of LABELS
    evidence: dict  # the numbers the label was decided on (see the module docstring)


def chance_for(dataset) -> float:
    """Chance level in percent (100 / classes) of a dataset name (any case)."""
    return CHANCE[canonical_name(dataset)]


def _no_skill(a: CurveArrays, chance) -> tuple[np.ndarray, np.ndarray]:
    """Per-network (chance, no-skill level) from ``chance`` or the dataset column."""
    N = len(a.ids)
    if chance is not None:
        if isinstance(chance, dict):
            c = np.array([float(chance[i]) for i in a.ids])
        else:
            c = np.broadcast_to(np.asarray(chance, dtype=float), (N,)).copy()
        return c, c
    if a.dataset is None:
        raise ParameterError(
            "the no-learning test needs the chance level: pass chance= (percent), "
            "dataset=, or curves with a 'dataset' column"
        )
    names = [canonical_name(d) for d in a.dataset]
    c = np.array([CHANCE[d] for d in names])
    return c, np.maximum(c, np.array([MAJORITY[d] for d in names]))


def _tail_slope(ep, y, present, tail_frac):
    """Least-squares slope (units per epoch) of y over the last ``tail_frac`` of each run."""
    last = last_index(present)
    end = np.where(present.any(axis=1), ep[last], np.nan)
    start = np.where(present.any(axis=1), ep[np.argmax(present, axis=1)], np.nan)
    cut = end - tail_frac * (end - start)
    X = np.broadcast_to(ep, y.shape)
    m = np.isfinite(y) & (X >= cut[:, None])
    n = m.sum(axis=1)
    with np.errstate(all="ignore"):
        xm = np.where(m, X, 0).sum(axis=1) / n
        ym = np.where(m, y, 0).sum(axis=1) / n
        dx = np.where(m, X - xm[:, None], 0)
        dy = np.where(m, y - ym[:, None], 0)
        slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 3, slope, np.nan)


def _collapse_epoch(ep, va, present, no_skill, th) -> np.ndarray:
    """(N,) epoch from which val_acc stays at the no-skill level to the end, after a fall from
    well above it (see ``collapsed`` in the module docstring); nan where the curve did not collapse."""
    at = (va <= (no_skill + th["no_learning_margin"])[:, None]) | ~present  # absent rows: no break
    to_end = np.cumprod(at[:, ::-1], axis=1)[:, ::-1].astype(bool) & present
    has = to_end.any(axis=1)
    first = np.argmax(to_end, axis=1)  # first record of the final run at the no-skill level
    start = ep[first]
    window = (ep[None, :] < start[:, None]) & (ep[None, :] >= start[:, None] - th["collapse_within"])
    with np.errstate(invalid="ignore"):
        before = np.max(np.where(window & np.isfinite(va), va, -np.inf), axis=1)
        ok = has & (to_end.sum(axis=1) >= int(th["collapse_min_rows"]))
        ok &= before >= no_skill + th["collapse_from"]
    return np.where(ok, start, np.nan)


def classify_arrays(a: CurveArrays, chance=None, **thresholds) -> pd.DataFrame:
    """Shape labels and evidence from ``CurveArrays``; see ``classify_shapes``."""
    unknown = set(thresholds) - set(THRESHOLDS)
    if unknown:
        raise ParameterError(f"unknown thresholds {sorted(unknown)}: use {sorted(THRESHOLDS)}")
    th = {**THRESHOLDS, **thresholds}
    if len(a.ids) == 0:
        return pd.DataFrame(columns=[ID, "label", *EVIDENCE])
    ep, present = a.epoch, a.present
    va, vl, tl = finite_or_nan(a[VAL_ACC]), finite_or_nan(a[VAL_LOSS]), finite_or_nan(a[TRAIN_LOSS])
    last = last_index(present)
    n_rows = present.sum(axis=1)
    n_bad = nonfinite_rows(a).sum(axis=1)
    ch, no_skill = _no_skill(a, chance)
    sm = int(th["smooth"])
    sva, svl, stl = running_mean(va, sm), running_mean(vl, sm), running_mean(tl, sm)
    with np.errstate(all="ignore"), quiet_nan_warnings():
        best = np.nanmax(np.where(np.isfinite(sva), sva, -np.inf), axis=1)
    best = np.where(np.isfinite(best), best, np.nan)
    final = take(sva, last)

    # large half-epoch drops after the warm-up (on the raw curve: a swing is a raw event)
    diff = va[:, 1:] - va[:, :-1]
    after = (ep[1:] > ep[0] + th["warmup_epochs"])[None, :]
    n_drops = ((diff < -th["unstable_drop"]) & after).sum(axis=1)

    # overfitting: val_loss minimum early, val_loss up at the end, train_loss down
    span_start = ep[np.argmax(present, axis=1)]
    span = ep[last] - span_start
    fill = np.where(np.isfinite(svl), svl, np.inf)
    imin = np.argmin(fill, axis=1)
    has_vl = np.isfinite(svl).any(axis=1)
    with np.errstate(all="ignore"):
        min_frac = np.where(has_vl & (span > 0), (ep[imin] - span_start) / span, np.nan)
        vmin = take(svl, imin)
        rise = (take(svl, last) - vmin) / np.abs(vmin)
        tdrop = (take(stl, imin) - take(stl, last)) / np.abs(take(stl, imin))
    # peaked: end well below the best, best not in the tail
    ibest = np.argmax(np.where(np.isfinite(sva), sva, -np.inf), axis=1)
    with np.errstate(all="ignore"):
        best_frac = np.where(span > 0, (ep[ibest] - span_start) / span, np.nan)
    drop = best - final
    slope = _tail_slope(ep, va, present, th["rising_frac"])
    collapse = _collapse_epoch(ep, va, present, no_skill, th)

    exp_rows = th["expected_rows"]
    with np.errstate(invalid="ignore"):
        is_div = (n_bad > 0) | (n_rows == 0)
        if exp_rows is not None:
            is_div |= n_rows < int(exp_rows)
        is_col = np.isfinite(collapse)
        is_nol = ~(best > no_skill + th["no_learning_margin"])
        is_uns = n_drops >= th["unstable_min_drops"]
        is_ovf = (
            (min_frac <= th["overfit_max_frac"])
            & (rise >= th["overfit_loss_rise"])
            & (tdrop >= th["overfit_train_drop"])
        )
        is_pk = (drop >= th["peak_drop"]) & (best_frac < 1.0 - th["tail_frac"])
        is_ris = slope >= th["rising_slope"]
    label = np.select(
        [is_div, is_col, is_nol, is_uns, is_ovf, is_pk, is_ris], list(LABELS[:-1]), default=LABELS[-1]
    )
    return pd.DataFrame(
        {
            ID: a.ids,
            "label": label,
            "chance": ch,
            "no_skill": no_skill,
            "best_val_acc": best,
            "final_val_acc": final,
            "n_rows": n_rows,
            "n_nonfinite": n_bad,
            "collapse_epoch": np.where(label == "collapsed", collapse, np.nan),  # a diverged run may fall too
            "n_large_drops": n_drops,
            "val_loss_min_frac": min_frac,
            "val_loss_rise": rise,
            "train_loss_drop": tdrop,
            "peak_drop": drop,
            "tail_slope": slope,
        }
    )


def classify_shapes(curves: pd.DataFrame, chance=None, **thresholds) -> pd.DataFrame:
    """Shape class of every network in long-form ``curves``: one row per id.

    curves: long form (``id``, ``epoch``, ``val_acc``, ``val_loss``, ``train_loss``; optionally
        ``dataset``). chance: chance level in percent, one number, or {id: number}; None takes it
        from the ``dataset`` column (and then also the majority-class level, see the module
        docstring). thresholds: any of ``THRESHOLDS`` to override.
    Returns columns id, label (one of ``LABELS``) and the evidence columns (accuracies in percent,
    fractions of the run, points per epoch). Raises ParameterError without a chance level or for
    unknown thresholds or datasets.
    """
    a = pivot_curves(curves, (VAL_ACC, VAL_LOSS, TRAIN_LOSS))
    return classify_arrays(a, chance=chance, **thresholds)


def classify_shape(curve: pd.DataFrame, chance=None, dataset=None, **thresholds) -> ShapeResult:
    """Shape class of one curve (a ``Lifespan.curve``); see ``classify_shapes`` and the module doc.

    chance: percent; or dataset: "CIFAR100", "FashionMNIST" or "SVHN" (any case). Returns a
    ``ShapeResult`` (label, evidence dict).
    """
    df = as_long(curve)
    df = df.assign(**{ID: "curve"})
    if chance is None and dataset is not None:
        df = df.assign(dataset=canonical_name(dataset))
    table = classify_shapes(df, chance=chance, **thresholds)
    if table.empty:  # no rows at all: nothing was recorded, as when training broke at once
        return ShapeResult("diverged", {k: (0 if k.startswith("n_") else np.nan) for k in EVIDENCE})
    row = table.iloc[0].to_dict()
    row.pop(ID)
    label = row.pop("label")
    return ShapeResult(label, {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})

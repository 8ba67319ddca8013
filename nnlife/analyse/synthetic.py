"""Synthetic learning curves with a known shape, for tests, benchmarks and the prediction harness.

``synthetic_curves`` draws realistic curves in long form (``nnlife.analyse.long``); each curve's
``kind`` column says which shape it was drawn with, so classifiers and predictors can be scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import ELAPSED_S, EPOCH, TRAIN_ACC, TRAIN_LOSS, VAL_ACC, VAL_LOSS
from ..datasets import N_CLASSES, NAMES
from ..errors import ParameterError

__all__ = ["SYNTHETIC_KINDS", "synthetic_curves"]

# Shapes that ``synthetic_curves`` draws, with their default probabilities.
SYNTHETIC_KINDS = {
    "no_learning": 0.20,
    "saturating": 0.30,
    "still_rising": 0.15,
    "overfitting": 0.15,
    "peaked": 0.08,
    "unstable": 0.08,
    "diverged": 0.04,
}
# Reachable validation accuracy (percent) of each dataset: (low, high) of the uniform draw.
_CEILING = {"CIFAR100": (6.0, 50.0), "FashionMNIST": (70.0, 93.0), "SVHN": (25.0, 94.0)}


def synthetic_curves(
    n: int, n_epochs: int = 40, seed=0, datasets=tuple(sorted(NAMES)), kinds=None
) -> pd.DataFrame:
    """Draw ``n`` realistic learning curves in long form, each with a known shape.

    Every curve has rows at epochs 0.5, 1.0, ..., n_epochs (a ``diverged`` one stops early, its
    last row non-finite) and the columns id, dataset, kind, epoch, train_loss, train_acc,
    val_loss, val_acc (percent) and elapsed_s (nan). The accuracy rises from chance
    (100 / classes) towards a ceiling drawn per dataset along 1 - exp(-(t / tau)^delta), with
    Gaussian and autocorrelated noise; each ``kind`` then shapes it:
        no_learning   stays at chance (plus noise)
        saturating    tau of 0.3 to 5 epochs: flat well before the end
        still_rising  tau of 15 to 80 epochs: still climbing at the end
        overfitting   val_loss turns up after a minimum while train_loss keeps falling;
                      val_acc sags by at most 2 points
        peaked        val_acc falls by 15-50 % of what it gained after a peak; both losses rise
        unstable      random half epochs drop by 30-90 % of what was gained, then recover
        diverged      stops at a random epoch with nan losses and chance accuracy
    seed: int or numpy Generator (nothing global is drawn). kinds: {kind: probability} to
    override ``SYNTHETIC_KINDS``. Raises ParameterError for n < 0, n_epochs < 1 or unknown kinds.
    """
    if n < 0 or n_epochs < 1:
        raise ParameterError(f"synthetic_curves needs n >= 0 and n_epochs >= 1, got {n}, {n_epochs}")
    probs = dict(SYNTHETIC_KINDS if kinds is None else kinds)
    unknown = set(probs) - set(SYNTHETIC_KINDS)
    if unknown:
        raise ParameterError(f"unknown kinds {sorted(unknown)}: use {sorted(SYNTHETIC_KINDS)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    names = list(probs)
    p = np.asarray([probs[k] for k in names], dtype=float)
    p = p / p.sum()
    t = np.arange(1, 2 * n_epochs + 1) / 2.0
    frames = []
    for i in range(n):
        ds = datasets[rng.integers(len(datasets))]
        kind = names[rng.choice(len(names), p=p)]
        frames.append(_one_curve(rng, t, ds, kind, f"syn{i:05d}"))
    if not frames:
        return pd.DataFrame(
            columns=["id", "dataset", "kind", EPOCH, TRAIN_LOSS, TRAIN_ACC, VAL_LOSS, VAL_ACC, ELAPSED_S]
        )
    return pd.concat(frames, ignore_index=True)


def _one_curve(rng, t, ds, kind, cid):
    K = N_CLASSES[ds]
    chance = 100.0 / K
    lnK = np.log(K)
    lo, hi = _CEILING[ds]
    A = rng.uniform(lo, hi)
    tau = np.exp(rng.uniform(np.log(0.3), np.log(5.0)))
    delta = rng.uniform(0.6, 1.2)
    if kind == "still_rising":
        tau = np.exp(rng.uniform(np.log(15.0), np.log(80.0)))
        delta = rng.uniform(0.6, 1.0)
    rise = 1.0 - np.exp(-((t / tau) ** delta))  # 0 -> 1
    gain = (A - chance) * rise
    acc = chance + gain
    q = rise.copy()  # learned fraction, drives losses
    sd = rng.uniform(0.15, 0.9)
    tl = lnK * (1 - 0.85 * q) * np.exp(-t / rng.uniform(20, 200))  # train loss keeps falling
    vl = lnK * (1 - 0.75 * q) + 0.02 * lnK
    if kind == "no_learning":
        acc = np.full_like(t, chance)
        sd = rng.uniform(0.05, 0.3) * (1 if K == 100 else 2)
        tl = np.full_like(t, lnK) - 0.001 * t
        vl = np.full_like(t, lnK) + 0.0005 * rng.standard_normal(t.size)
        q = np.zeros_like(t)
    elif kind == "overfitting":
        tmin = rng.uniform(3.0, 15.0)
        after = np.clip(t - tmin, 0, None)
        vl = vl + rng.uniform(0.02, 0.08) * lnK * after / 4.0
        tl = tl * np.exp(-after / rng.uniform(8, 30))
        acc = acc - rng.uniform(0.0, 2.0) * (after / max(t[-1] - tmin, 1e-9))
    elif kind == "peaked":
        tp = rng.uniform(3.0, 0.5 * t[-1])
        after = np.clip(t - tp, 0, None)
        D = rng.uniform(0.15, 0.5) * (A - chance)
        fall = 1.0 - np.exp(-after / rng.uniform(2.0, 10.0))
        acc = acc - D * fall
        vl = vl + 0.5 * lnK * D / max(A, 1.0) * fall
        tl = tl + 0.4 * lnK * D / max(A, 1.0) * fall
    elif kind == "unstable":
        hit = rng.random(t.size) < 0.15
        hit[: int(np.argmax(t >= 2.0))] = False
        depth = rng.uniform(0.3, 0.9, t.size)
        acc = np.where(hit, acc - depth * gain, acc)
        vl = np.where(hit, vl + depth * lnK * 0.5, vl)
    # noise: white plus a slow AR(1) drift, as validation curves wander
    ar = np.zeros_like(t)
    for j in range(1, t.size):
        ar[j] = 0.8 * ar[j - 1] + 0.4 * sd * rng.standard_normal()
    val_acc = np.clip(acc + sd * rng.standard_normal(t.size) + ar, 0.0, 100.0)
    val_loss = vl * np.exp(0.01 * rng.standard_normal(t.size))
    train_loss = tl * np.exp(0.02 * rng.standard_normal(t.size))
    train_acc = chance + (100 - chance) * np.clip(1 - train_loss / lnK, 0, 1) ** 1.2
    train_acc = np.where(np.isfinite(train_acc), train_acc, chance)
    rows = t.size
    if kind == "diverged":
        rows = int(rng.integers(2, t.size))
        val_loss, train_loss = val_loss.copy(), train_loss.copy()
        val_acc, train_acc = val_acc.copy(), train_acc.copy()
        val_loss[rows - 1] = np.nan
        train_loss[rows - 1] = np.nan
        val_acc[rows - 1] = chance
        train_acc[rows - 1] = np.nan
    return pd.DataFrame(
        {
            "id": cid,
            "dataset": ds,
            "kind": kind,
            EPOCH: t[:rows],
            TRAIN_LOSS: train_loss[:rows],
            TRAIN_ACC: train_acc[:rows],
            VAL_LOSS: val_loss[:rows],
            VAL_ACC: val_acc[:rows],
            ELAPSED_S: np.nan,
        }
    )

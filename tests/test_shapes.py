"""Shape classes: each class on a constructed curve, the real samples, and bad curves."""

import numpy as np
import pandas as pd
import pytest

import nnlife
from nnlife.curves import synthetic_curves
from nnlife.errors import ParameterError
from nnlife.shapes import LABELS, MAJORITY, THRESHOLDS, classify_shape, classify_shapes
from nnlife.table import curve_frame

T = np.arange(1, 81) / 2.0  # epochs 0.5 .. 40
RISE = 1.0 - np.exp(-T / 2.0)  # saturates after a few epochs


def _curve(val_acc, val_loss=None, train_loss=None):
    vl = 4.0 - 2.0 * RISE if val_loss is None else val_loss
    tl = 4.2 - 2.5 * RISE if train_loss is None else train_loss
    return curve_frame(T[: len(val_acc)], tl[: len(val_acc)], vl[: len(val_acc)], val_acc)


def constructed():
    sat = 1.0 + 40.0 * RISE
    diverged_vl = 4.0 - 2.0 * RISE
    diverged_vl[30] = np.nan
    unstable = sat.copy()
    # six drops: real curves that hold a flat level by eye show up to five (tests/test_shapes_real.py)
    unstable[[15, 25, 35, 45, 55, 65]] -= 20.0
    peak = 1.0 + 30.0 * (1 - np.exp(-T / 2)) - 10.0 * np.clip(T - 10, 0, None) / 30.0
    return {
        "saturating": _curve(sat),
        # learns to ~40 %, then at chance from epoch 12 on (as 4 of 68 real curves did, issue 14)
        "collapsed": _curve(np.where(T < 12.0, sat, 1.0)),
        "still_rising": _curve(1.0 + 1.0 * T, val_loss=4.0 - 0.05 * T, train_loss=4.2 - 0.06 * T),
        "no_learning": _curve(1.0 + 0.3 * np.sin(T)),
        "diverged": _curve(sat, val_loss=diverged_vl),
        "unstable": _curve(unstable),
        # val_loss bottoms out at epoch 8 and climbs while train_loss keeps falling
        "overfitting": _curve(sat, val_loss=2.5 + 0.004 * (T - 8.0) ** 2, train_loss=3.0 - 0.06 * T),
        # val_acc loses 10 points after epoch 10, and training loss rises with it (no overfitting)
        "peaked": _curve(
            peak,
            val_loss=2.0 + 0.02 * np.clip(T - 10, 0, None),
            train_loss=2.0 + 0.02 * np.clip(T - 10, 0, None),
        ),
    }


@pytest.mark.parametrize("label", sorted(constructed()))
def test_each_class_on_a_constructed_curve(label):
    r = classify_shape(constructed()[label], chance=1.0)
    assert r.label == label, r.evidence
    assert set(r.evidence) >= {"best_val_acc", "tail_slope", "n_large_drops", "val_loss_rise"}


def test_every_label_is_documented():
    doc = nnlife.shapes.__doc__
    for label in LABELS:
        assert f"``{label}``" in doc


def test_vectorised_equals_single_curve_and_keeps_order():
    cases = constructed()
    long = pd.concat([c.assign(id=k) for k, c in cases.items()], ignore_index=True)
    table = classify_shapes(long, chance=1.0)
    assert list(table["id"]) == list(cases)
    assert list(table["label"]) == list(cases)
    single = classify_shape(cases["overfitting"], chance=1.0).evidence
    row = table.set_index("id").loc["overfitting"]
    for k, v in single.items():
        assert row[k] == pytest.approx(v, nan_ok=True)


def test_thresholds_are_parameters():
    rising = constructed()["still_rising"]
    assert classify_shape(rising, chance=1.0).label == "still_rising"
    assert classify_shape(rising, chance=1.0, rising_slope=2.0).label == "saturating"
    unstable = constructed()["unstable"]
    assert classify_shape(unstable, chance=1.0, unstable_min_drops=7).label == "saturating"
    assert classify_shape(constructed()["saturating"], chance=1.0, expected_rows=90).label == "diverged"
    with pytest.raises(ParameterError, match="unknown thresholds"):
        classify_shape(rising, chance=1.0, wobble=3)
    assert set(THRESHOLDS) >= {"no_learning_margin", "unstable_drop", "peak_drop", "rising_slope"}


def test_chance_from_dataset_and_svhn_majority_class():
    flat = _curve(np.full(80, 19.6) + 0.2 * np.sin(T))
    # SVHN's test split is 19.59 % "1"s: a network that always answers "1" has not learned
    assert MAJORITY["SVHN"] == pytest.approx(19.587, abs=1e-3)
    assert classify_shape(flat, dataset="svhn").label == "no_learning"
    assert classify_shape(flat, dataset="FashionMNIST").label == "saturating"
    assert classify_shape(flat, chance=10.0).label == "saturating"
    with pytest.raises(ParameterError, match="chance"):
        classify_shape(flat)
    long = pd.concat([flat.assign(id="a", dataset="SVHN"), flat.assign(id="b", dataset="CIFAR100")])
    assert list(classify_shapes(long)["label"]) == ["no_learning", "saturating"]


def test_real_samples(sample_paths):
    got = {}
    for p in sample_paths:
        life = nnlife.read_lifespan(p)
        got[life.id] = classify_shape(life.curve, dataset=life.dataset)
    # val_loss bottoms out near epoch 7 and ends 40 % higher while train_loss halves
    assert got["2021_02_15_13_55_26_539263"].label == "overfitting"
    assert got["2021_02_15_13_55_26_539263"].evidence["val_loss_rise"] > 0.3
    assert got["2021_02_15_13_56_59_917381"].label == "no_learning"  # about 1 %: chance
    assert got["2021_02_15_14_01_32_105932"].label == "saturating"


def test_bad_curves_do_not_crash():
    nan = curve_frame(T[:4], [np.nan] * 4, [np.nan] * 4, [np.nan] * 4)
    assert classify_shape(nan, chance=1.0).label == "diverged"
    inf = _curve(1.0 + 40.0 * RISE, val_loss=np.where(T == 20.0, np.inf, 4.0 - 2.0 * RISE))
    assert classify_shape(inf, chance=1.0).label == "diverged"
    assert classify_shape(_curve(np.full(80, 1.0)), chance=1.0).label == "no_learning"
    two = classify_shape(_curve(np.array([5.0, 9.0])), chance=1.0)
    assert two.label in LABELS and np.isnan(two.evidence["tail_slope"])
    empty = classify_shape(curve_frame([], [], [], []), chance=1.0)
    assert empty.label == "diverged" and empty.evidence["n_rows"] == 0


def test_synthetic_curves_get_their_generating_shape():
    cur = synthetic_curves(200, seed=4)
    kinds = cur.groupby("id", sort=False)["kind"].first()
    table = classify_shapes(cur).set_index("id")
    agree = (table.loc[kinds.index, "label"].to_numpy() == kinds.to_numpy()).mean()
    assert agree > 0.85
    assert (table.loc[kinds.index[kinds == "diverged"], "label"] == "diverged").all()
    assert (table.loc[kinds.index[kinds == "no_learning"], "label"] == "no_learning").all()


def test_collapse_epoch_in_the_evidence():
    r = classify_shape(constructed()["collapsed"], chance=1.0)
    assert r.label == "collapsed" and r.evidence["collapse_epoch"] == 12.0
    assert np.isnan(classify_shape(constructed()["saturating"], chance=1.0).evidence["collapse_epoch"])
    # a network that never learned has no collapse, and one that collapses for the last record only
    # (fewer than collapse_min_rows at chance) is not counted
    assert classify_shape(constructed()["no_learning"], chance=1.0).label == "no_learning"
    late = _curve(np.where(T < 40.0, 1.0 + 40.0 * RISE, 1.0))
    assert classify_shape(late, chance=1.0).label != "collapsed"

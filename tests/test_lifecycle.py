"""Lifecycle features: known values on constructed curves, many curves at once, real samples."""

import numpy as np
import pandas as pd
import pytest

import nnlife
from nnlife.analyse.lifecycle import (
    LIFECYCLE_COLUMNS,
    generalization_gap,
    lifecycle,
    lifecycle_features,
    pivot_curves,
)
from nnlife.curves import synthetic_curves
from nnlife.errors import ParameterError
from nnlife.table import curve_frame

T = np.arange(1, 81) / 2.0  # epochs 0.5 .. 40


def test_known_values_on_a_linear_curve():
    # val_acc = 2 * epoch (1 .. 80 %): every feature has a closed form
    c = curve_frame(
        T, train_loss=3.0 - 0.05 * T, val_loss=3.0 - 0.04 * T, val_acc=2.0 * T, train_acc=2.0 * T + 5.0
    )
    f = lifecycle(c)
    assert f["n_rows"] == 80 and f["n_nonfinite"] == 0 and f["final_epoch"] == 40.0
    assert f["final_val_acc"] == 80.0 and f["best_val_acc"] == 80.0 and f["best_epoch"] == 40.0
    # 90 % of 80 is 72, reached at 36.0; 99 % is 79.2, which 39.5 (79) misses
    assert f["epochs_to_90"] == 36.0 and f["epochs_to_95"] == 38.0 and f["epochs_to_99"] == 40.0
    # trapezoids of a straight line are exact: integral of 2t from 0.5 to 40
    assert f["auc"] == pytest.approx(40.0**2 - 0.5**2)
    assert f["auc_mean"] == pytest.approx((40.0**2 - 0.5**2) / 39.5)
    assert f["loss_gap_final"] == pytest.approx(0.01 * 39.75)  # mean over the last epoch
    assert f["acc_gap_final"] == pytest.approx(5.0)
    assert np.isnan(f["overfit_onset_epoch"])  # val_loss never turns up
    assert f["min_val_loss_epoch"] == 40.0


def test_overfitting_onset_and_best_epoch():
    vl = 2.5 + 0.004 * (T - 8.0) ** 2  # minimum at epoch 8, then up
    va = 30.0 - 0.02 * (T - 12.0) ** 2  # best at epoch 12
    c = curve_frame(T, 3.0 - 0.06 * T, vl, va)
    f = lifecycle(c)
    assert f["min_val_loss_epoch"] == 8.0
    # the onset is the minimum of the one-epoch trailing mean; the windows ending at 8.0 and 8.5
    # tie (the parabola is symmetric about 8) and the earlier wins
    assert f["overfit_onset_epoch"] == 8.0
    assert f["best_epoch"] == 12.0 and f["best_val_acc"] == pytest.approx(30.0)
    flat_train = lifecycle(curve_frame(T, np.full(80, 3.0), vl, va))
    assert np.isnan(flat_train["overfit_onset_epoch"])  # training does not improve: no onset


def test_many_curves_equal_one_at_a_time_and_fast_shape():
    cur = synthetic_curves(40, seed=8)
    table = lifecycle_features(cur)
    assert list(table.columns) == list(LIFECYCLE_COLUMNS)
    assert list(table["id"]) == list(pd.unique(cur["id"]))
    for cid in table["id"].iloc[:6]:
        one = lifecycle(cur[cur["id"] == cid].drop(columns="id"))
        row = table.set_index("id").loc[cid]
        for k, v in one.items():
            assert row[k] == pytest.approx(v, nan_ok=True), (cid, k)
    div = cur.groupby("id")["kind"].first() == "diverged"
    t = table.set_index("id")
    assert (t.loc[div[div].index, "n_nonfinite"] >= 1).all()
    assert (t.loc[div[div].index, "n_rows"] < 80).all()


def test_real_samples(sample_paths):
    lives = [nnlife.read_lifespan(p) for p in sample_paths]
    long = pd.concat([l.curve.assign(id=l.id) for l in lives], ignore_index=True)
    t = lifecycle_features(long).set_index("id")
    over = t.loc["2021_02_15_13_55_26_539263"]
    assert over["final_val_acc"] == pytest.approx(26.35)
    assert over["best_val_acc"] == pytest.approx(28.77) and over["best_epoch"] == 10.5
    assert 5.0 <= over["overfit_onset_epoch"] <= 10.0
    assert over["loss_gap_final"] > 2.5  # val 4.3 vs train 1.1-1.5
    never = t.loc["2021_02_15_13_56_59_917381"]
    assert 0.8 < never["auc_mean"] < 1.3 and np.isnan(never["overfit_onset_epoch"])
    assert t["acc_gap_final"].isna().all()  # the published tables have no train_acc


def test_generalization_gap_over_time():
    c = curve_frame(T[:3], [3.0, 2.5, 2.0], [3.2, 3.0, 2.9], [10.0, 20.0, 25.0], train_acc=[12.0, 25.0, 35.0])
    g = generalization_gap(c)
    assert list(g.columns) == ["id", "epoch", "loss_gap", "acc_gap"]
    np.testing.assert_allclose(g["loss_gap"], [0.2, 0.5, 0.9])
    np.testing.assert_allclose(g["acc_gap"], [2.0, 5.0, 10.0])


def test_bad_curves_do_not_crash():
    nan = lifecycle(curve_frame(T[:4], [np.nan] * 4, [np.nan] * 4, [np.nan] * 4))
    assert nan["n_nonfinite"] == 4 and np.isnan(nan["best_val_acc"]) and np.isnan(nan["auc_mean"])
    const = lifecycle(curve_frame(T, np.full(80, 4.6), np.full(80, 4.5), np.full(80, 1.0)))
    assert const["best_epoch"] == 0.5 and const["epochs_to_99"] == 0.5 and const["auc_mean"] == 1.0
    two = lifecycle(curve_frame(T[:2], [4.0, 3.5], [4.1, 3.9], [5.0, 9.0]))
    assert two["final_val_acc"] == 9.0 and two["auc"] == pytest.approx(3.5)
    empty = lifecycle(curve_frame([], [], [], []))
    assert empty["n_rows"] == 0 and np.isnan(empty["final_val_acc"])
    with pytest.raises(ParameterError, match="no 'epoch' column"):
        lifecycle_features(pd.DataFrame({"val_acc": [1.0]}))


def test_pivot_handles_ragged_and_out_of_order_rows():
    long = pd.DataFrame(
        {
            "id": ["b", "a", "b", "a", "a"],
            "epoch": [1.0, 1.0, 0.5, 0.5, 1.5],
            "val_acc": [2.0, 20.0, 1.0, 10.0, 30.0],
        }
    )
    a = pivot_curves(long, ("val_acc", "val_loss"))
    assert list(a.ids) == ["b", "a"] and list(a.epoch) == [0.5, 1.0, 1.5]
    np.testing.assert_array_equal(a.present, [[True, True, False], [True, True, True]])
    assert a.has("val_acc") and not a.has("val_loss") and np.isnan(a["val_loss"]).all()
    t = lifecycle_features(long).set_index("id")
    assert t.loc["b", "final_val_acc"] == 2.0 and t.loc["a", "final_epoch"] == 1.5

"""Early prediction: PENGUIN step by step, nnlife's ensemble, and the benchmark harness."""

import numpy as np
import pandas as pd
import pytest

import nnlife
import nnlife.predict as P
from nnlife.curves import FAMILIES, synthetic_curves
from nnlife.errors import ParameterError
from nnlife.predict import ensemble_predict, penguin_predict, prediction_benchmark, summarize_predictions
from nnlife.table import curve_frame

EP = np.arange(1, 11) / 2.0  # ten points: epochs 0.5 .. 5.0


# --- PENGUIN on the published samples -------------------------------------------------------------

# PENGUIN's own test: the three sample tables cut to 20 epochs, e_pred = 20, n = 3, threshold = 0.5.
# Recorded with scipy 1.17.1: (converged, prediction %, a, last epoch used, steps).
PENGUIN_SAMPLES = {
    "2021_02_15_13_55_26_539263": (True, 25.71206, 25.71212, 4.0, 7),
    "2021_02_15_13_56_59_917381": (True, 1.18876, 2.03360, 3.0, 5),
    "2021_02_15_14_01_32_105932": (True, 22.81969, 24.31414, 8.5, 16),
}


def test_penguin_on_the_three_published_samples(sample_paths):
    for path in sample_paths:
        life = nnlife.read_lifespan(path)
        c = life.curve[life.curve["epoch"] <= 20]
        r = penguin_predict(c["epoch"], c["val_acc"], e_pred=20, n=3, threshold=0.5)
        conv, pred, a, last, steps = PENGUIN_SAMPLES[life.id]
        assert r.converged is conv
        assert r.prediction == pytest.approx(pred, abs=1e-3)
        assert r.a == pytest.approx(a, abs=1e-3)
        assert r.last_epoch == last and len(r.steps) == steps
        assert r.steps[-1].action == "converged" and r.steps[-1].n_points == int(2 * last)
        # the prediction is PENGUIN's function at x = 2 * e_pred
        assert r.prediction == pytest.approx(r.a - r.b ** (r.c - 40.0))
        # the last three appended predictions agree within 0.5 of their median
        tail = [s.prediction for s in r.steps if s.action in ("appended", "converged")][-3:]
        assert max(abs(v - np.median(tail)) for v in tail) <= 0.5


# --- PENGUIN's rules on scripted fits -------------------------------------------------------------


def _script(monkeypatch, a_by_points):
    """Make step i's fit return (a, 1, 0): its prediction is a - 1 (b = 1); None: a failed fit."""

    def fake(x, y):
        a = a_by_points.get(len(x), 50.0 + len(x))  # unscripted steps never agree
        return (np.inf, np.inf, np.inf) if a is None else (a, 1.0, 0.0)

    monkeypatch.setattr(P, "_penguin_fit", fake)


def _actions(r):
    return [s.action for s in r.steps]


def test_penguin_converges_on_three_agreeing_predictions(monkeypatch):
    _script(monkeypatch, {2: 21.0, 3: 21.2, 4: 21.4})
    r = penguin_predict(EP, np.arange(10.0), e_pred=40)
    assert r.converged and r.prediction == pytest.approx(20.4) and r.last_epoch == 2.0
    assert _actions(r) == ["appended", "appended", "converged"]


def test_penguin_reset_when_a_reaches_199_99(monkeypatch):
    # without the reset, 21, 21.1, 21.2 would converge at 5 points; the reset empties the list
    _script(monkeypatch, {2: 21.0, 3: 21.1, 4: 199.995, 5: 21.2, 6: 21.3, 7: 21.4})
    r = penguin_predict(EP, np.arange(10.0), e_pred=40)
    assert _actions(r) == ["appended", "appended", "reset", "appended", "appended", "converged"]
    assert r.converged and r.last_epoch == 3.5 and r.prediction == pytest.approx(20.4)
    # just below 199.99 the prediction is kept (and spoils the agreement)
    _script(monkeypatch, {2: 21.0, 3: 21.1, 4: 199.98, 5: 21.2, 6: 21.3, 7: 21.4})
    assert _actions(penguin_predict(EP, np.arange(10.0), e_pred=40))[2] == "appended"


def test_penguin_skips_failed_fits_and_non_finite_predictions(monkeypatch):
    _script(monkeypatch, {2: 21.0, 3: None, 4: 21.1, 5: 21.2})
    r = penguin_predict(EP, np.arange(10.0), e_pred=40)
    assert _actions(r) == ["appended", "skipped", "appended", "converged"]
    assert r.converged and r.last_epoch == 2.5
    # a huge b makes b**(c - x) overflow: a non-finite prediction is skipped too
    monkeypatch.setattr(
        P, "_penguin_fit", lambda x, y: (21.0, 1e300, 1e6) if len(x) == 3 else (21.0, 1.0, 0.0)
    )
    r = penguin_predict(EP, np.arange(10.0), e_pred=40)
    assert r.steps[1].action == "skipped" and not np.isfinite(r.steps[1].prediction)


def test_penguin_stops_unjudged_when_the_next_fit_uses_every_point(monkeypatch):
    # the fit on all 5 points would make 21, 21.1, 21.2 agree, but it is never judged
    _script(monkeypatch, {2: 10.0, 3: 21.0, 4: 21.1, 5: 21.2})
    y = np.array([3.0, 4.0, 5.0, 6.0, 7.5])
    r = penguin_predict(EP[:5], y, e_pred=40)
    assert not r.converged and r.prediction == 7.5 and r.last_epoch == 2.5
    assert _actions(r) == ["appended", "appended", "appended", "stopped"]
    assert r.a == 21.2  # the last fit made is reported


def test_penguin_needs_a_prediction_in_0_to_100(monkeypatch):
    _script(monkeypatch, {2: 151.0, 3: 151.1, 4: 151.2, 5: 151.3})
    r = penguin_predict(EP[:6], np.arange(6.0), e_pred=40)
    assert not r.converged and _actions(r)[:4] == ["appended"] * 4 and r.prediction == 5.0


def test_penguin_on_bad_curves_does_not_crash():
    two = penguin_predict([0.5, 1.0], [5.0, 7.0], e_pred=20)
    assert not two.converged and two.prediction == 7.0 and _actions(two) == ["stopped"]
    nan = penguin_predict(EP, np.full(10, np.nan), e_pred=20)
    assert not nan.converged and set(_actions(nan)) == {"skipped", "stopped"}
    const = penguin_predict(EP, np.full(10, 1.0), e_pred=20)
    assert np.isfinite(const.prediction)
    assert np.isnan(penguin_predict([], [], e_pred=20).prediction)
    with pytest.raises(ParameterError):
        penguin_predict([0.5, 1.0], [1.0], e_pred=20)


# --- nnlife's predictor ---------------------------------------------------------------------------


def test_ensemble_extrapolates_a_clean_curve():
    t = np.arange(1, 81) / 2.0
    y = FAMILIES["weibull4"](2 * t, 60.0, 5.0, 0.03, 1.0)
    cut = curve_frame(t[:20], np.ones(20), np.ones(20), y[:20])  # first 10 epochs
    e = ensemble_predict(cut, 40.0).iloc[0]
    assert e["n_models"] >= 3 and e["predicted"] == pytest.approx(y[-1], abs=0.5)
    assert abs(y[19] - y[-1]) > 5  # the last value is far off


def test_ensemble_on_bad_curves_falls_back_to_the_anchor():
    long = pd.concat(
        [
            curve_frame(EP[:2], [4, 3], [4, 3], [5.0, 7.0]).assign(id="two"),
            curve_frame(EP[:4], [np.nan] * 4, [np.nan] * 4, [np.nan] * 4).assign(id="nan"),
            curve_frame(EP, np.ones(10), np.ones(10), np.full(10, 1.0)).assign(id="const"),
        ],
        ignore_index=True,
    )
    e = ensemble_predict(long, 40.0).set_index("id")
    assert list(e.index) == ["two", "nan", "const"]
    assert e.loc["two", "predicted"] == 6.0 and e.loc["two", "n_models"] == 0  # median of both
    assert np.isnan(e.loc["nan", "predicted"])
    assert e.loc["const", "predicted"] == pytest.approx(1.0, abs=1e-6)


# --- the harness ----------------------------------------------------------------------------------


def test_benchmark_table_and_summary():
    cur = synthetic_curves(4, seed=21, kinds={"saturating": 1, "still_rising": 1, "diverged": 1})
    res = prediction_benchmark(cur, cutoffs=(5, 10))
    assert list(res.columns) == ["id", "cutoff", "method", "predicted", "truth"]
    kinds = cur.groupby("id")["kind"].first()
    assert set(res["id"]) == set(kinds.index[kinds != "diverged"])  # skipped, as PENGUIN does
    final = cur.groupby("id").apply(lambda g: g["val_acc"].iloc[-1])
    assert np.allclose(res["truth"], final.loc[res["id"]].to_numpy())
    lv = res[(res["method"] == "last_value") & (res["cutoff"] == 5)].set_index("id")["predicted"]
    at5 = cur[cur["epoch"] == 5.0].set_index("id")["val_acc"]
    np.testing.assert_allclose(lv, at5.loc[lv.index])
    assert res.groupby(["cutoff", "method"]).size().nunique() == 1  # same networks per method
    s = summarize_predictions(res)
    assert set(s["method"]) == {"last_value", "penguin", "nnlife"} and set(s["cutoff"]) == {5.0, 10.0}
    assert {"n", "mae", "rmse", "median_ae", "bias", "spearman"} <= set(s.columns)
    with pytest.raises(ParameterError, match="unknown methods"):
        prediction_benchmark(cur, methods=("oracle",))


def test_nnlife_beats_last_value_and_penguin_on_rising_curves():
    cur = synthetic_curves(8, seed=5, kinds={"still_rising": 1, "saturating": 1})
    s = summarize_predictions(prediction_benchmark(cur, cutoffs=(10,))).set_index("method")
    assert s.loc["nnlife", "mae"] < 0.8 * s.loc["last_value", "mae"]
    assert s.loc["nnlife", "mae"] < 0.8 * s.loc["penguin", "mae"]


def test_benchmark_on_the_published_samples(sample_paths):
    lives = [nnlife.read_lifespan(p) for p in sample_paths]
    long = pd.concat([l.curve.assign(id=l.id) for l in lives], ignore_index=True)
    res = prediction_benchmark(long, cutoffs=(10,), methods=("last_value", "nnlife"))
    assert len(res) == 6 and res["predicted"].notna().all()
    # the never-learning network is predicted at about chance
    never = res[res["id"] == "2021_02_15_13_56_59_917381"]
    assert (never["predicted"] < 2.0).all()

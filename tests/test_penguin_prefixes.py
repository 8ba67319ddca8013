"""PENGUIN at several cut-offs in one run of its engine: the same numbers as one run per cut-off,
on real curves of the reference corpus (some converge early, some late, some never)."""

from pathlib import Path

import numpy as np
import pytest

import nnlife
from nnlife.analyse.predict import penguin_predict, penguin_predict_prefixes, prediction_benchmark
from nnlife.errors import ParameterError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "fmnist-small-4000-seed0"
CUTOFFS = (1, 2, 5, 10, 20)  # epochs
N_CURVES = 8  # real curves checked (about 1 s of scipy fits each)


@pytest.fixture(scope="module")
def curves():
    cat = nnlife.load_catalog(str(REFERENCE))
    ids = sorted(cat.table["id"].astype(str))[:N_CURVES]
    return cat.curves[cat.curves["id"].astype(str).isin(ids)].sort_values(["id", "epoch"])


def test_prefixes_give_the_predictions_of_separate_runs(curves):
    outcomes = set()
    for _, g in curves.groupby("id"):
        e, y = g["epoch"].to_numpy(), g["val_acc"].to_numpy()
        m = [int((e <= c).sum()) for c in CUTOFFS]
        got = penguin_predict_prefixes(e, y, 40.0, m)
        want = [penguin_predict(e[:k], y[:k], 40.0) for k in m]
        assert got.tolist() == [w.prediction for w in want]  # exactly: the same fits
        outcomes |= {w.converged for w in want}
    assert outcomes == {True, False}  # both branches were exercised


def test_benchmark_penguin_matches_one_run_per_cutoff(curves):
    res = prediction_benchmark(curves, cutoffs=(2, 5), methods=("penguin",))
    assert len(res) == 2 * curves["id"].nunique()
    for r in res.itertuples():
        g = curves[(curves["id"] == r.id) & (curves["epoch"] <= r.cutoff)]
        assert r.predicted == penguin_predict(g["epoch"], g["val_acc"], 40.0).prediction


def test_prefix_lengths_outside_the_curve_are_refused():
    with pytest.raises(ParameterError, match="n_points must lie in 1..3"):
        penguin_predict_prefixes([0.5, 1.0, 1.5], [1.0, 2.0, 3.0], 20.0, [2, 4])
    assert penguin_predict_prefixes([0.5], [1.0], 20.0, []).size == 0
    assert np.isnan(penguin_predict_prefixes([0.5, 1.0], [1.0, np.nan], 20.0, [2])[0])

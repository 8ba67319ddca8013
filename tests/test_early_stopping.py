"""Early termination replayed: the rules on scripted predictions, then on the reference corpus."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnlife
from nnlife.analyse import early_stopping as ES
from nnlife.analyse import learned as L
from nnlife.errors import ParameterError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
CUTS = (2.0, 5.0, 10.0, 20.0)


def _table(truth, pred=None, width=0.0, method="oracle"):
    """Predictions at every cut-off: ``pred`` (default the truth) +- width/2."""
    rows = []
    for i, t in enumerate(truth):
        for c in CUTS:
            p = t if pred is None else pred[i]
            rows.append(
                {
                    "id": f"n{i:02d}",
                    "cutoff": c,
                    "method": method,
                    "predicted": p,
                    "lower": p - width / 2,
                    "upper": p + width / 2,
                    "truth": t,
                }
            )
    return pd.DataFrame(rows)


def test_successive_halving_spends_what_its_rungs_allow():
    truth = np.arange(16, dtype=float) + 50
    r = ES.replay(_table(truth), 40.0, ks=(), etas=(2.0,))
    row = r.iloc[0]
    # 16 -> 8 -> 4 -> 2 -> 1: 8 stop at 2 epochs, 4 at 5, 2 at 10, 1 at 20, 1 trains 40
    assert row["savings"] == pytest.approx(1 - (8 * 2 + 4 * 5 + 2 * 10 + 20 + 40) / (16 * 40))
    assert row["kept"] == 1 and row["regret"] == 0.0 and row["recall"] == pytest.approx(0.1)


def test_an_oracle_never_regrets_and_a_large_k_never_stops():
    rng = np.random.default_rng(3)
    truth = rng.uniform(10, 90, 30)
    r = ES.replay(_table(truth), 40.0, ks=(1, 3, 30), etas=(), n_orders=4, seed=1)
    assert (r["regret"] == 0).all()
    assert r.set_index("param").loc[1.0, "savings"] > 0.5
    never = r.set_index("param").loc[30.0]
    assert never["savings"] == 0 and never["recall"] == 1 and never["kept"] == 30


def test_a_predictor_that_is_wrong_and_sure_costs_regret():
    truth = np.linspace(40, 90, 20)
    backwards = truth[::-1].copy()  # ranks the networks upside down, narrow intervals
    r = ES.replay(
        _table(truth, pred=backwards, width=1.0, method="bad"), 40.0, ks=(1,), etas=(2.0,), n_orders=5, seed=0
    )
    assert (r["regret"] > 0).all()
    halving = r[r["rule"] == "successive_halving"].iloc[0]
    # 20 -> 10 -> 5 -> 3 -> 2: it keeps the two worst
    assert halving["kept"] == 2 and halving["regret"] == pytest.approx(truth.max() - truth[1])


@pytest.fixture(scope="module")
def corpus():
    cat = nnlife.load_catalog(str(REFERENCE))
    assert len(cat) >= 50, f"{REFERENCE} has {len(cat)} lifespans"
    return cat


def test_on_the_corpus_with_baselines_and_a_held_out_predictor(corpus):
    t = corpus.table[corpus.table["status"] == "complete"]
    nets = list(pd.unique(t["net_id"]))[:30]  # 30 networks keep it to seconds
    half = len(nets) // 2
    train = corpus.select(ids=t[t["net_id"].isin(nets[:half])]["id"])
    test = corpus.select(ids=t[t["net_id"].isin(nets[half:])]["id"])
    p = L.train_predictor(train.curves, catalog=train.table, cutoffs=CUTS, calibration_folds=3)
    r = ES.simulate_early_stopping(
        test.curves, predictor=p, catalog=test.table, ks=(1, 5, 1000), etas=(2.0,), n_orders=3
    )
    assert set(r["rule"]) == {"upper_below_kth", "successive_halving"}
    assert set(r["method"]) == {"predictor"} and (r["n_networks"] == len(test.table)).all()
    assert r["savings"].between(0, 1).all() and (r["regret"] >= 0).all()
    assert r["recall"].between(0, 1).all()
    big_k = r[(r["rule"] == "upper_below_kth") & (r["param"] == 1000)].iloc[0]
    assert big_k["savings"] == 0 and big_k["regret"] == 0  # k above the network count: no stop
    b = ES.simulate_early_stopping(
        test.curves, predictor=("last_value", "nnlife"), catalog=test.table, ks=(1,), etas=(2.0,), n_orders=2
    )
    assert set(b["method"]) == {"last_value", "nnlife"}
    # classic successive halving (ranked by the last value) keeps ceil(n / 2**4) networks
    sh = b[(b["rule"] == "successive_halving") & (b["method"] == "last_value")].iloc[0]
    n = len(test.table)
    assert sh["kept"] == max(1, int(np.ceil(np.ceil(np.ceil(np.ceil(n / 2) / 2) / 2) / 2)))


def test_unknown_predictors_and_empty_curves_are_refused(corpus):
    with pytest.raises(ParameterError, match="unknown predictor"):
        ES.simulate_early_stopping(corpus.curves, predictor="oracle")
    with pytest.raises(ParameterError, match="empty"):
        ES.simulate_early_stopping(corpus.curves.iloc[:0])


def test_the_report_degrades_on_the_three_published_samples(sample_paths):
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from nnlife.analyse.crossfit import prediction_study
    from nnlife.report import prediction as pf

    cat = nnlife.load_catalog([str(p) for p in sample_paths])
    study = prediction_study(cat, cutoffs=(2, 10), n_orders=2)
    assert any("too few networks to train a predictor" in n for n in study.notes)
    assert set(study.summary["method"]) == {"last_value", "penguin", "nnlife"}
    assert (study.summary["n"] == 3).all() and study.summary["coverage"].notna().all()
    assert set(study.stopping["method"]) == {"last_value", "penguin", "nnlife"}
    assert ES.savings_at_regret(study.stopping)["worst_regret"].notna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = [
            pf.plot_prediction_summary(study.summary),
            pf.plot_prediction_intervals(study.results),
            pf.plot_seed_variance(cat.table),
            pf.plot_savings_regret(study.stopping),
            pf.plot_prediction_summary(study.summary.iloc[:0]),
        ]
    # no network of the samples has several seeds: the figure says so instead of failing
    assert "several seeds" in figs[2].axes[0].texts[0].get_text()
    for fig in (figs[0], figs[3]):
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes if ax.axison)
    grid = figs[1].axes  # methods x cut-offs, labelled on the outer edges
    assert len(grid) == 3 * 2 and grid[0].get_ylabel() and grid[-1].get_xlabel()


def test_seed_spread_of_networks_trained_with_several_seeds(corpus):
    from nnlife.analyse.structure import seed_spread

    t = corpus.table
    s = seed_spread(t)
    multi = t.groupby("net_id").size()
    assert set(s["net_id"]) == set(multi[multi >= 2].index)
    if len(s):  # the seeds batch (fmnist-small-seeds3-seed1) once it exists
        assert (s["range"] >= 0).all() and (s["seeds"] >= 2).all()

"""The learned early predictor on the reference corpus: train, predict, save/load, bad input."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnlife
from nnlife.analyse import learned as L
from nnlife.analyse.crossfit import learned_predictions
from nnlife.analyse.trees import export_trees, predict_trees
from nnlife.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "data" / "reference"
GRID = (2.0, 5.0, 10.0, 20.0)  # a coarse training grid keeps the tests to seconds
N_TRAIN = 40  # networks trained on (the rest are held out)


@pytest.fixture(scope="module")
def corpus():
    cat = nnlife.load_catalog(str(REFERENCE))
    # made by scripts/make-reference.sh; the tests need at least this many complete curves
    assert len(cat) >= 50, f"{REFERENCE} has {len(cat)} lifespans"
    return cat


@pytest.fixture(scope="module")
def split(corpus):
    """Networks for training and held-out networks, no net_id on both sides."""
    t = corpus.table[corpus.table["status"] == "complete"]
    # drawn from the whole corpus (catalog order is by folder: its first networks are all from one space)
    nets = np.random.default_rng(0).permutation(pd.unique(t["net_id"]))
    train_nets = set(nets[: min(N_TRAIN, len(nets) * 2 // 3)])
    tr = t[t["net_id"].isin(train_nets)]["id"]
    te = t[~t["net_id"].isin(train_nets)]["id"]
    return corpus.select(ids=tr), corpus.select(ids=te)


@pytest.fixture(scope="module")
def predictor(split):
    tr, _ = split
    return L.train_predictor(tr.curves, catalog=tr.table, cutoffs=GRID, calibration_folds=3)


def test_numpy_trees_predict_as_scikit_learn(split):
    from sklearn.ensemble import HistGradientBoostingRegressor

    tr, _ = split
    ts = L.training_set(tr.curves, tr.table, cutoffs=GRID)
    assert ts.X.shape == (ts.y.size, len(L.CURVE_FEATURES) + len(L.STRUCTURE_FEATURES))
    assert np.isnan(ts.X).any()  # missing features (val_acc at 10 epochs for a cut at 5) stay nan
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        m = HistGradientBoostingRegressor(
            loss="quantile", quantile=0.9, random_state=0, max_iter=30, early_stopping=False
        ).fit(ts.X, ts.y)
    assert np.allclose(predict_trees(export_trees(m), ts.X), m.predict(ts.X), atol=1e-9)


def test_predicts_held_out_networks(predictor, split):
    _, te = split
    assert predictor.target_epoch == 40.0 and predictor.structure
    assert predictor.datasets == ("FashionMNIST",)
    truth = te.table.set_index("id")["final_val_acc"]
    mae, inside = {}, []
    for cut in (2, 10, 20):
        part = te.curves[te.curves["epoch"] <= cut]
        r = predictor.predict(part, catalog=te.table)
        assert list(r.columns) == ["id", "cutoff", "predicted", "lower", "upper"]
        assert list(r["id"]) == list(pd.unique(part["id"])) and (r["cutoff"] == cut).all()
        assert ((r["lower"] <= r["predicted"]) & (r["predicted"] <= r["upper"])).all()
        assert r[["lower", "upper"]].stack().between(0, 100).all()
        y = truth.reindex(r["id"]).to_numpy()
        mae[cut] = float(np.abs(r["predicted"] - y).mean())
        inside += list((r["lower"] <= y) & (y <= r["upper"]))
    # more epochs seen, better predictions; and at 20 epochs within a few points
    assert mae[20] < mae[2] and mae[20] < 6.0, mae
    # the 80 % intervals hold about 80 % of the held-out truths (some 30 networks x 3 cut-offs)
    assert 0.65 <= np.mean(inside) <= 0.95, np.mean(inside)


def test_a_cut_off_between_grid_epochs_and_without_catalog(split):
    tr, te = split
    # as the published tables: no train_acc (a feature that is nan in every row)
    p = L.train_predictor(tr.curves.drop(columns="train_acc"), cutoffs=GRID, calibration_folds=3)
    assert not p.structure and p.features == L.CURVE_FEATURES
    r = p.predict(te.curves[te.curves["epoch"] <= 7.5])  # no catalog needed, cut at 7.5
    assert (r["cutoff"] == 7.5).all() and r["predicted"].notna().all()
    assert np.allclose(p.correction(7.5), p.correction(5.0))  # the grid epoch below


def test_save_and_load_give_the_same_predictions(predictor, split, tmp_path):
    _, te = split
    part = te.curves[te.curves["epoch"] <= 5]
    path = predictor.save(tmp_path / "p.npz")
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        head = json.loads(str(z["header"]))
        assert all(z[k].dtype != object for k in z.files)
    assert head["format"] == "nnlife-predictor" and head["target_epoch"] == 40.0
    assert head["format_version"] == 1  # the split kept the format: older files still load
    q = L.load_predictor(path)
    # the folds the corrections came from are recorded (fewer when there are fewer networks)
    assert head["calibration_folds"] == predictor.calibration_folds == q.calibration_folds
    assert 2 <= q.calibration_folds <= L.CALIBRATION_FOLDS
    pd.testing.assert_frame_equal(
        q.predict(part, catalog=te.table), predictor.predict(part, catalog=te.table)
    )


def test_a_file_in_the_first_format_loads(split, tmp_path):
    """A predictor file laid out as nnlife wrote them before the predictor's modules were split
    (format 1, spelled out here rather than written by ``Predictor.save``: a JSON header and the
    arrays "<model>.<array>" of scikit-learn's trees) loads and predicts as those trees do."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    tr, te = split
    ts = L.training_set(tr.curves, tr.table, cutoffs=GRID)
    f = list(ts.features)

    def anchor(X):  # the mean val_acc of the last 2 epochs, else the last value
        a = X[:, f.index("val_acc_last2")]
        return np.where(np.isfinite(a), a, X[:, f.index("val_acc_last")])

    assert not np.isnan(ts.X).all(axis=0).any()  # no all-nan column: the models see X as is
    models, arrays = {}, {}
    with threadpool_limits(1):
        for name, q in (("lower", 0.1), ("median", 0.5), ("upper", 0.9)):
            models[name] = HistGradientBoostingRegressor(
                loss="quantile", quantile=q, random_state=0, max_iter=12, early_stopping=False
            ).fit(ts.X, ts.y - anchor(ts.X))
            arrays.update({f"{name}.{k}": v for k, v in export_trees(models[name]).items()})
    corrections = [1.5, -0.5, 0.25, 0.0]  # points, at the grid's cut-offs
    header = {
        "format": "nnlife-predictor",
        "format_version": 1,
        "nnlife_version": "0.1.0",
        "target_epoch": 40.0,
        "features": f,
        "structure": True,
        "datasets": ["FashionMNIST"],
        "cutoffs": list(GRID),
        "corrections": corrections,
        "n_networks": int(np.unique(ts.ids).size),
        "n_groups": int(np.unique(ts.groups).size),
        "seed": 0,
        "level": 0.8,
        "quantiles": [0.1, 0.5, 0.9],
        "anchor": "val_acc_last2",
        "boosting": {"max_iter": 12},
    }
    path = tmp_path / "v1.npz"
    np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)
    p = nnlife.load_predictor(path)
    assert (p.target_epoch, p.cutoffs, p.corrections, p.structure) == (40.0, GRID, tuple(corrections), True)
    assert p.calibration_folds is None  # written before the folds were recorded
    # a format this nnlife does not know is refused by name
    np.savez_compressed(
        tmp_path / "v3.npz", header=np.array(json.dumps({**header, "format_version": 3})), **arrays
    )
    with pytest.raises(L.PredictorFileError, match="predictor format 3, this nnlife reads 1"):
        nnlife.load_predictor(tmp_path / "v3.npz")
    # predictions from 5 epochs against the scikit-learn models on the same features
    r = p.predict(te.curves[te.curves["epoch"] <= 5], catalog=te.table).set_index("id")
    rows = L.training_set(te.curves, te.table, cutoffs=(5.0,))
    a = anchor(rows.X)
    med = np.clip(a + models["median"].predict(rows.X), 0, 100)
    c5 = corrections[GRID.index(5.0)]  # the interval moves in by 0.5 points on each side
    lo = np.clip(np.minimum(a + models["lower"].predict(rows.X) - c5, med), 0, 100)
    hi = np.clip(np.maximum(a + models["upper"].predict(rows.X) + c5, med), 0, 100)
    got = r.loc[rows.ids]
    assert np.allclose(got["predicted"], med, atol=1e-9)
    assert np.allclose(got["lower"], lo, atol=1e-9) and np.allclose(got["upper"], hi, atol=1e-9)


class _Payload:
    """Unpickling this would run a command (what a crafted pickle does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


def test_a_crafted_file_cannot_run_code(predictor, tmp_path):
    marker = tmp_path / "pwned"
    good = predictor.save(tmp_path / "good.npz")
    bad = tmp_path / "bad.npz"
    with np.load(good, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["median.value"] = np.array([_Payload(marker)], dtype=object)  # a pickled object array
    np.savez(bad, **arrays)
    with pytest.raises(L.PredictorFileError, match="bad.npz"):
        L.load_predictor(bad)
    assert not marker.exists()
    # a pickle file renamed .npz, and a zip with a foreign header, are refused the same way
    import pickle

    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(L.PredictorFileError, match="pickle.npz"):
        L.load_predictor(tmp_path / "pickle.npz")
    # plain arrays of the wrong kind or pointing outside the model are refused before use
    with np.load(good, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for key, bad_value in (
        ("median.threshold", np.array(["x"])),
        ("upper.left", arrays["upper.left"] + 10**6),
    ):
        np.savez(tmp_path / "wrong.npz", **{**arrays, key: bad_value})
        with pytest.raises(L.PredictorFileError, match=f"bad '{key.split('.')[1]}' array"):
            L.load_predictor(tmp_path / "wrong.npz")
    np.savez(tmp_path / "other.npz", header=np.array(json.dumps({"format": "sklearn"})))
    with pytest.raises(L.PredictorFileError, match="not a saved nnlife predictor"):
        L.load_predictor(tmp_path / "other.npz")
    assert not marker.exists()
    assert zipfile.is_zipfile(good)
    with pytest.raises(FileNotFoundError):
        L.load_predictor(tmp_path / "missing.npz")


def test_bad_input_gives_errors_that_name_it(predictor, split, sample_paths):
    _, te = split
    part = te.curves[te.curves["epoch"] <= 5]
    with pytest.raises(ParameterError, match="curves is empty"):
        predictor.predict(part.iloc[:0], catalog=te.table)
    with pytest.raises(ParameterError, match="curves is empty"):
        L.train_predictor(part.iloc[:0])
    with pytest.raises(ParameterError, match="not before the predictor's target epoch 40"):
        predictor.predict(te.curves, catalog=te.table)  # complete: cut at 40
    one = str(part["id"].iloc[0])
    nan = part.assign(val_acc=np.where(part["id"] == one, np.nan, part["val_acc"]))
    with pytest.raises(ParameterError, match=one):
        predictor.predict(nan, catalog=te.table)
    with pytest.raises(ParameterError, match="CIFAR100"):
        predictor.predict(part.assign(dataset="CIFAR100"), catalog=te.table)
    with pytest.raises(ParameterError, match="catalog"):
        predictor.predict(part)  # trained with one
    with pytest.raises(ParameterError, match="before epoch 1"):
        predictor.predict(part[part["epoch"] <= 0.5], catalog=te.table)
    # the three published samples are CIFAR-100 (unseen) and too few to train on
    samples = nnlife.load_catalog([str(p) for p in sample_paths])
    with pytest.raises(ParameterError, match="CIFAR100"):
        predictor.predict(samples.curves[samples.curves["epoch"] <= 10], catalog=samples.table)
    with pytest.raises(ParameterError, match="too few networks to train a predictor"):
        L.train_predictor(samples.curves, catalog=samples.table)


def test_cross_fitting_never_predicts_a_network_it_was_trained_on(corpus):
    sub = corpus.select(ids=corpus.table["id"].iloc[:30])
    r = learned_predictions(
        sub.curves, catalog=sub.table, cutoffs=(5, 20), folds=2, grid=(5.0, 20.0), calibration_folds=2
    )
    assert set(r["cutoff"]) == {5.0, 20.0} and set(r["method"]) == {"learned"}
    net = sub.table.set_index("id")["net_id"]
    folds_per_net = r.assign(net=net.reindex(r["id"]).to_numpy()).groupby("net")["fold"].nunique()
    assert (folds_per_net == 1).all()  # all seeds of a network in one fold
    assert r["id"].nunique() == len(sub.table[sub.table["status"] == "complete"])
    assert ((r["lower"] <= r["predicted"]) & (r["predicted"] <= r["upper"])).all()


def test_the_learned_predictor_imports_no_torch(tmp_path):
    code = (
        "import sys, nnlife; import nnlife.analyse.learned, nnlife.analyse.crossfit, "
        "nnlife.analyse.early_stopping; c = nnlife.load_catalog(sys.argv[1]); "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'nnlife.generate'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code, str(REFERENCE)], check=True, cwd=tmp_path)


def test_prediction_benchmark_runs_the_learned_predictor_cross_fitted(corpus):
    sub = corpus.select(ids=corpus.table["id"].iloc[:16])
    r = nnlife.prediction_benchmark(
        sub.curves, cutoffs=(5, 20), methods=("last_value", "learned"), catalog=sub.table, folds=2
    )
    assert set(r["method"]) == {"last_value", "learned"} and {"lower", "upper"} <= set(r.columns)
    learned = r[r["method"] == "learned"]
    assert (
        learned[["lower", "upper"]].notna().all().all()
        and r.loc[r["method"] == "last_value", "lower"].isna().all()
    )
    # the same networks and cut-offs as the baseline
    key = lambda m: set(zip(r.loc[r["method"] == m, "id"], r.loc[r["method"] == m, "cutoff"]))  # noqa: E731
    assert key("learned") == key("last_value")
    with pytest.raises(ParameterError, match="unknown methods"):
        nnlife.prediction_benchmark(sub.curves, methods=("oracle",))


def test_public_names():
    assert nnlife.train_predictor is L.train_predictor and nnlife.load_predictor is L.load_predictor
    assert nnlife.Predictor is L.Predictor
    from nnlife.analyse.early_stopping import simulate_early_stopping

    assert nnlife.simulate_early_stopping is simulate_early_stopping

"""Structure features of a network, and rank correlations of features with fitness."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nnlife.errors import ParameterError
from nnlife.spec import ConvLayer, NetSpec, Pool, TrainSpec
from nnlife.structure import (
    CORRELATION_COLUMNS,
    POOLED,
    STRUCTURE_COLUMNS,
    bh_adjust,
    correlation_matrix,
    correlations,
    extremes,
    label,
    structure_features,
)


def test_features_of_a_small_network():
    net = NetSpec(
        input_shape=(1, 28, 28),
        conv=(ConvLayer(8, 3, 1, 1, pool=Pool(2, 2)), ConvLayer(16, 3, 1, 0, dropout=True)),
        fc=(32, 10),
        fc_dropout=(True,),
        conv_dropout_rate=0.25,
        fc_dropout_rate=0.5,
    )
    train = TrainSpec(
        dataset="fashionmnist", batch_size=64, learning_rate=0.05, momentum=0.9, epochs=10, seed=3
    )
    f = structure_features(net, train)
    assert tuple(f) == STRUCTURE_COLUMNS
    assert f["dataset"] == "FashionMNIST" and f["chance_acc"] == 10.0 and f["n_classes"] == 10
    assert (f["n_conv"], f["n_fc"], f["n_hidden_fc"]) == (2, 2, 1)
    # 28 -> conv k3 p1 -> 28 -> pool 2 -> 14 -> conv k3 p0 -> 12
    assert (f["final_size"], f["final_channels"], f["flat_features"]) == (12, 16, 16 * 12 * 12)
    # receptive field: 1 + 2 (conv1) + 1 (pool, jump 1) + 2 * 2 (conv2, jump 2) = 8 pixels
    assert f["receptive_field"] == 8 and f["rf_fraction"] == 8 / 28
    assert f["total_stride"] == 2
    assert (f["n_pool"], f["n_conv_dropout"], f["n_fc_dropout"]) == (1, 1, 1)
    assert (f["total_filters"], f["max_filters"], f["mean_kernel"], f["max_kernel"]) == (24, 16, 3.0, 3)
    assert f["hidden_fc_units"] == 32
    params = (3 * 3 * 1 * 8 + 8) + (3 * 3 * 8 * 16 + 16) + (2304 * 32 + 32) + (32 * 10 + 10)
    assert f["n_params"] == params == net.n_params
    assert f["flops_per_image"] == net.flops_per_image
    assert f["learning_rate"] == 0.05 and f["momentum"] == 0.9 and f["batch_size"] == 64
    assert np.isnan(f["train_size"]) and f["epochs"] == 10.0 and f["seed"] == 3
    assert f["net_id"] == net.id and f["architecture"] == net.canonical()


def test_labels_carry_units():
    assert label("receptive_field") == "receptive field (input pixels)"
    assert label("final_val_acc") == "final validation accuracy (%)"
    assert label("something_else") == "something else"


def test_bh_matches_scipy_and_skips_nan():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 1, 40), rng.uniform(0, 0.01, 10)])
    np.testing.assert_allclose(bh_adjust(p), stats.false_discovery_control(p, method="bh"))
    with_nan = np.insert(p, 3, np.nan)
    adj = bh_adjust(with_nan)
    assert np.isnan(adj[3])
    np.testing.assert_allclose(np.delete(adj, 3), stats.false_discovery_control(p, method="bh"))
    assert np.isnan(bh_adjust([np.nan])).all()


def _table(seed=0, n=60):
    """Three datasets; ``depth`` drives accuracy within every dataset; ``width`` only differs
    between datasets (high where accuracy is high), so its pooled correlation is spurious."""
    rng = np.random.default_rng(seed)
    rows = []
    for ds, base, width in (("CIFAR100", 20, 10), ("SVHN", 60, 100), ("FashionMNIST", 85, 1000)):
        depth = rng.integers(1, 6, n)
        acc = base + 2.0 * depth + rng.normal(0, 1.0, n)
        rows.append(
            pd.DataFrame(
                {
                    "dataset": ds,
                    "id": [f"{ds}{i}" for i in range(n)],
                    "depth": depth,
                    "width": width * rng.uniform(0.5, 1.5, n),
                    "noise": rng.normal(size=n),
                    "constant": 1.0,
                    "final_val_acc": acc,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_correlations_per_dataset_pooled_and_partial():
    t = _table()
    corr = correlations(t, features=["depth", "width", "noise", "constant"], targets=["final_val_acc"])
    assert tuple(corr.columns) == CORRELATION_COLUMNS
    # one row per scope x method x feature (x target), plus the partial rows
    assert len(corr) == 4 * 2 * 4 + 4
    assert set(corr["scope"]) == {"CIFAR100", "SVHN", "FashionMNIST", POOLED}
    r = corr.set_index(["scope", "method", "feature"])
    for ds in ("CIFAR100", "SVHN", "FashionMNIST"):
        sub = t[t["dataset"] == ds]
        rho = stats.spearmanr(sub["depth"], sub["final_val_acc"])
        tau = stats.kendalltau(sub["noise"], sub["final_val_acc"])
        assert r.loc[(ds, "spearman", "depth"), "r"] == pytest.approx(rho.statistic)
        assert r.loc[(ds, "spearman", "depth"), "p"] == pytest.approx(rho.pvalue)
        assert r.loc[(ds, "kendall", "noise"), "r"] == pytest.approx(tau.statistic)
        assert r.loc[(ds, "spearman", "depth"), "significant"]
        assert r.loc[(ds, "spearman", "depth"), "n"] == len(sub)
    # width: strong pooled correlation that vanishes once the dataset is controlled for
    assert r.loc[(POOLED, "spearman", "width"), "r"] > 0.7
    assert r.loc[(POOLED, "spearman", "width"), "significant"]
    assert abs(r.loc[(POOLED, "partial_spearman", "width"), "r"]) < 0.2
    assert not r.loc[(POOLED, "partial_spearman", "width"), "significant"]
    assert r.loc[(POOLED, "partial_spearman", "depth"), "r"] > 0.6
    # a constant feature has no correlation, and says why
    assert np.isnan(r.loc[("SVHN", "spearman", "constant"), "r"])
    assert r.loc[("SVHN", "spearman", "constant"), "note"] == "constant"
    assert np.isnan(r.loc[("SVHN", "spearman", "constant"), "p_bh"])
    # BH within each method: adjusted p-values are never below the raw ones
    ok = corr["p"].notna()
    assert (corr.loc[ok, "p_bh"] >= corr.loc[ok, "p"] - 1e-15).all()


def test_partial_spearman_equals_regression_on_dataset_dummies():
    """Reference: residuals of the pooled ranks regressed (least squares) on an intercept and
    the dataset dummies; Pearson r of the residuals."""
    t = _table(seed=1)
    corr = correlations(t, features=["depth", "width"], targets=["final_val_acc"], methods=("spearman",))
    dummies = pd.get_dummies(t["dataset"], drop_first=True).to_numpy(float)
    X = np.column_stack([np.ones(len(t)), dummies])
    for feature in ("depth", "width"):
        res = []
        for col in (feature, "final_val_acc"):
            y = stats.rankdata(t[col])
            beta, *_ = np.linalg.lstsq(X, y, rcond=None)
            res.append(y - X @ beta)
        expected = np.corrcoef(*res)[0, 1]
        got = corr[(corr["method"] == "partial_spearman") & (corr["feature"] == feature)]["r"].item()
        assert got == pytest.approx(expected, abs=1e-12)


def test_correlation_matrix_and_extremes():
    t = _table(seed=2, n=20)
    corr = correlations(t, features=["depth", "noise"], targets=["final_val_acc"])
    m = correlation_matrix(corr, "spearman", "final_val_acc")
    assert list(m.index) == ["depth", "noise"]
    assert list(m.columns)[-1] == POOLED and len(m.columns) == 4
    ex = extremes(t, "final_val_acc", n=3, columns=("id", "depth"))
    cifar = ex[ex["dataset"] == "CIFAR100"]
    assert cifar["rank"].tolist() == ["best 1", "best 2", "best 3", "worst 3", "worst 2", "worst 1"]
    accs = cifar["final_val_acc"].to_numpy()
    assert (np.diff(accs) <= 0).all()  # best first
    sub = t[t["dataset"] == "CIFAR100"]["final_val_acc"]
    assert accs[0] == sub.max() and accs[-1] == sub.min()


def test_correlations_reject_bad_input():
    t = _table(n=10)
    with pytest.raises(ParameterError, match="unknown correlation method"):
        correlations(t, features=["depth"], methods=("pearson",))
    with pytest.raises(ParameterError, match="no column"):
        correlations(t, features=["nope"])
    with pytest.raises(ParameterError, match="no rows"):
        correlations(t.iloc[:0], features=["depth"], targets=["final_val_acc"])

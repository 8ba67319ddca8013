"""Never-learning against learning networks: per-feature separation and a shallow tree, on the
reference corpus (data/reference) and the published samples."""

import numpy as np
import pytest

import nnlife
from conftest import ROOT
from nnlife.analyse.structure import (
    CONTRAST_COLUMNS,
    NEITHER,
    learning_contrast,
    learning_rules,
    never_learns,
)
from nnlife.errors import ParameterError

REFERENCE = ROOT / "data" / "reference"


@pytest.fixture(scope="module")
def corpus():
    return nnlife.load_catalog(REFERENCE, cache=False).table


def test_contrast_on_the_corpus(corpus):
    c = learning_contrast(corpus)
    assert tuple(c.columns) == CONTRAST_COLUMNS
    kept = corpus[~corpus["shape"].isin(NEITHER)]
    n_never = int((kept["shape"] == "no_learning").sum())
    assert n_never >= 3 and (c["n_never"] <= n_never).all() and (c["n_learn"] <= len(kept) - n_never).all()
    ok = c.dropna(subset=["auc"])
    assert len(ok) >= 10
    assert ((ok["auc"] >= 0) & (ok["auc"] <= 1)).all()
    assert np.allclose(ok["rank_biserial"], 2 * ok["auc"] - 1)
    assert (ok["p_bh"] >= ok["p"] - 1e-12).all()
    strength = c["rank_biserial"].abs().fillna(0).to_numpy()
    assert (np.diff(strength) <= 1e-12).all()  # strongest separation first
    # the medians are those of the groups
    lr = kept["learning_rate"].to_numpy(dtype=float)
    row = c.set_index("feature").loc["learning_rate"]
    assert row["median_never"] == pytest.approx(np.median(lr[kept["shape"].to_numpy() == "no_learning"]))


def test_a_feature_that_is_the_answer_separates_completely(corpus):
    t = corpus.assign(answer=never_learns(corpus).astype(float))
    c = learning_contrast(t, features=["answer", "learning_rate"]).set_index("feature")
    assert c.loc["answer", "auc"] == 1.0 and c.loc["answer", "rank_biserial"] == 1.0
    rules = learning_rules(t, features=["answer"])
    assert rules.balanced_accuracy == 1.0
    assert rules.rules["networks"].sum() == rules.n_never + rules.n_learn
    assert set(rules.rules["share"]) == {0.0, 1.0}


def test_rules_and_words_on_the_corpus(corpus):
    rules = learning_rules(corpus, seed=0)
    assert len(rules.features) == 4
    assert rules.rules["never_learning"].sum() == rules.n_never
    assert 0.5 <= rules.balanced_accuracy <= 1.0
    text = rules.describe(learning_contrast(corpus))
    assert f"{rules.n_never} of {rules.n_never + rules.n_learn} networks" in text
    assert rules.features[0] in text
    assert learning_rules(corpus, seed=0).rules.equals(rules.rules)  # seeded: the same tree


def test_bad_input(corpus, sample_paths):
    with pytest.raises(ParameterError, match="no column 'shape'"):
        learning_contrast(corpus.drop(columns=["shape"]))
    with pytest.raises(ParameterError, match="no column"):
        learning_contrast(corpus, features=["wobble"])
    learners = corpus[corpus["shape"] != "no_learning"]
    with pytest.raises(ParameterError, match="both groups"):
        learning_rules(learners, features=["learning_rate"])
    assert (learning_contrast(learners)["note"] == "no never-learning network").all()
    samples = nnlife.load_catalog(sample_paths, cache=False).table  # 1 of 3 never learns
    assert "never learn" in learning_rules(samples).describe()

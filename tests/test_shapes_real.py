"""The shape classes against labels given by eye to real curves (data/reference/shape-labels.csv)."""

import numpy as np
import pytest

import nnlife
from conftest import ROOT
from nnlife.analyse.shape_labels import agreement_for, describe_agreement, read_shape_labels, shape_agreement
from nnlife.analyse.shapes import classify_shapes
from nnlife.errors import ParameterError

REFERENCE = ROOT / "data" / "reference"
LABELS_FILE = REFERENCE / "shape-labels.csv"
SECOND_RATER = REFERENCE / "shape-labels-second-rater.csv"
# The agreement reached on the committed labels: 109 of 130 curves = 83.8 % with rising_slope
# 0.15 (2026-12-02; 80.8 % with the earlier 0.2 on the first 104). On the 55 labelled after the
# rules were first set, held out: 44 = 80.0 %. Cross-validated by leaving out one network's seeds
# at a time, the threshold chosen on the rest: 76.9 % of the first 104. A floor, a little under
# it, that fails if the rules regress. Two raters agree on 21 of 24 curves (87.5 %): the
# still_rising / saturating boundary and noisy rises (unstable or not) hold most disagreements,
# and are judgement calls for people too.
AGREEMENT_FLOOR = 0.8


@pytest.fixture(scope="module")
def labelled():
    labels = read_shape_labels(LABELS_FILE)
    cat = nnlife.load_catalog([REFERENCE / f for f in labels["file"]], cache=False)
    assert len(cat) == len(labels), "every labelled table must be in data/reference/"
    return labels, classify_shapes(cat.curves)


def test_labels_file_is_complete():
    labels = read_shape_labels(LABELS_FILE)
    assert len(labels) >= 130
    assert set(labels["label"]) >= {
        "diverged",
        "collapsed",
        "no_learning",
        "unstable",
        "overfitting",
        "still_rising",
        "saturating",
    }
    assert labels.loc[labels["label"] == "collapsed", "collapse_epoch"].notna().all()
    assert labels.loc[labels["label"] != "collapsed", "collapse_epoch"].isna().all()


def test_agreement_with_labels_by_eye(labelled):
    labels, classified = labelled
    a = shape_agreement(labels, classified)
    assert a.n == len(labels)
    assert a.agreement >= AGREEMENT_FLOOR, a.confusion
    # the classes that are unambiguous by eye are found on every labelled curve
    for cls in ("diverged", "collapsed", "overfitting", "unstable"):
        assert a.per_class.loc[cls, "agreement"] == 1.0, a.pairs[a.pairs["label"] == cls]
    # all but one: a paper-space run at chance with two single-record blips to 17 % near the end
    # (smoothed over one epoch, 13.5 %: above the 3-point margin, so the classifier says saturating)
    assert a.per_class.loc["no_learning", "agreement"] >= 0.9, a.pairs[a.pairs["label"] == "no_learning"]
    assert int(a.confusion.loc["all", "all"]) == len(labels)


def test_two_raters_bound_the_agreement(labelled):
    """The classifier agrees with the first rater about as often as a second rater does, on the
    curves both labelled (a classifier far below the raters' own agreement has a flaw; far above
    it, it would be fitting one rater's habits)."""
    labels, classified = labelled
    second = read_shape_labels(SECOND_RATER)
    assert len(second) >= 24 and set(second["id"]) <= set(labels["id"])
    first = labels.set_index("id").loc[second["id"]].reset_index()
    raters = shape_agreement(first, second.rename(columns={"label": "second"}), column="second")
    assert 0.8 <= raters.agreement < 1.0, raters.pairs  # 21 of 24
    ours = shape_agreement(first, classified)
    assert ours.agreement >= raters.agreement - 0.1, ours.pairs
    assert shape_agreement(second, classified).agreement >= raters.agreement - 0.1


def test_collapse_epoch_found_on_labelled_collapses(labelled):
    labels, classified = labelled
    got = classified.set_index("id")
    collapsed = labels[labels["label"] == "collapsed"]
    assert len(collapsed) >= 2
    for row in collapsed.itertuples():
        assert got.loc[row.id, "label"] == "collapsed"
        assert got.loc[row.id, "collapse_epoch"] == pytest.approx(row.collapse_epoch, abs=0.5)
    others = got.loc[labels.loc[labels["label"] != "collapsed", "id"], "collapse_epoch"]
    assert np.isnan(others.to_numpy(dtype=float)).all()


def test_the_old_rules_agreed_far_less(labelled):
    labels, classified = labelled
    cat = nnlife.load_catalog([REFERENCE / f for f in labels["file"]], cache=False)
    old = classify_shapes(
        cat.curves, unstable_min_drops=3, overfit_loss_rise=0.05, rising_slope=0.1, rising_frac=0.25
    )
    # 60 % against 84 % on the 130 labels (52.8 % against 88 % on the first 75)
    assert shape_agreement(labels, old).agreement <= shape_agreement(labels, classified).agreement - 0.15


def test_bad_labels(tmp_path):
    with pytest.raises(ParameterError, match="no shape-labels file"):
        read_shape_labels(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("# a comment\nid,file,label,collapse_epoch,note\na,a.txt,wobbly,,\n")
    with pytest.raises(ParameterError, match="unknown shape classes"):
        read_shape_labels(bad)


def test_labels_found_beside_the_tables(sample_paths):
    cat = nnlife.load_catalog([REFERENCE, *sample_paths], cache=False)
    for where in ([REFERENCE], [REFERENCE / "fmnist-small-4000-seed0"]):
        a = agreement_for(where, cat.table)
        assert a is not None and a.n == len(read_shape_labels(LABELS_FILE))
        assert f"of {a.n}** labelled curves" in describe_agreement(a)
    assert agreement_for(sample_paths, cat.table) is None  # the published samples carry no labels

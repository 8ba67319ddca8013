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
# The agreement reached on the committed labels: 219 of 254 curves = 86.2 % (2026-12-02, third
# session) with unstable_drop 8 / unstable_min_drops 4. Before that change (5 / 6), 109 of the first
# 130 = 83.8 %, and on the 124 labelled next, held out (labelled before the classifier ran on any
# of them): 101 = 81.5 %; the change was made after, on all 254 (so 86.2 % is in-sample); choosing
# the three thresholds on 4/5 of the networks and scoring the rest (5 folds by network, 5 draws):
# 85.0 %. A floor, a little under it, that fails if the rules regress. Two raters agree on 21 of
# 24 curves (87.5 %): the still_rising / saturating boundary and noisy rises (unstable or not)
# hold most disagreements, and are judgement calls for people too.
AGREEMENT_FLOOR = 0.84


@pytest.fixture(scope="module")
def labelled():
    labels = read_shape_labels(LABELS_FILE)
    cat = nnlife.load_catalog([REFERENCE / f for f in labels["file"]], cache=False)
    assert len(cat) == len(labels), "every labelled table must be in data/reference/"
    return labels, classify_shapes(cat.curves)


def test_labels_file_is_complete():
    labels = read_shape_labels(LABELS_FILE)
    assert len(labels) >= 254
    assert set(labels["label"]) >= {
        "peaked",
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
    for cls in ("diverged", "collapsed", "unstable"):
        assert a.per_class.loc[cls, "agreement"] == 1.0, a.pairs[a.pairs["label"] == cls]
    # all but one: a run that overfits and also dips by more than 8 points four times is unstable
    # first (the classes are tried in order)
    assert a.per_class.loc["overfitting", "agreement"] >= 0.95, a.pairs[a.pairs["label"] == "overfitting"]
    # all but two: paper-space runs at chance with one or two single-record blips to 17-18 %
    # (smoothed over one epoch, above the 3-point margin, so the classifier says saturating/peaked)
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
        cat.curves,
        unstable_drop=5.0,
        unstable_min_drops=3,
        overfit_loss_rise=0.05,
        rising_slope=0.1,
        rising_frac=0.25,
    )
    # 61 % against 86 % on the 254 labels (52.8 % against 88 % on the first 75)
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

import math

import numpy as np
import pandas as pd
import pytest

import nnlife
from nnlife import columns as C
from nnlife.errors import TableError
from nnlife.spec import ConvLayer, NetSpec, Pool, TrainSpec
from nnlife.table import Lifespan, curve_frame, format_table, parse_table


def test_samples_read_as_published(sample_paths):
    lives = {p.stem: nnlife.read_lifespan(p) for p in sample_paths}
    life = lives["2021_02_15_13_55_26_539263"]
    assert life.id == "2021_02_15_13_55_26_539263" and life.dataset == "CIFAR100"
    assert life.layout == "original" and life.status == "complete"
    assert len(life.curve) == 80
    assert life.curve[C.EPOCH].tolist() == [0.5 * i for i in range(1, 81)]
    assert life.curve[C.VAL_ACC].iloc[0] == 9.68 and life.curve[C.VAL_ACC].iloc[-1] == 26.35
    assert life.curve[C.TRAIN_ACC].isna().all()
    assert [c.filters for c in life.net.conv] == [301, 297, 345]
    assert [c.pool is not None for c in life.net.conv] == [True, True, False]
    assert life.net.fc == (100,) and life.net.fc_dropout == ()
    assert life.train.batch_size == 25 and life.train.seed == 2476382228
    assert life.train.device == "cuda" and life.train.deterministic is False
    # the network that never learns: 4-1-3 = dropout on layer 1, pool on layer 3, bit 1 kept raw
    dead = lives["2021_02_15_13_56_59_917381"].net
    assert [c.type_code for c in dead.conv] == [4, 1, 3]
    assert [c.dropout for c in dead.conv] == [True, False, False]
    assert dead.conv[2].pool == Pool(5, 4, 1)
    assert dead.fc == (145, 100) and dead.fc_dropout == (True,)
    third = lives["2021_02_15_14_01_32_105932"].net
    assert [c.pool for c in third.conv] == [None, Pool(1, 1, 0), Pool(10, 4, 4)]
    assert [c.dropout for c in third.conv] == [True, False, True]


def test_layer_types_bits_agree_with_samples(sample_paths):
    """bit 2 count = pooling entries; bit 4 present exactly when dropout_rate > 0."""
    for p in sample_paths:
        raw = pd.read_csv(p, sep=" ").iloc[0]
        types = [int(t) for t in str(raw["layer_types"]).split("-")]
        assert sum(bool(t & 2) for t in types) == len(str(raw["poolKernels"]).split("-"))
        assert any(t & 4 for t in types) == (float(raw["dropout_rate"]) > 0)


def test_samples_round_trip_byte_identical(sample_paths, tmp_path):
    for p in sample_paths:
        life = nnlife.read_lifespan(p)
        out = nnlife.write_lifespan(life, tmp_path / p.name)
        assert out.read_bytes() == p.read_bytes()


def test_nnlife_layout_round_trip_and_pandas_sees_original_columns(sample_paths, tmp_path):
    life = nnlife.read_lifespan(sample_paths[0])
    curve = life.curve.copy()
    curve[C.TRAIN_ACC] = np.linspace(1, 60, 80)
    curve[C.ELAPSED_S] = np.arange(80) * 1.25
    mine = Lifespan(
        id="na1-s7",
        net=life.net,
        train=life.train.replace(train_size=5000, subset_seed=3),
        curve=curve,
        meta={"nnlife_version": "0.1.0", "device_name": "Intel Xeon 2 cores"},
    )
    path = nnlife.write_lifespan(mine, tmp_path / "na1-s7.txt")
    back = nnlife.read_lifespan(path)
    assert back.layout == "nnlife" and back.id == "na1-s7"
    assert back.net == mine.net and back.train == mine.train
    assert back.meta == mine.meta
    pd.testing.assert_frame_equal(back.curve, mine.curve)  # floats exact
    assert format_table(back) == path.read_text()
    # the authors' reader gets the 28 original columns back unchanged
    ours, theirs = pd.read_csv(path, sep=" "), pd.read_csv(sample_paths[0], sep=" ")
    assert list(ours.columns[:28]) == list(C.ORIGINAL_COLUMNS)
    for col in C.ORIGINAL_COLUMNS:
        if col in ("ID",):
            continue
        if col == "epochs" or col in ("trainLoss", "valLoss", "valAcc"):
            pd.testing.assert_series_equal(ours[col], theirs[col])
    assert ours.loc[0, "trainAcc"] == 1.0 and ours["trainAcc"].notna().all()


def test_nan_and_inf_in_curves_survive(sample_paths, tmp_path):
    life = nnlife.read_lifespan(sample_paths[1])
    curve = life.curve.head(7).copy()
    curve.loc[6, [C.TRAIN_LOSS, C.VAL_LOSS, C.VAL_ACC]] = [math.inf, math.nan, math.nan]
    diverged = Lifespan(id="x-1", net=life.net, train=life.train, curve=curve, status="diverged")
    back = nnlife.read_lifespan(nnlife.write_lifespan(diverged, tmp_path / "x-1.txt"))
    assert back.status == "diverged" and len(back.curve) == 7
    assert math.isinf(back.curve[C.TRAIN_LOSS].iloc[6]) and math.isnan(back.curve[C.VAL_ACC].iloc[6])


def test_write_never_overwrites(sample_paths, tmp_path):
    life = nnlife.read_lifespan(sample_paths[0])
    target = tmp_path / "t.txt"
    target.write_text("precious")
    with pytest.raises(FileExistsError, match="does not overwrite"):
        nnlife.write_lifespan(life, target)
    assert target.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    nnlife.write_lifespan(life, target, overwrite=True)
    assert nnlife.read_lifespan(target).id == life.id


def _broken(sample, how):
    lines = sample.read_text().splitlines(keepends=True)
    if how == "missing column":
        lines[0] = lines[0].replace("valLoss ", "")
    elif how == "truncated last line":
        lines[-1] = lines[-1][:12]
    elif how == "non-numeric":
        lines[5] = lines[5].replace(lines[5].split(" ")[2], "abc", 1)
    elif how == "empty":
        lines = []
    elif how == "rows missing":
        del lines[40]
    elif how == "short table":
        lines = lines[:-2]
    return "".join(lines)


@pytest.mark.parametrize(
    "how, message",
    [
        ("missing column", "missing column\\(s\\) valLoss"),
        ("truncated last line", "line 81 has .* fields but the header has 28 \\(truncated last line\\?\\)"),
        ("non-numeric", "line 6, column valLoss: 'abc' is not a number"),
        ("empty", "the table is empty"),
        ("rows missing", "line 41: epoch 20.5 where 20.0 was expected"),
    ],
)
def test_malformed_tables_name_file_and_problem(sample_paths, tmp_path, how, message):
    bad = tmp_path / "bad.txt"
    bad.write_text(_broken(sample_paths[0], how))
    with pytest.raises(TableError, match=message) as err:
        nnlife.read_lifespan(bad)
    assert str(bad) in str(err.value)


def test_short_table_detected_against_its_plan(sample_paths, tmp_path):
    # original layout: the published plan (40 epochs, 80 rows) unless the caller states another
    short = tmp_path / "short.txt"
    short.write_text(_broken(sample_paths[0], "short table"))
    with pytest.raises(TableError, match="78 rows, but 40 epochs .* need 80"):
        nnlife.read_lifespan(short)
    assert len(nnlife.read_lifespan(short, expected_epochs=39).curve) == 78
    # nnlife layout: the plan is in the table, and a short complete table is broken
    life = nnlife.read_lifespan(sample_paths[0])
    text = format_table(Lifespan(id="a", net=life.net, train=life.train, curve=life.curve), "nnlife")
    cut = "".join(text.splitlines(keepends=True)[:-3])
    with pytest.raises(TableError, match="77 rows, but 40 epochs"):
        parse_table(cut, "cut.txt")


def test_impossible_network_in_table(sample_paths, tmp_path):
    text = sample_paths[0].read_text().replace(" 24-2-2 ", " 99-2-2 ", 1)
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(TableError, match="cannot work: conv layer 1: kernel 99"):
        nnlife.read_lifespan(bad)


def test_curve_frame_columns():
    f = curve_frame([0.5, 1.0], [2.0, 1.5], [2.1, 1.9], [10.0, 20.0])
    assert tuple(f.columns) == C.CURVE_COLUMNS and f[C.TRAIN_ACC].isna().all()


def test_new_lifespan_defaults_to_nnlife_layout(tmp_path):
    net = NetSpec((1, 28, 28), (ConvLayer(4, 3),), (10,))
    train = TrainSpec("FashionMNIST", 32, 0.1, epochs=1)
    life = Lifespan(
        id=f"{net.id}-s0",
        net=net,
        train=train,
        curve=curve_frame([0.5, 1.0], [2.0, 1.5], [2.1, 1.9], [10.0, 20.0], [9.0, 15.0], [1.0, 2.0]),
    )
    path = nnlife.write_lifespan(life, tmp_path / f"{life.id}.txt")
    header = path.read_text().splitlines()[0].split(" ")
    assert header[28:30] == ["trainAcc", "elapsed_s"] and "status" in header
    back = nnlife.read_lifespan(path)
    assert back.train == train and back.net == net

"""Reading and writing tables: impossible values, wrong row counts, odd files; and the good ones.

Bad tables are the real published samples (tests/fixtures/original-format) with one edit each,
or the same rewritten in nnlife's layout. Each must raise TableError naming the file and the
problem, and change nothing on disk.
"""

import math
import os
import shutil

import numpy as np
import pytest

import nnlife
from nnlife import columns as C
from nnlife.errors import NnlifeError, TableError
from nnlife.table import Lifespan

from .faultkit import (
    PUBLISHED,
    SMALLEST,
    expect_error,
    expect_isolated_error,
    expect_ok,
    keep_rows,
    nnlife_text,
    record,
    set_field,
    set_from,
)


def published() -> str:
    return SMALLEST.read_text()


def _output_of_10() -> str:
    """The sample's FCFilters with the output layer (100 units for CIFAR-100) cut to 10."""
    header, row = published().splitlines()[:2]
    fc = row.split(" ")[header.split(" ").index("FCFilters")]
    return "-".join(fc.split("-")[:-1] + ["10"])


# case id -> (text maker, strings the message must hold besides the path)
BAD_TABLES = {
    "epochs_planned_nan": (
        lambda: set_field(nnlife_text(), "epochs_planned", "nan"),
        ["epochs_planned", "nan"],
    ),
    "epochs_planned_inf": (
        lambda: set_field(nnlife_text(), "epochs_planned", "inf"),
        ["epochs_planned", "inf"],
    ),
    "epochs_planned_fraction_of_record": (
        lambda: set_field(nnlife_text(), "epochs_planned", "40.3"),
        ["40.3"],
    ),
    "published_cut_to_39_rows": (lambda: keep_rows(published(), 39), ["39", "80"]),
    "published_cut_to_40_rows": (lambda: keep_rows(published(), 40), ["40", "80"]),
    "nan_inside_trainLoss_of_a_full_curve": (
        lambda: set_field(published(), "trainLoss", "nan", row=30),
        ["trainLoss", "line 32"],
    ),
    "inf_inside_valLoss_then_finite": (
        lambda: set_field(published(), "valLoss", "inf", row=10),
        ["valLoss", "line 12"],
    ),
    "valAcc_negative": (lambda: set_field(published(), "valAcc", "-12.5", row=5), ["valAcc", "-12.5"]),
    "valAcc_250": (lambda: set_field(published(), "valAcc", "250", row=79), ["valAcc", "250"]),
    "trainAcc_500": (lambda: set_field(nnlife_text(), "trainAcc", "500", row=3), ["trainAcc", "500"]),
    "trainLoss_negative": (lambda: set_field(published(), "trainLoss", "-0.5", row=2), ["trainLoss", "-0.5"]),
    "valLoss_negative": (lambda: set_field(published(), "valLoss", "-3", row=0), ["valLoss", "-3"]),
    "cifar100_output_layer_of_10": (
        lambda: set_field(published(), "FCFilters", _output_of_10()),
        ["FCFilters", "100"],
    ),
    "nnlife_complete_but_nan_last_row": (
        lambda: set_field(nnlife_text(), "trainLoss", "nan", row=79),
        ["trainLoss", "diverged"],
    ),
    "nnlife_status_complete_10_of_80_rows": (lambda: keep_rows(nnlife_text(), 10), ["10", "80"]),
    "eval_interval_True": (
        lambda: set_field(nnlife_text(), "eval_interval", "True"),
        ["eval_interval", "True"],
    ),
    "id_escapes_the_folder": (lambda: set_field(published(), "ID", "../../x"), ["../../x"]),
    "id_with_a_slash": (lambda: set_field(published(), "ID", "a/b"), ["a/b"]),
    "random_seed_negative": (lambda: set_field(published(), "random_seed", "-1"), ["random_seed", "-1"]),
    "random_seed_fraction": (lambda: set_field(published(), "random_seed", "1.5"), ["random_seed", "1.5"]),
    "batch_size_zero": (lambda: set_field(published(), "batch_size", "0"), ["batch_size", "0"]),
    "learning_rate_nan": (lambda: set_field(published(), "learning_rate", "nan"), ["learning_rate", "nan"]),
    "deterministic_no": (
        lambda: set_field(published(), "torch_set_deterministic", "no"),
        ["torch_set_deterministic", "no"],
    ),
    "conv_filters_two_million": (
        lambda: set_field(published(), "convFilters", "2000000-297-345"),
        ["parameters", "limit"],
    ),
    "status_unknown": (lambda: set_field(nnlife_text(), "status", "finished"), ["status", "finished"]),
    "empty_file": (lambda: "", ["empty"]),
    "header_only": (lambda: published().splitlines()[0] + "\n", ["no data rows"]),
    "truncated_last_line": (lambda: published()[:-60], ["line 81"]),
    "valAcc_not_a_number": (lambda: set_field(published(), "valAcc", "abc", row=7), ["valAcc", "abc"]),
    "missing_column": (lambda: published().replace("valAcc", "valAccuracy", 1), ["valAcc"]),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_a_bad_table_is_refused_naming_the_file(tmp_path, case):
    make, names = BAD_TABLES[case]
    folder = tmp_path / "tables"
    folder.mkdir()
    path = folder / SMALLEST.name
    path.write_text(make())
    expect_error(lambda: nnlife.read_lifespan(path), TableError, [str(path), *names], tmp_path)


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 20)
    expect_error(lambda: nnlife.read_lifespan(path), TableError, [str(path), "UTF-8"], tmp_path)


def test_a_missing_table_is_refused(tmp_path):
    path = tmp_path / "nope.txt"
    expect_error(lambda: nnlife.read_lifespan(path), TableError, [str(path)], tmp_path)


def test_a_directory_is_refused(tmp_path):
    path = tmp_path / "dir.txt"
    path.mkdir()
    expect_error(lambda: nnlife.read_lifespan(path), TableError, [str(path), "directory"], tmp_path)


def test_dev_zero_is_refused(tmp_path):
    expect_isolated_error(
        "nnlife.read_lifespan('/dev/zero')", TableError, ["/dev/zero", "not a regular file"], tmp_path
    )


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)  # opening it for reading would block until a writer comes: never done
    expect_isolated_error(
        f"nnlife.read_lifespan({str(path)!r})", TableError, [str(path), "not a regular file"], tmp_path
    )


# --- good tables of the same families: they must stay good ---------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in PUBLISHED.glob("*.txt")))
def test_the_published_samples_read_as_complete_40_epoch_lifespans(name):
    life = expect_ok(lambda: nnlife.read_lifespan(PUBLISHED / name), PUBLISHED, "reads: 80 rows, complete")
    assert len(life.curve) == 80 and life.status == C.STATUS_COMPLETE and life.train.epochs == 40


def test_a_utf8_byte_order_mark_is_read(tmp_path):
    path = tmp_path / SMALLEST.name
    path.write_bytes(b"\xef\xbb\xbf" + SMALLEST.read_bytes())
    life = expect_ok(lambda: nnlife.read_lifespan(path), tmp_path, "reads (BOM skipped)")
    plain = nnlife.read_lifespan(SMALLEST)
    assert life.id == plain.id and life.net == plain.net and life.train == plain.train
    assert life.curve.equals(plain.curve)


def test_windows_line_ends_are_read(tmp_path):
    path = tmp_path / SMALLEST.name
    path.write_bytes(SMALLEST.read_bytes().replace(b"\n", b"\r\n"))
    life = expect_ok(lambda: nnlife.read_lifespan(path), tmp_path, "reads")
    assert life.curve.equals(nnlife.read_lifespan(SMALLEST).curve)


def test_accuracies_on_the_bounds_are_accepted(tmp_path):
    path = tmp_path / SMALLEST.name
    path.write_text(set_field(set_field(published(), "valAcc", "0", row=0), "valAcc", "100", row=1))
    life = expect_ok(lambda: nnlife.read_lifespan(path), tmp_path, "reads")
    assert life.curve[C.VAL_ACC].iloc[:2].tolist() == [0.0, 100.0]


def test_a_published_table_that_diverged_reads_as_diverged(tmp_path):
    """The published data holds tables whose losses turn non-finite and stay so (training went on
    for 40 epochs): a non-finite suffix marks the lifespan diverged from that row on."""
    path = tmp_path / SMALLEST.name
    text = set_from(
        set_from(set_from(published(), "trainLoss", "nan", 60), "valLoss", "nan", 60), "valAcc", "1.0", 60
    )
    path.write_text(text)
    life = expect_ok(lambda: nnlife.read_lifespan(path), tmp_path, "reads: status diverged")
    assert len(life.curve) == 80 and life.status == C.STATUS_DIVERGED
    assert np.isnan(life.curve[C.TRAIN_LOSS].iloc[60:]).all()


def test_a_stated_plan_reads_a_shorter_published_style_table(tmp_path):
    path = tmp_path / SMALLEST.name
    path.write_text(keep_rows(published(), 40))
    life = expect_ok(
        lambda: nnlife.read_lifespan(path, expected_epochs=20), tmp_path, "reads (20 epochs stated)"
    )
    assert len(life.curve) == 40 and life.train.epochs == 20


def test_a_diverged_nnlife_table_reads_back(tmp_path):
    life = nnlife.read_lifespan(SMALLEST)
    c = life.curve.iloc[:10].copy()
    c.loc[9, C.TRAIN_LOSS] = math.inf
    c.loc[9, C.VAL_LOSS] = math.nan
    short = Lifespan(
        id=life.id,
        net=life.net,
        train=life.train,
        curve=c,
        status=C.STATUS_DIVERGED,
        meta={"diverged_at": "5.0"},
        layout="nnlife",
    )
    path = tmp_path / "d.txt"
    nnlife.write_lifespan(short, path)
    back = expect_ok(lambda: nnlife.read_lifespan(path), tmp_path, "reads: 10 rows, diverged")
    assert back.status == C.STATUS_DIVERGED and len(back.curve) == 10


# --- writing ------------------------------------------------------------------------------------
def _life(**changes):
    life = nnlife.read_lifespan(SMALLEST)
    d = dict(
        id=life.id,
        net=life.net,
        train=life.train,
        curve=life.curve,
        status=life.status,
        meta=life.meta,
        layout="nnlife",
    )
    d.update(changes)
    return Lifespan(**d)


def test_writing_10_of_80_rows_as_complete_is_refused(tmp_path):
    life = _life(curve=nnlife.read_lifespan(SMALLEST).curve.iloc[:10].reset_index(drop=True))
    path = tmp_path / "out" / "t.txt"
    expect_error(lambda: nnlife.write_lifespan(life, path), TableError, [str(path), "10", "80"], tmp_path)


def test_writing_an_impossible_accuracy_is_refused(tmp_path):
    curve = nnlife.read_lifespan(SMALLEST).curve.copy()
    curve.loc[4, C.VAL_ACC] = 250.0
    path = tmp_path / "t.txt"
    expect_error(
        lambda: nnlife.write_lifespan(_life(curve=curve), path), TableError, [str(path), "250"], tmp_path
    )


def test_writing_a_negative_loss_is_refused(tmp_path):
    curve = nnlife.read_lifespan(SMALLEST).curve.copy()
    curve.loc[4, C.TRAIN_LOSS] = -1.0
    path = tmp_path / "t.txt"
    expect_error(
        lambda: nnlife.write_lifespan(_life(curve=curve), path), TableError, [str(path), "-1"], tmp_path
    )


def test_writing_an_id_that_escapes_the_folder_is_refused(tmp_path):
    path = tmp_path / "a" / "t.txt"
    expect_error(lambda: nnlife.write_lifespan(_life(id="../x"), path), TableError, ["../x"], tmp_path)


def test_writing_over_a_finished_table_is_refused(tmp_path):
    path = tmp_path / "t.txt"
    shutil.copy(SMALLEST, path)
    err = expect_error(lambda: nnlife.write_lifespan(_life(), path), NnlifeError, [str(path)], tmp_path)
    assert isinstance(err, FileExistsError)


def test_a_published_table_round_trips_in_both_layouts(tmp_path):
    life = nnlife.read_lifespan(SMALLEST)
    for layout in ("original", "nnlife"):
        path = nnlife.write_lifespan(life, tmp_path / layout / SMALLEST.name, layout=layout)
        back = nnlife.read_lifespan(path)
        assert back.net == life.net and back.train == life.train and back.curve.equals(life.curve)
    assert (tmp_path / "original" / SMALLEST.name).read_bytes() == SMALLEST.read_bytes()
    record("round trip, byte for byte in the original layout")

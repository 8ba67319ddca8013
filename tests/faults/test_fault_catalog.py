"""The catalog on hostile folders: symlink loops, dangling links, pipes, impossible tables, a
tampered cache, a table edited behind the cache's back; and the data folder is never written."""

import os
import warnings
from pathlib import Path

import pytest

import nnlife
from nnlife.errors import ParameterError

from .faultkit import (
    SMALLEST,
    assert_unchanged,
    copy_published,
    expect_error,
    keep_rows,
    record,
    set_field,
    snapshot,
)


@pytest.fixture
def data(tmp_path) -> Path:
    return copy_published(tmp_path / "data")


def _catalog(paths):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = nnlife.catalog(paths)
    return table, [str(w.message) for w in caught]


def test_the_catalog_writes_nothing_into_the_data_folder(data):
    before = snapshot(data)
    table, _ = _catalog(data)
    _catalog(data)  # the second call reads the cache
    assert len(table) == 3
    assert_unchanged(before, snapshot(data))
    record("cache under $NNLIFE_CACHE_DIR (default ~/.cache/nnlife), none in the data folder")


def test_a_symlink_loop_is_skipped_and_named(data):
    (data / "loop").symlink_to(".")
    before = snapshot(data)
    table, warned = _catalog(data)
    assert len(table) == 3
    assert any("loop" in w for w in warned), warned
    assert_unchanged(before, snapshot(data))
    record("3 tables; UserWarning names the loop")


def test_a_dangling_link_is_skipped_and_named(data):
    (data / "gone.txt").symlink_to(data / "nowhere.txt")
    table, warned = _catalog(data)
    assert len(table) == 3 and any("gone.txt" in w for w in warned), warned
    record("3 tables; UserWarning names the link")


def test_a_named_pipe_among_the_tables_is_skipped_without_blocking(data):
    os.mkfifo(data / "pipe.txt")
    table, warned = _catalog(data)
    assert len(table) == 3 and any("pipe.txt" in w for w in warned), warned
    record("3 tables; UserWarning names the pipe")


@pytest.mark.parametrize(
    "case, edit, reason",
    [
        ("cut_to_39_rows", lambda t: keep_rows(t, 39), "39"),
        ("valAcc_250", lambda t: set_field(t, "valAcc", "250", row=40), "250"),
        ("nan_inside_trainLoss", lambda t: set_field(t, "trainLoss", "nan", row=30), "trainLoss"),
    ],
)
def test_an_impossible_table_is_listed_as_broken_and_the_rest_read(data, case, edit, reason):
    bad = data / SMALLEST.name
    bad.write_text(edit(bad.read_text()))
    table, warned = _catalog(data)
    assert len(table) == 2 and SMALLEST.stem not in set(table["id"])
    broken = table.attrs["broken"]
    assert any(str(bad) in str(b) and reason in str(b) for b in broken), broken
    record("listed in broken (with the reason), the others read")


def test_a_tampered_cache_is_detected_and_rebuilt(data):
    import pyarrow.parquet as pq

    first, _ = _catalog(data)
    cache = Path(os.environ["NNLIFE_CACHE_DIR"])
    parquet = next(cache.rglob("table.parquet"))
    t = pq.read_table(parquet)
    df = t.to_pandas()
    df["best_val_acc"] = 99.0
    import pyarrow as pa

    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(t.schema.metadata), parquet
    )
    again, warned = _catalog(data)
    assert any("table.parquet" in w for w in warned), warned
    assert again["best_val_acc"].tolist() == first["best_val_acc"].tolist()
    record("UserWarning names the cache file; rebuilt from the tables")


def test_a_table_edited_keeping_size_and_mtime_is_read_again(data):
    first, _ = _catalog(data)
    path = data / SMALLEST.name
    st = path.stat()
    text = path.read_text()
    header, row = text.splitlines()[0].split(" "), text.splitlines()[80].split(" ")
    old = row[header.index("valAcc")]
    new = old[:-1] + ("1" if old[-1] != "1" else "2")  # the same length
    edited = set_field(text, "valAcc", new, row=79)
    assert len(edited) == len(text)
    path.write_text(edited)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    again, _ = _catalog(data)
    row_ = again.set_index("id").loc[SMALLEST.stem]
    assert row_["final_val_acc"] == pytest.approx(float(new))
    record("read again (its content hash differs from the cached one)")


def test_a_path_that_does_not_exist_is_refused(tmp_path):
    expect_error(lambda: nnlife.catalog(tmp_path / "nothing"), ParameterError, ["nothing"], tmp_path)

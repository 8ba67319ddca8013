"""The catalog: many tables (both layouts) as one DataFrame, its Parquet cache, broken tables.

Real data: the three published sample tables (tests/fixtures/original-format).
Fresh batches are written here with nnlife's own writer: specs drawn from nnlife's search space,
curves from nnlife.curves.synthetic_curves (no training needed to test the reading side).
"""

import importlib
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnlife
from conftest import FIXTURES
from nnlife import columns as C
from nnlife.analyse.catalog import CACHE_DIRNAME, cache_dir, catalog, find_tables, load_catalog
from nnlife.errors import ParameterError
from nnlife.generate.sampling import sample
from nnlife.table import Lifespan, curve_frame, write_lifespan

# the module that parses the tables of a folder (``nnlife.catalog`` is the function)
catmod = importlib.import_module("nnlife.analyse.cache")
ORIGINAL = FIXTURES / "original-format"


def write_batch(
    folder,
    n: int = 12,
    seed: int = 0,
    datasets=("FashionMNIST", "SVHN", "CIFAR100"),
    layout: str = "nnlife",
    prefix: str = "fake",
    n_epochs: int = 10,
) -> list[Path]:
    """Write ``n`` realistic lifespan tables into ``folder`` (nnlife's writer, no training).

    Specs come from the "paper" search space; curves from synthetic_curves (all of its shapes,
    diverged ones included: they stop early with status "diverged"). Returns the paths.
    """
    from nnlife.curves import synthetic_curves

    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        curves = synthetic_curves(n, n_epochs=n_epochs, seed=rng, datasets=datasets)
    paths = []
    for i, (_cid, c) in enumerate(curves.groupby("id", sort=True)):
        ds = c["dataset"].iloc[0]
        net, train = sample("paper", ds, seed=rng, epochs=n_epochs)
        diverged = len(c) < train.n_records
        life = Lifespan(
            id=f"{prefix}{i:03d}",
            net=net,
            train=train,
            curve=curve_frame(
                c[C.EPOCH],
                c[C.TRAIN_LOSS],
                c[C.VAL_LOSS],
                c[C.VAL_ACC],
                train_acc=c[C.TRAIN_ACC],
                elapsed_s=np.arange(1, len(c) + 1) * 1.5,
            ),
            status=C.STATUS_DIVERGED if diverged else C.STATUS_COMPLETE,
            meta={"kind": c["kind"].iloc[0]},
            layout=layout,
        )
        if layout == "original" and diverged:
            continue  # the published layout has no status column: a short table is incomplete
        paths.append(write_lifespan(life, Path(folder) / f"{life.id}.txt"))
    return paths


@pytest.fixture(autouse=True)
def _user_cache(tmp_path, monkeypatch):
    """Caches of read-only folders go to a temporary folder, not ~/.cache."""
    monkeypatch.setenv(catmod.CACHE_ENV, str(tmp_path / "user-cache"))


def test_published_samples(sample_paths):
    cat = load_catalog(ORIGINAL)
    t = cat.table.set_index("id")
    assert list(t.index) == [p.stem for p in sample_paths]
    assert (t["dataset"] == "CIFAR100").all() and (t["layout"] == "original").all()
    for p in sample_paths:
        life = nnlife.read_lifespan(p)
        row = t.loc[life.id]
        assert row["n_params"] == life.net.n_params
        assert row["flops_per_image"] == life.net.flops_per_image
        assert row["receptive_field"] == life.net.receptive_field()
        assert row["n_conv"] == len(life.net.conv) and row["n_fc"] == len(life.net.fc)
        assert row["final_size"] == life.net.feature_shapes()[-1][1]
        assert row["learning_rate"] == life.train.learning_rate
        assert row["batch_size"] == life.train.batch_size
        assert row["final_val_acc"] == life.curve[C.VAL_ACC].iloc[-1]
        assert row["best_val_acc"] == life.curve[C.VAL_ACC].max()
        assert row["path"] == str(p.resolve()) and row["source"] == "original-format"
        got = cat.curves[cat.curves["id"] == life.id].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(C.CURVE_COLUMNS)], life.curve, check_dtype=False)
    # pooling layers 2, 1, 2 and conv dropout layers 0, 1, 2 (layer_types 3-3-1, 4-1-3, 5-3-7)
    assert t["n_pool"].tolist() == [2, 1, 2]
    assert t["n_conv_dropout"].tolist() == [0, 1, 2]
    assert t.loc["2021_02_15_13_55_26_539263", "final_val_acc"] == 26.35
    # the shape class: the network that never learns is labelled so
    assert t.loc["2021_02_15_13_56_59_917381", "shape"] == "no_learning"
    from nnlife.shapes import classify_shapes

    direct = classify_shapes(cat.curves).set_index("id")
    assert (t["shape"] == direct.loc[t.index, "label"]).all()
    assert cat.broken == ()


def _read_only_copy(src: Path, dst: Path) -> Path:
    """A copy of the tables in ``src`` in a folder without write bits (files 0444, folder 0555).

    How nnlife decides "read-only" (nnlife.catalog._writable, seen through cache_dir): a folder
    whose mode has no write bit for anyone is read-only, even for root. Root ignores mode bits
    (os.access says root may write anywhere, and it really can), so the mode bits are the only
    sign a root process gets; a read-only mount (os.access fails with EROFS) or a folder owned by
    another user counts too, through os.access. The tests make their own folder, so the outcome
    never depends on whether the checkout or a fixture folder happens to be writable.
    """
    dst.mkdir()
    for p in sorted(src.glob("*.txt")):
        shutil.copy2(p, dst / p.name)
        (dst / p.name).chmod(0o444)
    dst.chmod(0o555)
    return dst


def test_read_only_folder_is_never_written(tmp_path):
    ro = _read_only_copy(ORIGINAL, tmp_path / "ro-samples")
    try:
        before = sorted(os.listdir(ro))
        assert len(load_catalog(ro)) == 3
        assert sorted(os.listdir(ro)) == before  # root could write there; nnlife must not
        assert not (ro / CACHE_DIRNAME).exists()
        where = cache_dir(ro)
        assert where.is_relative_to(tmp_path / "user-cache")
        assert (where / "table.parquet").exists() and (where / "manifest.json").exists()
        assert len(load_catalog(ro)) == 3 and sorted(os.listdir(ro)) == before  # from the cache
    finally:
        ro.chmod(0o755)
    # the same folder with a write bit again: the cache still stays out of it (data folders are shared)
    assert cache_dir(ro) == where
    load_catalog(ro)
    assert sorted(os.listdir(ro)) == before


def test_read_only_folder_without_a_writable_cache_still_catalogs(tmp_path, monkeypatch):
    """No cache can be written anywhere (the cache root lies under a plain file: not even root
    can make a folder there): the catalog is still built, uncached."""
    ro = _read_only_copy(ORIGINAL, tmp_path / "ro-samples")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(catmod.CACHE_ENV, str(blocker / "cache"))
    try:
        with pytest.warns(UserWarning, match="cannot write the cache .*continuing without it"):
            cat = load_catalog(ro)
        assert len(cat) == 3 and cat.broken == ()
        assert sorted(os.listdir(ro)) == sorted(p.name for p in ORIGINAL.glob("*.txt"))
        assert blocker.read_text() == "not a folder"
    finally:
        ro.chmod(0o755)


def test_mixed_layouts_folders_and_globs(tmp_path):
    fresh = write_batch(tmp_path / "batch-a", n=9, seed=1)
    orig = write_batch(tmp_path / "batch-b", n=6, seed=2, layout="original", prefix="old", n_epochs=40)
    cat = load_catalog([tmp_path / "batch-a", str(tmp_path / "batch-b" / "*.txt"), ORIGINAL])
    assert len(cat) == len(fresh) + len(orig) + 3
    assert set(cat.table["layout"]) == {"nnlife", "original"}
    assert cat.table["source"].value_counts().to_dict() == {
        "batch-a": len(fresh),
        "batch-b": len(orig),
        "original-format": 3,
    }
    # nnlife's tables record training accuracy and time; the published layout does not
    c = cat.curves.merge(cat.table[["id", "layout", "status"]], on="id")
    done = c[(c["layout"] == "nnlife") & (c["status"] == C.STATUS_COMPLETE)]
    assert len(done) and done[C.TRAIN_ACC].notna().all()
    assert c.loc[c["layout"] == "original", C.TRAIN_ACC].isna().all()
    assert len(cat.curves) == sum(len(nnlife.read_lifespan(p).curve) for p in fresh + orig) + 240
    assert list(cat.curves.columns) == list(catmod.CURVE_COLUMNS)
    # rows follow the order of the paths given
    assert cat.table["source"].iloc[0] == "batch-a" and cat.table["source"].iloc[-1] == "original-format"
    # a diverged lifespan keeps its short curve and its status
    div = cat.table[cat.table["status"] == C.STATUS_DIVERGED]
    for _, r in div.iterrows():
        assert (cat.curves["id"] == r["id"]).sum() == r["n_rows"] < 20
    # the same table named twice (folder and file) is read once
    again = load_catalog([tmp_path / "batch-a", fresh[0]])
    assert len(again) == len(fresh) and again.broken == ()
    # catalog(): the table alone, with the broken list in attrs
    df = catalog(tmp_path / "batch-a")
    assert len(df) == len(fresh) and df.attrs["broken"] == []


def test_broken_tables_are_reported_by_name_and_left_out(tmp_path):
    good = write_batch(tmp_path / "b", n=6, seed=3)
    text = good[0].read_text().splitlines()
    (tmp_path / "b" / "truncated.txt").write_text("\n".join(text[:5]) + "\n" + text[5][:20] + "\n")
    (tmp_path / "b" / "empty.txt").write_text("")
    (tmp_path / "b" / "notes.txt").write_text("not a table at all\n")
    shutil.copy(good[1], tmp_path / "b" / "zz-copy-of-one.txt")  # same id as fake001 (sorts after it)
    (tmp_path / "b" / "x.replay.txt").write_text("ignored: replays are not lifespans\n")
    with pytest.warns(UserWarning, match="left out 4 broken table"):
        cat = load_catalog(tmp_path / "b")
    assert len(cat) == len(good)
    broken = {Path(b.path).name: b.message for b in cat.broken}
    assert set(broken) == {"truncated.txt", "empty.txt", "notes.txt", "zz-copy-of-one.txt"}
    assert "truncated.txt" in broken["truncated.txt"] and "line" in broken["truncated.txt"]
    assert "empty" in broken["empty.txt"]
    assert "missing column" in broken["notes.txt"]
    assert "also the id of" in broken["zz-copy-of-one.txt"]
    # from the cache, the same tables are reported again (without reading them)
    with pytest.warns(UserWarning, match="left out 4 broken table"):
        again = load_catalog(tmp_path / "b")
    assert {Path(b.path).name for b in again.broken} == set(broken)
    assert cat.broken_frame().columns.tolist() == ["path", "message"]


def test_cache_is_reused_and_updated_incrementally(tmp_path, monkeypatch):
    paths = write_batch(tmp_path / "b", n=10, seed=4)
    parsed = []
    real = catmod._parse_many

    def spy(folder, names, expected_epochs, workers):
        parsed.append(sorted(names))
        return real(folder, names, expected_epochs, workers)

    monkeypatch.setattr(catmod, "_parse_many", spy)
    first = load_catalog(tmp_path / "b")
    assert len(parsed) == 1 and len(parsed[0]) == len(paths)
    assert (cache_dir(tmp_path / "b") / "curves.parquet").exists()
    assert not (tmp_path / "b" / CACHE_DIRNAME).exists()  # the data folder is not written
    second = load_catalog(tmp_path / "b")
    assert len(parsed) == 1  # nothing read again
    pd.testing.assert_frame_equal(second.table, first.table)
    pd.testing.assert_frame_equal(second.curves, first.curves)
    # one new table, one changed (rewritten with other values), one deleted
    new = write_batch(tmp_path / "new", n=1, seed=5, prefix="zz")[0]
    shutil.move(new, tmp_path / "b" / new.name)
    changed = paths[2]
    life = nnlife.read_lifespan(changed)
    curve = life.curve.copy()
    curve[C.VAL_ACC] = 42.0
    write_lifespan(
        Lifespan(life.id, life.net, life.train, curve, life.status, life.meta, life.layout),
        changed,
        overwrite=True,
    )
    paths[5].unlink()
    third = load_catalog(tmp_path / "b")
    assert parsed[-1] == sorted([new.name, changed.name])
    assert len(third) == len(paths)  # +1 new, -1 deleted
    assert paths[5].stem not in set(third.table["id"]) and new.stem in set(third.table["id"])
    assert third.table.set_index("id").loc[changed.stem, "final_val_acc"] == 42.0
    # the updated cache equals a build from scratch
    fresh = load_catalog(tmp_path / "b", cache=False)
    key = ["id"]
    pd.testing.assert_frame_equal(
        third.table.sort_values(key).reset_index(drop=True),
        fresh.table.sort_values(key).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(
        third.curves.sort_values(["id", "epoch"]).reset_index(drop=True),
        fresh.curves.sort_values(["id", "epoch"]).reset_index(drop=True),
    )


def test_a_damaged_cache_is_rebuilt(tmp_path):
    write_batch(tmp_path / "b", n=4, seed=6)
    first = load_catalog(tmp_path / "b")
    (cache_dir(tmp_path / "b") / "table.parquet").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="table.parquet is not the file nnlife wrote"):
        again = load_catalog(tmp_path / "b")
    pd.testing.assert_frame_equal(again.table, first.table)


def test_parallel_parse_gives_the_same_catalog(tmp_path, monkeypatch):
    write_batch(tmp_path / "b", n=12, seed=7)
    monkeypatch.setattr(catmod, "PARALLEL_MIN", 2)
    par = load_catalog(tmp_path / "b", cache=False, workers=2)
    ser = load_catalog(tmp_path / "b", cache=False, workers=1)
    pd.testing.assert_frame_equal(par.table, ser.table)
    pd.testing.assert_frame_equal(par.curves, ser.curves)


def test_paths_that_name_nothing_raise(tmp_path):
    with pytest.raises(ParameterError, match="no such file or folder"):
        load_catalog(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="holds no tables"):
        load_catalog(tmp_path / "empty")
    with pytest.raises(ParameterError, match="matches no file"):
        load_catalog(str(tmp_path / "*.txt"))
    with pytest.raises(ParameterError):
        load_catalog([])


def test_select_sample_and_summary(tmp_path):
    write_batch(tmp_path / "b", n=15, seed=8)
    cat = load_catalog([tmp_path / "b", ORIGINAL])
    cifar = cat.select(["cifar100"])
    assert set(cifar.table["dataset"]) == {"CIFAR100"}
    assert set(cifar.curves["id"]) == set(cifar.table["id"])
    few = cat.sample(4, seed=1)
    assert len(few) == 4 and set(few.curves["id"]) == set(few.table["id"])
    assert few.table["id"].tolist() == cat.sample(4, seed=1).table["id"].tolist()
    s = cat.summary()
    assert s.loc["all", "networks"] == len(cat)
    assert s.loc["CIFAR100", "networks"] == len(cifar)
    with pytest.raises(ParameterError, match="unknown dataset"):
        cat.select(["MNIST"])


def test_find_tables_skips_hidden_and_replays(tmp_path):
    write_batch(tmp_path / "b", n=3, seed=9)
    (tmp_path / "b" / ".hidden.txt").write_text("x")
    (tmp_path / "b" / "a.replay.txt").write_text("x")
    (tmp_path / "b" / "sub").mkdir()
    write_batch(tmp_path / "b" / "sub", n=2, seed=10, prefix="sub")
    names = sorted(p.name for p, _ in find_tables(tmp_path / "b"))
    assert names == sorted([f"fake{i:03d}.txt" for i in range(3)] + ["sub000.txt", "sub001.txt"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing broken: no warning
        assert len(load_catalog(tmp_path / "b")) == 5

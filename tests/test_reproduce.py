"""reproduce: a generate_batch table replays identically from the table alone; the thresholds;
the published samples (CIFAR-100, not available offline) stop with the missing-dataset message
before any training, and replay when the data is there."""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import nnlife
import nnlife.data
from conftest import FIXTURES
from nnlife import columns as C
from nnlife.batch import generate_batch
from nnlife.cli.reproduce import add_cli
from nnlife.errors import DatasetNotFoundError, ParameterError
from nnlife.generate.reproduce import Comparison, reproduce
from nnlife.report.lifespan import plot_replay
from nnlife.table import Lifespan

SAMPLE = FIXTURES / "original-format" / "2021_02_15_14_01_32_105932.txt"  # the smallest network


@pytest.fixture(scope="module")
def batch_table(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batches") / "fmnist-small-seed1"
    frame = generate_batch(
        out, "FashionMNIST", 1, seed=1, epochs=1, train_size=600, val_size=200, workers=1, progress=False
    )
    return Path(frame["path"].iloc[0])


def test_the_table_alone_carries_everything_a_rerun_needs(batch_table):
    first = pd.read_csv(batch_table, sep=" ").iloc[0]
    for column in (
        "eval_interval",
        "train_size",
        "val_size",
        "subset_seed",
        "val_source",
        "dataset_files",
        "device",
        "precision",
        "torch_set_deterministic",
        "nnlife_version",
        "torch_version",
        "random_seed",
        "epochs_planned",
        "drop_last_val",
    ):
        assert column in first.index and pd.notna(first[column]), column
    assert first["train_size"] == 600 and first["val_size"] == 200 and bool(first["torch_set_deterministic"])
    assert "8181f5470baa50b63fa0f6fddb340f0a" in first["dataset_files"]


def test_a_batch_table_replays_identically_on_cpu(batch_table):
    comp = reproduce(batch_table, device="cpu")
    assert isinstance(comp, Comparison)
    assert comp.verdict == "identical", comp.summary()
    assert set(comp.max_abs_diff) == {C.TRAIN_LOSS, C.TRAIN_ACC, C.VAL_LOSS, C.VAL_ACC}
    assert all(d == 0 for d in comp.max_abs_diff.values())
    assert len(comp.curves) == 2 and {"val_acc_table", "val_acc_replay"} <= set(comp.curves.columns)
    assert comp.curves["val_acc_table"].equals(comp.curves["val_acc_replay"])
    assert comp.replay_path == batch_table.with_name(batch_table.stem + ".replay.txt")
    replay = nnlife.read_lifespan(comp.replay_path)
    assert replay.meta["replay_of"] == comp.table.id
    assert "IDENTICAL" in comp.summary() and "2.0 points" in comp.summary()
    quick = reproduce(batch_table, device="cpu", epochs=0.5, save=False)  # the first half epoch only
    assert quick.verdict == "identical" and len(quick.curves) == 1 and quick.replay_path is None


@pytest.mark.parametrize("shift, verdict", [(0.5, "within noise"), (5.0, "different")])
def test_the_verdict_follows_the_stated_thresholds(batch_table, tmp_path, shift, verdict):
    life = nnlife.read_lifespan(batch_table)
    curve = life.curve.copy()
    curve.loc[1, C.VAL_ACC] += shift  # percentage points: 2.0 is the "within noise" bound
    edited = Lifespan(
        id=life.id, net=life.net, train=life.train, curve=curve, status=life.status, meta=life.meta
    )
    path = nnlife.write_lifespan(edited, tmp_path / batch_table.name)
    comp = reproduce(path, device="cpu")
    assert comp.verdict == verdict
    assert comp.max_abs_diff[C.VAL_ACC] == pytest.approx(shift)


def test_bad_epochs_are_refused(batch_table):
    with pytest.raises(ParameterError, match="eval_interval"):
        reproduce(batch_table, device="cpu", epochs=0.3)
    with pytest.raises(ParameterError, match="epochs"):
        reproduce(batch_table, device="cpu", epochs=5)


def cli(argv):
    parser = argparse.ArgumentParser(prog="nnlife")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_reproduce_command_on_a_batch_table(batch_table, tmp_path, capsys):
    figure = tmp_path / "replay.png"
    assert cli(["reproduce", str(batch_table), "--device", "cpu", "--quiet", "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "parameters" in out and "FLOPs per image" in out and "IDENTICAL" in out
    assert figure.stat().st_size > 1000


def test_a_published_sample_without_cifar100_stops_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNLIFE_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(nnlife.data, "REPO_ROOT", tmp_path)  # no copy in the checkout either

    def no_training(*args, **kwargs):
        raise AssertionError("training started although the dataset is missing")

    monkeypatch.setattr("nnlife.train.train_lifespan", no_training)
    with pytest.raises(DatasetNotFoundError, match="CIFAR100"):
        cli(["reproduce", str(SAMPLE), "--epochs", "1"])
    out = capsys.readouterr().out
    life = nnlife.read_lifespan(SAMPLE)
    assert f"{life.net.n_params:,} parameters" in out and f"{life.net.flops_per_image:,} FLOPs" in out
    assert "1,555,472 parameters" in out and "unknown" in out


def test_a_published_sample_replays_when_its_data_is_there(tmp_path, monkeypatch):
    # Stand-in for CIFAR-100: the five real images of each split of the fixture sample, repeated
    # to fill two batches of 152 (the network's batch size); the real files are not here.
    from nnlife.readers import parse_cifar_pickle

    splits = {
        s: parse_cifar_pickle((FIXTURES / "cifar-100-python-sample" / s).read_bytes())
        for s in ("train", "test")
    }
    reps = {"train": 61, "test": 31}
    x = {s: torch.from_numpy(np.tile(splits[s]["x"], (reps[s], 1, 1, 1))) for s in splits}
    y = {s: torch.from_numpy(np.tile(splits[s]["fine_labels"], reps[s])) for s in splits}
    stand_in = nnlife.data.Dataset(
        name="CIFAR100",
        train_x=x["train"],
        train_y=y["train"],
        val_x=x["test"],
        val_y=y["test"],
        n_classes=100,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        val_source="test",
        train_size=None,
        val_size=None,
        subset_seed=0,
        files={},
        root="fixture sample",
        verified=False,
    )
    asked = {}

    def load(name, **kwargs):
        asked.update(kwargs, name=name)
        return stand_in

    monkeypatch.setattr(nnlife.data, "load_dataset", load)
    comp = reproduce(SAMPLE, device="cpu", epochs=0.5, replay_path=tmp_path / "replay.txt")
    assert asked == {
        "name": "CIFAR100",
        "root": None,
        "train_size": None,
        "val_size": None,
        "seed": 0,
        "val_source": "test",
    }
    assert comp.verdict != "identical" and any("unknown" in n for n in comp.notes)
    assert comp.replay.train.drop_last_val  # validated as the original did
    assert C.TRAIN_ACC not in comp.max_abs_diff  # the published tables do not record it
    assert len(comp.curves) == 1 and np.isfinite(comp.curves["val_loss_replay"]).all()
    # 155 validation images in batches of 152: one whole batch of 152 is used
    acc = comp.replay.curve[C.VAL_ACC].iloc[0]
    assert acc * 152 / 100 == pytest.approx(round(acc * 152 / 100))
    fig = plot_replay(SAMPLE, tmp_path / "replay.txt")
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) == 2


def test_the_replay_figure_needs_no_torch(batch_table):
    """The explorer notebook (analysis side) draws replays: plot_replay must not import torch."""
    import subprocess
    import sys

    replay = batch_table.with_name(batch_table.stem + ".replay.txt")
    reproduce(batch_table, device="cpu", epochs=0.5, replay_path=replay)
    code = (
        "import sys, matplotlib\nmatplotlib.use('Agg')\nfrom nnlife.report.lifespan import plot_replay\n"
        f"fig = plot_replay({str(batch_table)!r}, {str(replay)!r})\n"
        "assert len(fig.axes[0].lines) == 2\nassert 'torch' not in sys.modules, 'torch imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

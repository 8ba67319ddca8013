"""Batches on real Fashion-MNIST subsets: one broken table never blocks a batch, manifests of wrong
shapes are refused (old single-run ones still read), two runs never train one folder twice, and
scripts read from standard input or without the __main__ guard work."""

import json
import os
import subprocess
import sys

import pytest

import nnlife
from nnlife.errors import ParameterError

from .faultkit import NNLIFE, expect_error, record, set_field

SMALL = dict(epochs=0.5, train_size=300, val_size=100)
CLI_SMALL = ["--epochs", "0.5", "--train-size", "300", "--val-size", "100", "--workers", "1", "--quiet"]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def batch(client, tmp_path_factory):
    """A finished batch of one network: (folder, table bytes, manifest)."""
    out = tmp_path_factory.mktemp("batch") / "fmnist-small-seed5"
    frame = nnlife.generate_batch(out, "FashionMNIST", 1, seed=5, scheduler=client, progress=False, **SMALL)
    path = frame["path"].iloc[0]
    with open(path, "rb") as f:
        table = f.read()
    return out, os.path.basename(path), table, json.loads((out / "manifest.json").read_text())


def _copy_batch(batch, tmp_path):
    src, name, table, manifest = batch
    out = tmp_path / src.name
    out.mkdir()
    (out / name).write_bytes(table)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out, name, table, manifest


def same_curve(path, table: bytes) -> bool:
    """Whether the table at ``path`` holds the curve of ``table`` (elapsed time aside)."""
    from nnlife.table import parse_table

    a, b = nnlife.read_lifespan(path), parse_table(table.decode(), "reference")
    cols = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
    return a.net == b.net and a.train == b.train and a.curve[cols].equals(b.curve[cols])


def _rerun(out, client):
    return nnlife.generate_batch(out, "FashionMNIST", 1, seed=5, scheduler=client, progress=False, **SMALL)


@pytest.mark.parametrize(
    "case, edit",
    [
        ("epochs_planned_nan", lambda t: set_field(t, "epochs_planned", "nan")),
        ("valAcc_250", lambda t: set_field(t, "valAcc", "250")),
        ("truncated", lambda t: t[:-20]),
    ],
)
def test_a_broken_table_is_moved_aside_and_trained_again(batch, client, tmp_path, case, edit):
    out, name, table, _ = _copy_batch(batch, tmp_path)
    broken = edit(table.decode())
    (out / name).write_text(broken)
    frame = _rerun(out, client)
    assert frame["trained"].all() and (frame["status"] == "complete").all()
    aside = [p for p in out.iterdir() if p.name.startswith(name + ".broken-")]
    assert len(aside) == 1 and aside[0].read_text() == broken  # nothing written is lost
    assert same_curve(out / name, table)  # deterministic: the same curve
    record("moved aside to .broken-<time>, retrained")


def test_a_table_replaced_by_a_folder_is_moved_aside(batch, client, tmp_path):
    out, name, table, _ = _copy_batch(batch, tmp_path)
    (out / name).unlink()
    (out / name).mkdir()
    (out / name / "keep.me").write_text("mine")
    frame = _rerun(out, client)
    assert frame["trained"].all()
    aside = [p for p in out.iterdir() if p.name.startswith(name + ".broken-")]
    assert len(aside) == 1 and (aside[0] / "keep.me").read_text() == "mine"
    assert same_curve(out / name, table)
    record("moved aside to .broken-<time>, retrained")


def test_a_finished_batch_is_not_trained_again(batch, client, tmp_path):
    out, name, table, _ = _copy_batch(batch, tmp_path)
    frame = _rerun(out, client)
    assert not frame["trained"].any() and (out / name).read_bytes() == table
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert len(runs) == 2 and runs[-1]["to_train"] == 0
    record("kept, nothing trained; manifest keeps both runs")


@pytest.mark.parametrize(
    "case, edit",
    [
        ("parameters_a_list", lambda m: {**m, "parameters": []}),
        ("runs_a_dict", lambda m: {**m, "runs": {}}),
        ("runs_holding_a_string", lambda m: {**m, "runs": ["yesterday"]}),
        ("manifest_a_list", lambda m: [m]),
        ("not_json", None),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_refused(batch, tmp_path, case, edit):
    out, name, table, manifest = _copy_batch(batch, tmp_path)
    path = out / "manifest.json"
    path.write_text("{not json" if edit is None else json.dumps(edit(manifest)))
    expect_error(
        lambda: nnlife.generate_batch(out, "FashionMNIST", 1, seed=5, workers=1, progress=False, **SMALL),
        ParameterError,
        [str(path)],
        tmp_path,
    )


def test_an_old_single_run_manifest_still_reads(batch, client, tmp_path):
    out, name, table, manifest = _copy_batch(batch, tmp_path)
    run = manifest["runs"][0]
    old = {k: v for k, v in manifest.items() if k != "runs"}
    old.update({"started": run["started"], "finished": run["finished"], "host": run["host"]})
    (out / "manifest.json").write_text(json.dumps(old))
    frame = _rerun(out, client)
    assert not frame["trained"].any()
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert len(runs) == 2 and runs[0]["started"] == run["started"]
    record("reads; the old run is kept as the first of the runs list")


def test_two_runs_started_together_train_each_network_once(tmp_path):
    """Both wait for the folder's lock (--wait): one trains the batch, the other finds it done."""
    out = tmp_path / "together"
    cmd = [str(NNLIFE), "generate", str(out), "--networks", "2", "--seed", "9", *CLI_SMALL, "--wait"]
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=400) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert len(runs) == 2
    assert sorted(r["trained"] for r in runs) == [0, 2] and sum(r["to_train"] for r in runs) == 2
    record("the second waits for the lock; 2 trainings for 2 tables; manifest keeps both runs")


SCRIPT = """
import nnlife
frame = nnlife.generate_batch({out!r}, "FashionMNIST", 1, seed=2, epochs=0.5, train_size=300,
                              val_size=100, workers=1, progress=False)
print("TABLES", int(frame["trained"].sum()))
"""


def test_a_script_read_from_standard_input_can_generate(tmp_path):
    out = tmp_path / "stdin-batch"
    r = subprocess.run(
        [sys.executable, "-"],
        input=SCRIPT.format(out=str(out)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert r.returncode == 0 and "TABLES 1" in r.stdout, r.stderr[-3000:]
    assert len(list(out.glob("*.txt"))) == 1
    record("works (the main module is hidden from the workers)")


def test_a_script_without_the_main_guard_can_generate(tmp_path):
    out = tmp_path / "unguarded-batch"
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT.format(out=str(out)))
    r = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=400
    )
    assert r.returncode == 0 and r.stdout.count("TABLES 1") == 1, r.stderr[-3000:]
    assert "Traceback" not in r.stderr and len(list(out.glob("*.txt"))) == 1
    record("works (the main module is not re-run in the workers)")

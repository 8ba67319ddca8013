"""generate_batch on Dask with real Fashion-MNIST subsets: tables, manifest, skipping finished
tables, redoing broken ones, surviving a killed batch and a killed worker, bad parameters,
dask-jobqueue job scripts and the ``nnlife generate`` command."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

import nnlife
from conftest import ROOT
from nnlife import columns as C
from nnlife.batch import MANIFEST, add_cli, generate_batch, job_script, jobqueue_cluster, plan_batch
from nnlife.errors import ParameterError

SMALL = dict(epochs=1, train_size=600, val_size=200)


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, shared by this module's batches (their dataset
    cache survives from batch to batch, as on a long-lived cluster)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
    )
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def tables(folder):
    return sorted(p for p in folder.glob("*.txt") if not p.name.endswith(".replay.txt"))


def test_batch_writes_one_table_per_lifespan_and_a_manifest(client, tmp_path):
    out = tmp_path / "fmnist-small-seed3"
    frame = generate_batch(
        out, "fashionmnist", 2, seed=3, seeds_per_network=2, scheduler=client, progress=False, **SMALL
    )
    assert len(frame) == 4 and frame["trained"].all() and (frame["status"] == "complete").all()
    assert frame["net_id"].nunique() == 2  # two networks, two seeds each
    assert frame.groupby("net_id")["seed"].nunique().tolist() == [2, 2]
    paths = tables(out)
    assert [p.stem for p in paths] == sorted(frame["id"])
    for path in paths:
        life = nnlife.read_lifespan(path)
        assert life.id == path.stem and life.id == f"{life.net.id}-s{life.train.seed}"
        assert len(life.curve) == 2 and life.train.train_size == 600 and life.train.deterministic
        assert life.meta["batch_seed"] == "3" and life.meta["network_index"] in ("0", "1")
        df = pd.read_csv(path, sep=" ")
        assert list(df.columns[:28]) == list(C.ORIGINAL_COLUMNS) and len(df) == 2
        assert df["valAcc"].tolist() == life.curve[C.VAL_ACC].tolist()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["parameters"]["n_networks"] == 2 and manifest["parameters"]["seed"] == 3
    assert manifest["parameters"]["dataset"] == "FashionMNIST"
    assert manifest["nnlife_version"] == nnlife.__version__ and manifest["torch_version"]
    assert manifest["host"] and manifest["started"] and manifest["finished"]
    assert sorted(x["id"] for x in manifest["lifespans"]) == sorted(frame["id"])

    # the same batch again: nothing to train, nothing rewritten
    stamps = {p: p.stat().st_mtime_ns for p in paths}
    again = generate_batch(
        out, "FashionMNIST", 2, seed=3, seeds_per_network=2, scheduler=client, progress=False, **SMALL
    )
    assert not again["trained"].any() and again["id"].tolist() == frame["id"].tolist()
    assert {p: p.stat().st_mtime_ns for p in paths} == stamps
    assert len(json.loads((out / MANIFEST).read_text())["runs"]) == 2


def test_a_second_run_redoes_only_missing_and_broken_tables(client, tmp_path):
    out = tmp_path / "b"
    first = generate_batch(out, "FashionMNIST", 3, scheduler=client, progress=False, **SMALL)
    paths = tables(out)
    originals = {p.name: nnlife.read_lifespan(p).curve for p in paths}
    missing, truncated, kept = paths
    missing.unlink()
    text = truncated.read_text()
    truncated.write_text(text[: len(text) // 2])  # a table cut off mid-line
    kept_bytes = kept.read_bytes()
    progress = []
    frame = generate_batch(
        out,
        "FashionMNIST",
        3,
        scheduler=client,
        progress=lambda done, total, s: progress.append((done, total)),
        **SMALL,
    )
    assert sorted(frame.loc[frame["trained"], "id"]) == sorted([missing.stem, truncated.stem])
    assert progress[-1] == (3, 3) and len(progress) == 2
    assert kept.read_bytes() == kept_bytes
    broken = list(out.glob(f"{truncated.name}.broken-*"))
    assert len(broken) == 1 and broken[0].read_text() == text[: len(text) // 2]  # kept, not deleted
    values = [C.TRAIN_LOSS, C.TRAIN_ACC, C.VAL_LOSS, C.VAL_ACC]
    for p in (missing, truncated):  # deterministic: retrained on another worker, the same curve
        assert nnlife.read_lifespan(p).curve[values].equals(originals[p.name][values])
    assert first["id"].tolist() == frame["id"].tolist()


def test_weights_beside_the_table_and_no_checkpoint_left_behind(client, tmp_path):
    out = tmp_path / "w"
    frame = generate_batch(
        out,
        "FashionMNIST",
        1,
        scheduler=client,
        progress=False,
        save_weights=True,
        checkpoint_every=0.5,
        **SMALL,
    )
    table = out / f"{frame['id'].iloc[0]}.txt"
    weights = out / f"{frame['id'].iloc[0]}.weights.pt"
    assert weights.exists() and nnlife.read_lifespan(table).meta["weights"] == weights.name
    assert not list((out / "checkpoints").glob("*"))  # removed once the table is written


def test_a_worker_killed_mid_lifespan_has_its_task_run_again(client, tmp_path):
    out = tmp_path / "killed-worker"
    result = {}
    run = threading.Thread(
        target=lambda: result.update(
            frame=generate_batch(
                out,
                "FashionMNIST",
                2,
                scheduler=client,
                progress=False,
                epochs=2,
                train_size=3000,
                val_size=500,
            )
        )
    )
    run.start()
    pids = client.run(os.getpid)
    victim = None
    for _ in range(1200):  # wait until a worker is training
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:
            victim = busy[0]
            break
        time.sleep(0.05)
    assert victim is not None
    os.kill(pids[victim], signal.SIGKILL)  # the nanny starts a new worker
    run.join(timeout=300)
    assert not run.is_alive()
    frame = result["frame"]
    assert (frame["status"] == "complete").all() and len(tables(out)) == 2


def test_killing_the_batch_loses_no_finished_table(client, tmp_path):
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "nnlife.cli",
        "generate",
        str(out),
        "--networks",
        "6",
        "--epochs",
        "1",
        "--train-size",
        "600",
        "--val-size",
        "200",
        "--workers",
        "1",
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(3000):
            if tables(out) or proc.poll() is not None:
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, at once
    finally:
        proc.wait()
    finished = {p.name: p.read_bytes() for p in tables(out)}
    assert 1 <= len(finished) < 6, proc.stderr.read().decode()[-2000:]
    for name in finished:
        nnlife.read_lifespan(out / name)  # every table there is whole
    frame = generate_batch(out, "FashionMNIST", 6, scheduler=client, progress=False, **SMALL)
    assert len(frame) == 6 and (frame["status"] == "complete").all()
    assert set(frame.loc[~frame["trained"], "id"] + ".txt") == set(finished)
    assert {n: (out / n).read_bytes() for n in finished} == finished


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dataset="MNIST"), "unknown dataset"),
        (dict(space="huge"), "unknown search space"),
        (dict(n_networks=0), "n_networks"),
        (dict(epochs=0), "epochs"),
        (dict(epochs=-2), "epochs"),
        (dict(eval_interval=0.3), "does not split an epoch"),
        (dict(epochs=1.25), "eval interval"),
        (dict(train_size=100), "training images"),  # too few for any sampled batch size
        (dict(train_size=70000), "train_size"),
        (dict(workers=0), "workers"),
        (dict(scheduler=42), "scheduler"),
        (dict(scheduler={"jobqueue": "nope"}), "jobqueue"),
    ],
)
def test_bad_parameters_fail_before_anything_runs(tmp_path, kwargs, message):
    args = dict(
        out_dir=tmp_path / "out",
        dataset="FashionMNIST",
        n_networks=2,
        epochs=1,
        train_size=600,
        val_size=200,
        progress=False,
    )
    args.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        generate_batch(**args)
    assert not (tmp_path / "out" / MANIFEST).exists()
    assert not list(tmp_path.rglob("*.txt"))


def test_an_unwritable_out_dir_and_a_different_batch_in_the_folder_are_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ParameterError, match="cannot be written"):
        generate_batch(blocker / "batch", "FashionMNIST", 1, progress=False, **SMALL)
    out = tmp_path / "batch"
    out.mkdir()
    manifest = {
        "parameters": {
            "dataset": "FashionMNIST",
            "n_networks": 1,
            "space": "small",
            "seed": 0,
            "epochs": 40,
            "seeds_per_network": 1,
            "train_size": 600,
            "val_size": 200,
            "eval_interval": 0.5,
            "subset_seed": 0,
            "val_source": "test",
            "deterministic": True,
        }
    }
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ParameterError, match="epochs 40"):
        generate_batch(out, "FashionMNIST", 1, progress=False, **SMALL)
    assert json.loads((out / MANIFEST).read_text()) == manifest  # the earlier manifest is kept


def test_networks_and_seeds_are_derived_from_the_batch_seed(tmp_path):
    a = plan_batch(tmp_path, "FashionMNIST", 3, seed=5, epochs=1, seeds_per_network=2)
    b = plan_batch(tmp_path, "FashionMNIST", 4, seed=5, epochs=1, seeds_per_network=2)
    assert [j.id for j in a] == [j.id for j in b][:6]  # network i depends on (seed, i) only
    net, train = nnlife.sample("small", "FashionMNIST", seed=np.random.default_rng([5, 0]))
    assert a[0].id == f"{net.id}-s{train.seed}" and a[1].id.startswith(net.id + "-s")
    assert a[0].id != a[1].id
    c = plan_batch(tmp_path, "FashionMNIST", 3, seed=6, epochs=1)
    assert {j.id for j in c}.isdisjoint({j.id for j in a})


SLURM = {
    "jobqueue": "slurm",
    "cores": 2,
    "memory": "8GB",
    "walltime": "02:00:00",
    "queue": "gpu",
    "jobs": 10,
    "job_extra_directives": ["--gres=gpu:1"],
    "job_script_prologue": ["source /opt/nnlife/.venv/bin/activate"],
}


def test_jobqueue_job_scripts_build_without_a_batch_system(tmp_path):
    script = job_script(SLURM)
    assert script.startswith("#!/usr/bin/env bash")
    for line in (
        "#SBATCH -p gpu",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH -t 02:00:00",
        "#SBATCH --gres=gpu:1",
        "source /opt/nnlife/.venv/bin/activate",
        "--nthreads 1",
        "--nworkers 2",
    ):
        assert line in script, line
    yaml_file = tmp_path / "pbs.yaml"
    yaml_file.write_text("jobqueue: pbs\ncores: 1\nmemory: 4GB\nwalltime: '01:00:00'\nqueue: batch\n")
    pbs = job_script(yaml_file)
    assert "#PBS -q batch" in pbs and "walltime=01:00:00" in pbs and "--nthreads 1" in pbs
    cluster = jobqueue_cluster(dict(SLURM, scheduler_options={"dashboard_address": None}))  # no job submitted
    try:
        assert "#SBATCH --gres=gpu:1" in cluster.job_script()
        assert len(cluster.workers) == 0
    finally:
        cluster.close()
    with pytest.raises(ParameterError, match="rejects"):
        job_script({"jobqueue": "slurm", "memory": "4GB", "no_such_option": 1})


def test_generate_command_line(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="nnlife")
    add_cli(parser.add_subparsers(dest="command"))
    yaml_file = tmp_path / "slurm.yaml"
    yaml_file.write_text("jobqueue: slurm\nmemory: 4GB\nwalltime: '00:30:00'\n")
    args = parser.parse_args(
        ["generate", str(tmp_path / "x"), "--networks", "2", "--scheduler", str(yaml_file), "--job-script"]
    )
    assert args.func(args) == 0
    assert "#SBATCH -t 00:30:00" in capsys.readouterr().out
    args = parser.parse_args(["generate", str(tmp_path / "x"), "--networks", "0"])
    with pytest.raises(ParameterError, match="n_networks"):
        args.func(args)

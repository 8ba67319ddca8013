"""The `nnlife` command on bad inputs: exit status 2, one line on stderr naming the input, no
traceback, nothing written; checks before any training. And the good uses of the same commands."""

import os
import shutil
import socket

import pytest

from .faultkit import cli, copy_published, expect_cli_error, record, set_field

SMALL = [
    "--networks",
    "1",
    "--epochs",
    "0.5",
    "--train-size",
    "300",
    "--val-size",
    "100",
    "--workers",
    "1",
    "--quiet",
]


@pytest.fixture
def cwd(tmp_path):
    d = tmp_path / "cwd"
    d.mkdir()
    return d


# --- nnlife reproduce ------------------------------------------------------------------------------
def test_reproduce_a_directory(tmp_path, cwd):
    d = tmp_path / "folder.txt"
    d.mkdir()
    expect_cli_error(["reproduce", d, "--quiet"], [str(d), "directory"], tmp_path, cwd)


def test_reproduce_dev_zero(tmp_path, cwd):
    expect_cli_error(
        ["reproduce", "/dev/zero", "--quiet"], ["/dev/zero", "not a regular file"], tmp_path, cwd
    )


def test_reproduce_a_named_pipe_does_not_hang(tmp_path, cwd):
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    expect_cli_error(
        ["reproduce", pipe, "--quiet"], [str(pipe), "not a regular file"], tmp_path, cwd, timeout=60
    )


def test_reproduce_a_missing_table(tmp_path, cwd):
    expect_cli_error(["reproduce", tmp_path / "nope.txt"], ["nope.txt"], tmp_path, cwd)


def test_reproduce_an_id_that_escapes_the_folder_stops_before_training(tmp_path, cwd, fmnist_table):
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    table = deep / "t.txt"
    table.write_text(set_field(fmnist_table.read_text(), "ID", "../../x"))
    expect_cli_error(
        ["reproduce", table, "--epochs", "0.5", "--device", "cpu", "--quiet"], ["../../x"], tmp_path, cwd
    )


def test_reproduce_plot_into_a_missing_folder_stops_before_training(tmp_path, cwd, fmnist_table):
    table = tmp_path / fmnist_table.name
    shutil.copy(fmnist_table, table)
    plot = tmp_path / "missing" / "replay.png"
    expect_cli_error(
        ["reproduce", table, "--plot", plot, "--device", "cpu", "--quiet"], [str(plot.parent)], tmp_path, cwd
    )


def test_reproduce_a_network_too_large_to_build_stops_before_torch(tmp_path, cwd, fmnist_table):
    table = tmp_path / fmnist_table.name
    text = fmnist_table.read_text()
    filters = text.splitlines()[1].split(" ")[text.splitlines()[0].split(" ").index("convFilters")]
    huge = "-".join(["2000000"] + filters.split("-")[1:])
    table.write_text(set_field(text, "convFilters", huge))
    expect_cli_error(["reproduce", table, "--device", "cpu", "--quiet"], [str(table), "limit"], tmp_path, cwd)


def test_reproduce_bad_epochs(tmp_path, cwd, fmnist_table):
    table = tmp_path / fmnist_table.name
    shutil.copy(fmnist_table, table)
    expect_cli_error(["reproduce", table, "--epochs", "0.3", "--quiet"], ["0.3"], tmp_path, cwd)


def test_reproduce_a_real_table_replays_it(tmp_path, cwd, fmnist_table):
    table = tmp_path / fmnist_table.name
    shutil.copy(fmnist_table, table)
    plot = tmp_path / "replay.png"
    r = cli(["reproduce", table, "--epochs", "0.5", "--device", "cpu", "--plot", plot, "--quiet"], cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "IDENTICAL" in r.stdout and plot.is_file()
    assert (tmp_path / (table.stem + ".replay.txt")).is_file()
    record("exit 0, replay identical")


# --- nnlife report --------------------------------------------------------------------------------
def test_report_out_naming_a_file(tmp_path, cwd):
    data = copy_published(tmp_path / "data")
    out = tmp_path / "report.html"
    out.write_text("not a folder")
    expect_cli_error(["report", data, "--out", out], [str(out), "not a folder"], tmp_path, cwd)


def test_report_of_a_missing_folder(tmp_path, cwd):
    expect_cli_error(["report", tmp_path / "nothing", "--out", tmp_path / "r"], ["nothing"], tmp_path, cwd)


# --- nnlife generate (refusals that need no training) ----------------------------------------------
def test_generate_into_an_empty_path(tmp_path, cwd):
    expect_cli_error(["generate", "", *SMALL], ["OUT_DIR", "''"], tmp_path, cwd)


def test_generate_impossible_epochs(tmp_path, cwd):
    """(nan, 0, -1, bad seeds and datasets: in-process, test_fault_specs; each CLI start costs seconds)"""
    expect_cli_error(
        ["generate", tmp_path / "b", *SMALL, "--epochs", "inf"], ["epochs", "inf"], tmp_path, cwd
    )


def test_generate_with_an_unreachable_scheduler(tmp_path, cwd):
    expect_cli_error(
        ["generate", tmp_path / "b", *SMALL, "--scheduler", "tcp://127.0.0.1:1"],
        ["tcp://127.0.0.1:1"],
        tmp_path,
        cwd,
        timeout=120,
    )


def test_generate_on_a_folder_in_use_refuses_naming_the_other_process(tmp_path, cwd):
    """Another process holds the batch folder's lock (here: this test, as a running batch does)."""
    import fcntl
    import json

    out = tmp_path / "b"
    out.mkdir()
    lock = out / ".nnlife-batch.lock"
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}, f)
        f.flush()
        expect_cli_error(
            ["generate", out, *SMALL], [f"pid {os.getpid()}", socket.gethostname()], tmp_path, cwd
        )

"""``make demo``: its report covers the fresh batch together with the reference corpus, the batch
it trains is the batch it reports on and adds networks the corpus does not have, and ``nnlife
report --parameter`` reaches the notebooks (a real run of the prediction page on corpus tables)."""

import ast
import glob
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from test_catalog import write_batch

import nnlife
from conftest import ROOT
from nnlife.cli import report as report_cli
from nnlife.errors import ParameterError
from nnlife.report import runner as report

REFERENCE = ROOT / "data" / "reference"


def demo_commands(**variables) -> list:
    """The commands ``make demo`` runs (``make -n``: printed, not run), each split into words."""
    over = [f"{k}={v}" for k, v in variables.items()]
    res = subprocess.run(
        ["make", "-n", "-s", "demo", *over], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    return [shlex.split(line) for line in res.stdout.splitlines() if line.strip()]


def command_of(commands, program: str) -> list:
    found = [c for c in commands if Path(c[0]).name == program and not c[0].startswith("echo")]
    assert len(found) == 1, f"make demo runs {program} {len(found)} times: {commands}"
    return found[0]


def report_args(words: list):
    """``nnlife report ...`` words as the command line parses them."""
    import argparse

    p = argparse.ArgumentParser()
    report_cli.add_cli(p.add_subparsers())
    return p.parse_args(words[words.index("report") :])


def papermill_parameters(words: list) -> dict:
    return {words[k + 1]: words[k + 2] for k, w in enumerate(words) if w in ("-p", "--parameters")}


def fake_execute(ran):
    def run(src, dst, parameters, kernel_name="python3", cwd=None, timeout_s=None):
        ran.append((Path(src).stem, parameters))
        shutil.copy(src, dst)
        return Path(dst)

    return run


def test_demo_reports_the_fresh_batch_and_the_reference_corpus(tmp_path, monkeypatch, capsys):
    batch = tmp_path / "demo-batch"
    write_batch(batch, n=6, seed=3, datasets=("FashionMNIST",))
    args = report_args(command_of(demo_commands(DEMO_BATCH=batch, REPORTS=tmp_path / "r"), "nnlife"))
    assert args.data == [str(batch), "data/reference"]
    ran = []
    monkeypatch.setattr(report, "execute_notebook", fake_execute(ran))
    monkeypatch.chdir(ROOT)  # make runs in the checkout: data/reference is relative to it
    assert args.func(args) == 0
    n_ref = len(nnlife.load_catalog(str(REFERENCE)))
    assert n_ref >= 50  # the corpus is there (scripts/make-reference.sh)
    # every table of both, none left out as a duplicate of the other
    assert f"nnlife report: {6 + n_ref} lifespans, 0 broken table(s) left out" in capsys.readouterr().err
    assert [name for name, _ in ran] == list(report.NOTEBOOKS)
    for _, params in ran:
        assert params["data"] == [str(batch), str(REFERENCE)]
        assert params["out"] == str(tmp_path / "r")


def test_the_demo_trains_the_batch_it_reports_on_with_networks_new_to_the_corpus():
    from nnlife.generate.plan import plan_batch

    commands = demo_commands()
    given = papermill_parameters(command_of(commands, "papermill"))
    args = report_args(command_of(commands, "nnlife"))
    assert given["out_dir"] == args.data[0]  # the folder trained is the folder reported
    nb = ROOT / "notebooks" / "01-generate-batch.ipynb"
    p = {k: ast.literal_eval(d) for k, (_t, d, _h) in report.notebook_parameters(nb).items()}
    p.update({k: type(p[k])(v) for k, v in given.items()})
    jobs = plan_batch(
        "/nonexistent",
        p["dataset"],
        p["n_networks"],
        space=p["space"],
        seed=p["seed"],
        epochs=p["epochs"],
        seeds_per_network=p["seeds_per_network"],
        train_size=p["train_size"],
        val_size=p["val_size"],
    )
    demo = {j.id.split("-")[0] for j in jobs}
    corpus = {Path(t).name.split("-")[0] for t in glob.glob(str(REFERENCE / "*" / "*.txt"))}
    for m in glob.glob(str(REFERENCE / "*" / "manifest.json")):  # planned, not only finished
        corpus |= {life["net_id"] for life in json.loads(Path(m).read_text())["lifespans"]}
    assert len(demo) == p["n_networks"] and len(corpus) >= 50
    assert demo.isdisjoint(corpus), sorted(demo & corpus)


def test_parameters_reach_the_notebooks_that_declare_them(tmp_path, monkeypatch):
    batch = tmp_path / "batch"
    write_batch(batch, n=4, seed=5)
    words = ["report", str(batch), "--out", str(tmp_path / "r"), "-p", "penguin_networks", "7"]
    words += ["--parameter", "cutoffs", "[2, 5]", "-p", "seed", "3"]
    given = {"penguin_networks": 7, "cutoffs": [2, 5], "seed": 3}
    ran = []
    monkeypatch.setattr(report, "execute_notebook", fake_execute(ran))
    args = report_args(words)
    assert args.func(args) == 0
    for name, params in ran:
        declared = set(report.notebook_parameters(report.notebook_dir() / f"{name}.ipynb"))
        mine = {k: v for k, v in given.items() if k in declared}
        assert {k: params[k] for k in set(params) - {"data", "datasets", "out"}} == mine
    assert dict(ran)["05-early-prediction"]["penguin_networks"] == 7
    assert report_cli.parameter_value("[2, 5]") == [2, 5] and report_cli.parameter_value("true") is True
    assert report_cli.parameter_value("val_acc") == "val_acc"  # a string needs no quotes
    bad = report_args(["report", str(batch), "--out", str(tmp_path / "r2"), "-p", "penguin_network", "7"])
    with pytest.raises(ParameterError, match=r"has the parameter\(s\) \['penguin_network'\]"):
        bad.func(bad)


def test_prediction_page_on_corpus_tables_states_its_settings_and_sample(tmp_path, capsys):
    """A real run of the prediction page through the command line, on 12 corpus networks and a
    network trained with several seeds: its settings and PENGUIN's sample are on the page."""
    data = tmp_path / "corpus-part"
    data.mkdir()
    small = sorted(glob.glob(str(REFERENCE / "fmnist-small-4000-seed0" / "*.txt")))[:12]
    seeds = sorted(glob.glob(str(REFERENCE / "fmnist-small-seeds3-seed1" / "*.txt")))
    for t in small + seeds:
        shutil.copy(t, data)
    n = len(small) + len(seeds)
    words = ["report", str(data), "--out", str(tmp_path / "r"), "--notebooks", "05-early-prediction"]
    for k, v in {"cutoffs": "[2, 5]", "folds": "2", "penguin_networks": "3", "n_orders": "2"}.items():
        words += ["-p", k, v]
    args = report_args(words)
    assert args.func(args) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "r" / "05-early-prediction.html")]
    nb = nbformat.read(tmp_path / "r" / "05-early-prediction.ipynb", as_version=4)
    text = json.dumps([o for c in nb.cells for o in c.get("outputs", [])])
    assert "cut-offs at 2, 5 epochs; 2 cross-validation folds grouped by network" in text
    assert f"PENGUIN ran on a seeded random sample of 3 of the {n} networks" in text
    assert "No network here was trained with several seeds" not in text  # the seed-variance floor
    assert "No replay" not in text and "No predictions" not in text
    html = (tmp_path / "r" / "05-early-prediction.html").read_text()
    assert html.count("data:image/png;base64,") >= 4  # methods x cut-offs twice, seeds, savings


# The first records of the demo batch's diverged network (seed 2's n382f304391, as trained here):
# epoch, val_loss (nats). Its loss explodes from the first half epoch, then turns NaN.
EXPLODED = ((0.5, 1.047618e08), (1.0, 2.198530e15), (1.5, 1.198046e25), (2.0, 5.627276e30))


def test_an_exploding_loss_leaves_the_axis_not_the_other_curves():
    """The demo's loss panel beside the corpus: one diverged run must not squash the corpus's
    curves to a line at zero; the panel says what left its axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from nnlife.report.curves import plot_curves_by_dataset

    cat = nnlife.load_catalog(str(REFERENCE / "fmnist-small-4000-seed0"))
    corpus = cat.curves[["id", "dataset", "epoch", "val_loss", "val_acc"]]
    # the corpus has exploding runs of its own (a network that collapses with a val_loss of ~4e21):
    # they leave the axis too, and the rest is the bulk to keep whole
    peak = corpus.groupby("id")["val_loss"].max()
    wild = peak[peak > 100.0]
    assert len(wild) >= 1
    title = plot_curves_by_dataset(corpus, "val_loss").axes[0].get_title()
    assert title.endswith(f"{len(wild)} off the top (up to {wild.max():.2g})"), title
    real = corpus[~corpus["id"].isin(wild.index)]
    boom = pd.DataFrame(EXPLODED, columns=["epoch", "val_loss"]).assign(
        id="diverged", dataset="FashionMNIST", val_acc=10.0
    )
    both = pd.concat([real, boom], ignore_index=True)
    ax = plot_curves_by_dataset(both, "val_loss").axes[0]
    top = float(real["val_loss"].max())
    assert top <= ax.get_ylim()[1] < 1.2 * top  # every real curve whole, the bulk readable
    assert ax.get_title().endswith("1 off the top (up to 5.6e+30)")
    for frame, metric in ((real, "val_loss"), (both, "val_acc")):  # nothing to cut: untouched
        assert "off the top" not in plot_curves_by_dataset(frame, metric).axes[0].get_title()
    plt.close("all")

"""Progress where people wait: the batch's plain-text progress lines (nnlife.generate.progress),
in the terminal of a papermill run of the generation notebook and in the notebook itself."""

import io
import os
import re
import subprocess
import sys

import nbformat

from conftest import ROOT
from nnlife.generate.progress import ProgressLines, clock_text

NOTEBOOK = ROOT / "notebooks" / "01-generate-batch.ipynb"


class FakeClock:
    """Seconds that the test sets (no real time is measured)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_clock_text():
    assert [clock_text(s) for s in (0, 9.6, 61, 3599, 3600, 7325)] == [
        "0:00",
        "0:10",
        "1:01",
        "59:59",
        "1:00:00",
        "2:02:05",
    ]


def test_lines_count_done_of_planned_with_elapsed_and_left():
    out, clock = io.StringIO(), FakeClock()
    p = ProgressLines("b", total=6, initial=2, stream=out, clock=clock)
    clock.now += 30
    p({"status": "complete"})
    clock.now += 30
    p({"status": "diverged"})
    p(None)
    assert out.getvalue().splitlines() == [
        "b: 2 of 6 lifespans done, 4 to train",
        "b: 3 of 6 lifespans done (0 diverged, 0 failed), elapsed 0:30, about 1:30 left",
        "b: 4 of 6 lifespans done (1 diverged, 0 failed), elapsed 1:00, about 1:00 left",
        "b: 4 of 6 lifespans done in 1:00 (1 diverged, 0 failed)",
    ]


def test_nothing_to_train_says_so():
    out = io.StringIO()
    p = ProgressLines("b", total=3, initial=3, stream=out, clock=FakeClock())
    p(None)
    assert out.getvalue() == "b: all 3 lifespans done already\n"


def test_a_papermill_run_of_the_generation_notebook_shows_progress_in_the_terminal(tmp_path):
    """papermill as people run it (no --log-output): the progress lines reach papermill's own
    stderr, the terminal, while the batch trains, and the executed notebook keeps them too."""
    out = tmp_path / "batch"
    params = dict(n_networks=2, epochs=1, train_size=600, val_size=200, workers=2, out_dir=str(out))
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        "--no-progress-bar",
        "--cwd",
        str(tmp_path),
        str(NOTEBOOK),
        str(tmp_path / "run.ipynb"),
    ]
    for k, v in params.items():
        cmd += ["-p", k, str(v)]
    # as people run it: ipykernel copies the kernel's stderr into the notebook only when it does
    # not run under pytest (it checks PYTEST_CURRENT_TEST, which the subprocess would inherit)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [line for line in res.stderr.splitlines() if line.startswith("batch: ")]
    assert lines[0] == "batch: 0 of 2 lifespans done, 2 to train", res.stderr[-3000:]
    assert re.fullmatch(
        r"batch: 1 of 2 lifespans done \(0 diverged, 0 failed\), elapsed \d+:\d\d, "
        r"about \d+:\d\d left",
        lines[1],
    ), lines
    assert re.fullmatch(
        r"batch: 2 of 2 lifespans done \(0 diverged, 0 failed\), elapsed \d+:\d\d, "
        r"about 0:00 left",
        lines[2],
    ), lines
    assert re.fullmatch(r"batch: 2 of 2 lifespans done in \d+:\d\d \(0 diverged, 0 failed\)", lines[3]), lines
    nb = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    stderr = "".join(
        o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"
    )
    assert [line for line in lines if line not in stderr] == [], stderr

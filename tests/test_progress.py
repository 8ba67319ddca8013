"""Progress where people wait: the batch's plain-text progress lines (nnlife.generate.progress),
in the terminal of a papermill run of the generation notebook and in the notebook itself."""

import io

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

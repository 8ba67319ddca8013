"""A batch's progress as plain-text lines on the process's stderr, for people waiting at a terminal.

``generate_batch(..., progress="lines")`` (and the generation notebook, whose ``progress``
parameter defaults to it) writes one line when the batch starts and one per finished lifespan::

    demo-fashionmnist-small-seed0: 2 of 6 lifespans done (0 diverged, 0 failed), elapsed 0:41, about 1:22 left

Where the lines go: the process's own standard error (``sys.__stderr__``). For ``nnlife generate``
that is the terminal. In a Jupyter kernel it is the terminal that started the kernel, for example
the one running ``papermill`` or ``make demo``; ipykernel also copies what is written there into
the notebook, as the cell's stderr output (it captures the kernel's file descriptors and forwards
them to both places; not when ``PYTEST_CURRENT_TEST`` is set, as under pytest), so a notebook run
in JupyterLab shows the same lines. A widget or a
``\\r``-redrawn bar would show in one place only, and not at all in a log file.

The time left is the mean time per lifespan finished in this run times the lifespans still to
come (lifespans train side by side, so this is wall time per lifespan, not training time).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def clock_text(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour) of a non-negative number of seconds."""
    s = int(round(max(0.0, seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressLines:
    """Call with each finished lifespan's summary (a dict with ``status``), None at the end."""

    def __init__(
        self,
        label: str,
        total: int,
        initial: int = 0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label  # the batch's name, at the start of every line
        self.total = total  # lifespans planned in the batch
        self.initial = initial  # lifespans already finished before this run
        self.done = initial  # lifespans finished so far (before this run and in it)
        self.counts = {"diverged": 0, "failed": 0}
        self._stream = stream
        self._clock = clock
        self._start = clock()  # seconds on ``clock`` when the run started
        self._closed = False
        todo = total - initial
        self._write(
            f"{self.done} of {total} lifespans done, {todo} to train"
            if todo
            else f"all {total} lifespans done already"
        )

    def _write(self, text: str) -> None:
        stream = self._stream or sys.__stderr__ or sys.stderr
        stream.write(f"{self.label}: {text}\n")
        stream.flush()

    def __call__(self, summary) -> None:
        if summary is None:
            if not self._closed and self.done > self.initial:
                self._write(
                    f"{self.done} of {self.total} lifespans done in "
                    f"{clock_text(self._clock() - self._start)} ({self._count_text()})"
                )
            self._closed = True
            return
        self.done += 1
        if summary.get("status") in self.counts:
            self.counts[summary["status"]] += 1
        elapsed = self._clock() - self._start
        left = elapsed / (self.done - self.initial) * (self.total - self.done)
        self._write(
            f"{self.done} of {self.total} lifespans done ({self._count_text()}), elapsed "
            f"{clock_text(elapsed)}, about {clock_text(left)} left"
        )

    def _count_text(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts.items())

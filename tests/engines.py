"""Helpers shared by the tests against real engines (tests/test_engine_slurm.py,
tests/test_engine_dask.py): running ``nnlife generate`` as a command, free ports, stopping the
processes a test started, and what a folder of tables holds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from conftest import ROOT

VENV_BIN = Path(sys.executable).parent  # the project's venv: `dask`, `nnlife` live here
CURVE = ["epochs", "trainLoss", "valLoss", "valAcc", "trainAcc"]  # everything but elapsed_s
# A tiny, real batch: 600 Fashion-MNIST training images, 200 validation images, one epoch.
TINY = ["--epochs", "1", "--train-size", "600", "--val-size", "200", "--quiet"]


def nnlife_cmd(*args) -> list[str]:
    """``nnlife ARGS`` with this interpreter (the venv's), as a subprocess argument list."""
    return [sys.executable, "-m", "nnlife.cli", *map(str, args)]


def generate(out: Path, *args, env=None, timeout: float = 540) -> subprocess.CompletedProcess:
    """Run ``nnlife generate OUT ARGS`` to its end; fail the test with its output when it fails."""
    proc = subprocess.run(
        nnlife_cmd("generate", out, *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"nnlife generate failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    return proc


def tables(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.txt") if not p.name.endswith(".replay.txt"))


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """name -> (inode, mtime in ns, bytes) of every table: a table written again (nnlife writes a
    temporary file, then renames it over the name) gets a new inode even with the same bytes."""
    out = {}
    for p in tables(folder):
        st = p.stat()
        out[p.name] = (st.st_ino, st.st_mtime_ns, p.read_bytes())
    return out


def curves(folder: Path) -> dict[str, pd.DataFrame]:
    """id -> the table's curve columns (every recorded value except the wall-clock elapsed_s)."""
    return {p.stem: pd.read_csv(p, sep=" ")[CURVE] for p in tables(folder)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], log: Path, env=None) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, stdout and stderr into ``log``."""
    with open(log, "wb") as f:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(procs: list[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM each process group this test started, then SIGKILL what is left after ``grace``."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def wait_for(condition, what: str, timeout: float = 120, every: float = 0.1):
    """Poll ``condition()`` until it returns something true; return it, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def attempts(folder: Path) -> dict[str, list[dict]]:
    """id -> the events of its log, ``<batch>/logs/<id>.log`` (``nnlife.generate.task`` appends a
    line when a worker starts training a lifespan, finishes it, finds it finished or fails):
    ``{"event": "start", "pid": "123", "host": ..., "slurm_job": ..., ...}`` in file order."""
    out = {}
    for log in sorted((Path(folder) / "logs").glob("*.log")):
        events = []
        for line in log.read_text().splitlines(keepends=True):
            if not line.endswith("\n") or len(line.split()) < 2:  # a line being written now
                continue
            stamp, event, *fields = line.split()
            events.append(
                {"time": stamp, "event": event, **dict(f.split("=", 1) for f in fields if "=" in f)}
            )
        out[log.stem] = events
    return out


def in_training(folder: Path) -> dict[str, dict]:
    """id -> the "start" event of each lifespan some worker is training now (its last event)."""
    return {i: ev[-1] for i, ev in attempts(folder).items() if ev and ev[-1]["event"] == "start"}

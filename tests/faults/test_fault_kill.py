"""A batch killed (SIGKILL, the whole process group) at least 10 times at random moments drawn from a
seeded RNG, then run again: every table intact, none trained twice, the final set equal to an
uninterrupted run of the same batch (real Fashion-MNIST subsets, 1-epoch lifespans)."""

import json
import os
import signal
import subprocess

import numpy as np
import pytest

import nnlife

from .faultkit import NNLIFE, record

N = 6
ARGS = [
    "--networks",
    str(N),
    "--seed",
    "4",
    "--epochs",
    "1",
    "--train-size",
    "300",
    "--val-size",
    "100",
    "--workers",
    "1",
    "--quiet",
]
CURVE = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]


def _tables(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt"))}


@pytest.mark.timeout(900)  # a hang guard: about 2 minutes on 2 cores at load ~3, more when busier
def test_random_kills_lose_nothing_and_train_nothing_twice(tmp_path):
    rng = np.random.default_rng(20261201)
    ref = tmp_path / "uninterrupted"
    nnlife.generate_batch(
        ref, "FashionMNIST", N, seed=4, epochs=1, train_size=300, val_size=100, workers=1, progress=False
    )
    out = tmp_path / "killed"
    cmd = [str(NNLIFE), "generate", str(out), *ARGS]
    present_at_start: dict[int, set] = {}  # pid of each run -> tables there when it started
    kills, launches = 0, 0
    while kills < 10:
        launches += 1
        assert launches <= 30, "the batch kept finishing before the kill"
        before = _tables(out) if out.exists() else {}
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        present_at_start[proc.pid] = set(before)
        try:
            proc.wait(timeout=float(rng.uniform(0.5, 7.0)))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, at once
            proc.wait()
            kills += 1
        else:
            assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
        proc.stderr.close()
        after = _tables(out) if out.exists() else {}
        assert {n: after[n] for n in before} == before  # a finished table is never rewritten
        for name in after:
            nnlife.read_lifespan(out / name)  # every table there is whole
        assert not list(out.glob("*.broken-*")) if out.exists() else True  # no half table was visible
    final = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-3000:]

    # none trained twice: every run scheduled exactly the tables missing when it started
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    for run in runs:
        if run["pid"] in present_at_start:
            assert run["to_train"] == N - len(present_at_start[run["pid"]]), run
    assert sum(r["trained"] for r in runs if r["finished"]) <= N
    # the final set equals the uninterrupted run's
    assert set(_tables(out)) == set(_tables(ref))
    for name in _tables(ref):
        a, b = nnlife.read_lifespan(out / name), nnlife.read_lifespan(ref / name)
        assert a.net == b.net and a.train == b.train and a.curve[CURVE].equals(b.curve[CURVE]), name
    record(
        f"{kills} SIGKILLs over {launches} runs: every table whole, none rewritten or trained twice, "
        f"final {N} tables equal to the uninterrupted run"
    )

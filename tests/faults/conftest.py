"""Fixtures of the fault tests, and the note's table of cases (``NNLIFE_FAULTS_NOTE=FILE``)."""

import os
from pathlib import Path

import pytest

import faultkit


@pytest.fixture(autouse=True)
def _user_cache(tmp_path, monkeypatch):
    """The catalog's user cache goes to a temporary folder, not ~/.cache."""
    monkeypatch.setenv("NNLIFE_CACHE_DIR", str(tmp_path / "user-cache"))


@pytest.fixture(scope="session")
def fmnist_table(tmp_path_factory) -> Path:
    """A real nnlife table: a small-space network trained for 1 epoch on 300 Fashion-MNIST images."""
    import nnlife
    from nnlife.table import write_lifespan

    net, train = nnlife.sample(
        "small", "FashionMNIST", seed=3, epochs=1, train_size=300, val_size=100, deterministic=True
    )
    data = nnlife.load_dataset("FashionMNIST", train_size=300, val_size=100, seed=0)
    life = nnlife.train_lifespan(net, train, data, device="cpu", id=f"{net.id}-s{train.seed}")
    path = tmp_path_factory.mktemp("fmnist") / f"{life.id}.txt"
    write_lifespan(life, path)
    os.chmod(path, 0o444)
    return path


def pytest_sessionfinish(session, exitstatus):
    note = os.environ.get("NNLIFE_FAULTS_NOTE")
    if not note or not faultkit.OUTCOMES:
        return
    lines = ["| case | behaviour | message (excerpt) |", "|---|---|---|"]
    for case, behaviour, msg in faultkit.OUTCOMES:
        lines.append(f"| {case} | {behaviour} | {msg.replace('|', '/')} |")
    Path(note).write_text("\n".join(lines) + "\n")

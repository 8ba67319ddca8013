"""A batch begun before a setting existed resumes as it began (found on the reference corpus).

The seed-variance batch of data/reference/ was begun before ``TrainSpec.memory_format`` existed
(its tables were trained contiguous). Resumed by a newer nnlife, whose default is channels_last,
every finished table looked like "another training" and was moved aside to be trained again:
hours of CPU. These tests run on a copy of the real batch, cut to its first two networks (the
six tables it holds), so resuming it trains nothing.
"""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from nnlife.errors import ParameterError
from nnlife.generate.batch import generate_batch
from nnlife.table import read_lifespan

LEGACY = ROOT / "data" / "reference" / "fmnist-small-seeds3-seed1"
SETTINGS = dict(
    space="small",
    seed=1,
    epochs=40,
    seeds_per_network=3,
    train_size=4000,
    val_size=1000,
    workers=1,
    progress=False,
)


@pytest.fixture
def legacy_batch(tmp_path):
    """The real legacy batch's manifest and its six tables (networks 0 and 1, three seeds each,
    trained before the setting existed: no memory_format column), with the manifest's plan cut
    to those two networks."""
    out = tmp_path / "legacy"
    out.mkdir()
    manifest = json.loads((LEGACY / "manifest.json").read_text())
    # as nnlife wrote it before the setting existed (the resumed batch's manifest now names it)
    assert manifest["parameters"].pop("memory_format", "contiguous") == "contiguous"
    manifest["parameters"]["n_networks"] = 2
    manifest["lifespans"] = [life for life in manifest["lifespans"] if life["network_index"] < 2]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for life in manifest["lifespans"]:
        shutil.copy2(LEGACY / f"{life['id']}.txt", out)
    assert len(list(out.glob("*.txt"))) == 6
    assert all("memory_format" not in p.read_text().splitlines()[0].split() for p in out.glob("*.txt"))
    return out


def test_a_legacy_batch_resumes_without_training_or_moving_anything(legacy_batch):
    before = {p.name: p.read_bytes() for p in legacy_batch.glob("*.txt")}
    frame = generate_batch(legacy_batch, "FashionMNIST", 2, **SETTINGS)
    assert len(frame) == 6 and not frame["trained"].any()
    assert {p.name: p.read_bytes() for p in legacy_batch.glob("*.txt")} == before
    assert not list(legacy_batch.glob("*.broken-*"))
    params = json.loads((legacy_batch / "manifest.json").read_text())["parameters"]
    assert params["memory_format"] == "contiguous"  # the legacy value, now written out
    assert all(read_lifespan(p).train.memory_format == "contiguous" for p in legacy_batch.glob("*.txt"))


def test_another_memory_format_for_a_legacy_batch_is_refused_and_nothing_moves(legacy_batch):
    before = sorted(p.name for p in legacy_batch.iterdir())
    with pytest.raises(
        ParameterError, match=r"memory_format 'contiguous' \(folder\) vs 'channels_last' \(now\)"
    ):
        generate_batch(legacy_batch, "FashionMNIST", 2, memory_format="channels_last", **SETTINGS)
    assert sorted(p.name for p in legacy_batch.iterdir()) == before


def test_the_command_line_resumes_it_too(legacy_batch):
    cmd = [sys.executable, "-m", "nnlife", "generate", str(legacy_batch), "--dataset", "FashionMNIST"]
    cmd += ["--space", "small", "--networks", "2", "--seed", "1", "--epochs", "40"]
    cmd += [
        "--seeds-per-network",
        "3",
        "--train-size",
        "4000",
        "--val-size",
        "1000",
        "--workers",
        "1",
        "--quiet",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not list(legacy_batch.glob("*.broken-*"))
    refused = subprocess.run(
        cmd + ["--memory-format", "channels_last"], capture_output=True, text=True, timeout=300
    )
    assert refused.returncode != 0 and "memory_format" in refused.stderr


def test_a_new_batch_records_its_memory_format(tmp_path):
    out = tmp_path / "new"
    generate_batch(out, "FashionMNIST", 1, space="small", seed=3, epochs=0.5, train_size=600, val_size=200)
    assert json.loads((out / "manifest.json").read_text())["parameters"]["memory_format"] == "channels_last"
    (table,) = out.glob("*.txt")
    assert read_lifespan(table).train.memory_format == "channels_last"

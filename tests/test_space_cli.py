"""`nnlife space DATA --out FILE` and `nnlife generate --space FILE`: regenerate networks drawn
like a set of tables."""

from __future__ import annotations

import json

import nnlife
from nnlife.cli import main
from nnlife.space import SMALL, read_space


def _tables(folder, template, dataset="FashionMNIST", n=24):
    folder.mkdir()
    for i in range(n):
        net, train = nnlife.sample(SMALL, dataset=dataset, seed=i, device="cuda")
        life = nnlife.Lifespan(id=f"t{i:03d}", net=net, train=train, curve=template.curve, layout="original")
        nnlife.write_lifespan(life, folder / f"t{i:03d}.txt")
    return folder


def test_space_command_writes_a_space_file(tmp_path, sample_paths, capsys):
    tables = _tables(tmp_path / "fm", nnlife.read_lifespan(sample_paths[0]))
    out = tmp_path / "space.json"
    assert main(["space", str(tables), *map(str, sample_paths), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "CIFAR100: 3 tables" in text and "FashionMNIST: 24 tables" in text
    doc = json.loads(out.read_text())
    assert (
        sorted(doc["spaces"]) == ["CIFAR100", "FashionMNIST"] and doc["note"]["tables"]["FashionMNIST"] == 24
    )
    assert read_space(out, dataset="fashionmnist") == nnlife.infer_space(tables)


def test_generate_samples_from_a_space_file(tmp_path, sample_paths, capsys):
    tables = _tables(tmp_path / "fm", nnlife.read_lifespan(sample_paths[0]))
    space_file = tmp_path / "space.json"
    nnlife.write_space(space_file, nnlife.infer_spaces(tables))
    space = read_space(space_file, dataset="FashionMNIST")
    out = tmp_path / "batch"
    args = [
        "generate",
        str(out),
        "--space",
        str(space_file),
        "--dataset",
        "FashionMNIST",
        "--networks",
        "1",
        "--epochs",
        "0.5",
        "--train-size",
        "1200",
        "--val-size",
        "200",
        "--workers",
        "1",
        "--quiet",
    ]
    assert main(args) == 0, capsys.readouterr().err
    (table,) = out.glob("*.txt")
    life = nnlife.read_lifespan(table)
    net, train = nnlife.sample(space, "FashionMNIST", seed=__import__("numpy").random.default_rng([0, 0]))
    assert life.net == net and life.train.batch_size == train.batch_size
    assert json.loads((out / "manifest.json").read_text())["parameters"]["space"] == "inferred-FashionMNIST"
    assert space.conv_layers[0] <= len(life.net.conv) <= space.conv_layers[1]


def test_generate_refuses_an_unknown_space_or_a_file_without_the_dataset(tmp_path, sample_paths, capsys):
    base = ["generate", str(tmp_path / "b"), "--networks", "1", "--dataset", "SVHN", "--space"]
    assert main(base + ["huge"]) == 2
    assert "unknown search space 'huge': use one of paper, small, or a space file" in capsys.readouterr().err
    space_file = nnlife.write_space(tmp_path / "s.json", nnlife.infer_spaces(sample_paths))
    assert main(base + [str(space_file)]) == 2
    assert "s.json: no space for SVHN; it holds CIFAR100" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()

"""nnlife.infer_space: the search space of a set of tables, its space file, and sampling from it."""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import pytest

import nnlife
from deposit import written_table
from nnlife.analyse.inferspace import infer_space, infer_spaces
from nnlife.errors import ParameterError
from nnlife.space import PAPER, SMALL, read_space, read_spaces, write_space

# A known space with every extension in use: log-uniform filters and batch sizes, layer-count
# frequencies, FC dropout drawn apart from conv dropout with its own range.
KNOWN = dataclasses.replace(
    SMALL,
    name="known",
    filters=(4, 64),
    batch_size=(16, 512),
    conv_layers_weights=(0.2, 0.3, 0.5),
    fc_layers_weights=(0.4, 0.6),
    fc_dropout_zero_prob=0.6,
    fc_dropout_rate=(0.1, 0.3),
    dampening_zero_prob=0.5,
    dampening=(0.05, 0.5),
    scales=(("batch_size", "log"), ("filters", "log")),
)


def _values(net, train):
    return {
        "filters": [c.filters for c in net.conv],
        "kernel": [c.kernel for c in net.conv],
        "stride": [c.stride for c in net.conv],
        "padding": [c.padding for c in net.conv],
        "pool_kernel": [c.pool.kernel for c in net.conv if c.pool],
        "pool_stride": [c.pool.stride for c in net.conv if c.pool],
        "fc_units": list(net.fc[:-1]),
        "batch_size": [train.batch_size],
        "learning_rate": [train.learning_rate],
        "momentum": [train.momentum] if train.momentum else [],
        "weight_decay": [train.weight_decay] if train.weight_decay else [],
        "dampening": [train.dampening] if train.dampening else [],
        "dropout_rate": [net.conv_dropout_rate] if net.conv_dropout_rate else [],
        "fc_dropout_rate": [net.fc_dropout_rate] if net.fc_dropout_rate else [],
    }


def _covers(space, pairs):
    for net, train in pairs:
        assert space.conv_layers[0] <= len(net.conv) <= space.conv_layers[1]
        assert space.fc_layers[0] <= len(net.fc) <= space.fc_layers[1]
        for field, values in _values(net, train).items():
            lo, hi = getattr(space, field)
            assert all(lo <= v <= hi for v in values), (field, values, (lo, hi))


def test_the_three_published_samples(sample_paths):
    cat = nnlife.load_catalog(sample_paths)
    space = infer_space(cat)
    assert space.name == "inferred-CIFAR100"
    lives = [nnlife.read_lifespan(p) for p in sample_paths]
    _covers(space, [(life.net, life.train) for life in lives])
    assert space.conv_layers == (3, 3) and space.conv_layers_weights == (1.0,)
    assert space.fc_layers == (1, 3) and space.fc_layers_weights == (1 / 3, 1 / 3, 1 / 3)
    # nine layers: the ranges seen (filters 63..384, kernels 1..32, strides 1..20), widened
    assert space.filters[0] < 63 and space.filters[1] > 384 and space.kernel[0] == space.stride[0] == 1
    assert math.isclose(space.pool_prob, 5 / 9)  # pool entries 1-1, 5, 1-10
    assert math.isclose(space.momentum_zero_prob, 2 / 3) and space.dampening_zero_prob == 1.0
    assert math.isclose(space.dropout_zero_prob, 1 / 3) and math.isclose(space.fc_dropout_zero_prob, 1 / 3)
    assert math.isclose(space.weight_decay_zero_prob, 1 / 3)
    assert space.scale("learning_rate") == "log"  # three values: nnlife's default scale stays
    # it samples valid CIFAR-100 networks inside its ranges
    drawn = [nnlife.sample(space, dataset="CIFAR100", seed=s) for s in range(40)]
    _covers(space, drawn)
    assert {len(n.conv) for n, _ in drawn} == {3}


def _known_tables(tmp_path, template, n=300):
    folder = tmp_path / "known"
    folder.mkdir()
    pairs = []
    for i in range(n):
        net, train = nnlife.sample(KNOWN, dataset="FashionMNIST", seed=i, device="cuda")
        pairs.append((net, train))
        life = nnlife.Lifespan(id=f"k{i:04d}", net=net, train=train, curve=template.curve, layout="original")
        nnlife.write_lifespan(life, folder / f"k{i:04d}.txt")
    return folder, pairs


def test_a_known_space_is_recovered_from_its_tables(tmp_path, sample_paths):
    folder, pairs = _known_tables(tmp_path, nnlife.read_lifespan(sample_paths[0]))
    space = infer_space(nnlife.load_catalog(folder))
    _covers(space, pairs)
    # integer ranges: every value of the known range shows up in 300 networks
    for field in ("conv_layers", "stride", "fc_layers", "pool_kernel", "pool_stride", "padding"):
        assert getattr(space, field) == getattr(KNOWN, field), field
    assert space.kernel[0] == KNOWN.kernel[0]
    # wide ranges: the inferred one covers the known one (to within a few per cent of its width)
    for field in (
        "filters",
        "fc_units",
        "batch_size",
        "learning_rate",
        "momentum",
        "weight_decay",
        "dampening",
        "dropout_rate",
        "fc_dropout_rate",
    ):
        (lo, hi), (klo, khi) = getattr(space, field), getattr(KNOWN, field)
        log = KNOWN.scale(field) == "log"
        width = math.log(khi / klo) if log else khi - klo
        gap_lo = math.log(klo / lo) if log else klo - lo
        gap_hi = math.log(hi / khi) if log else hi - khi
        assert gap_lo > -0.05 * width and gap_hi > -0.05 * width, (field, (lo, hi), (klo, khi))
        assert gap_lo < 0.1 * width and gap_hi < 0.1 * width, (field, (lo, hi), (klo, khi))
    # scales: log-uniform where the known space is, uniform where it is
    for field in ("filters", "batch_size", "learning_rate", "momentum", "weight_decay"):
        assert space.scale(field) == "log", field
    for field in ("fc_units", "dampening", "dropout_rate", "fc_dropout_rate"):
        assert space.scale(field) == "linear", field
    # shares and frequencies, within sampling error (300 networks: sd about 0.03)
    for field in (
        "pool_prob",
        "dropout_zero_prob",
        "fc_dropout_zero_prob",
        "dropout_layer_prob",
        "momentum_zero_prob",
        "dampening_zero_prob",
        "weight_decay_zero_prob",
    ):
        assert abs(getattr(space, field) - getattr(KNOWN, field)) < 0.1, field
    assert np.allclose(space.conv_layers_weights, KNOWN.conv_layers_weights, atol=0.1)
    assert np.allclose(space.fc_layers_weights, KNOWN.fc_layers_weights, atol=0.1)


def test_one_space_per_dataset_and_a_clear_error_without_a_choice(tmp_path, sample_paths):
    template = nnlife.read_lifespan(sample_paths[0])
    for i in range(3):
        name, data = written_table("SVHN", i, template)
        (tmp_path / name).write_bytes(data)
    paths = [tmp_path] + list(sample_paths)
    spaces = infer_spaces(paths)
    assert list(spaces) == ["CIFAR100", "SVHN"]
    with pytest.raises(ParameterError, match="2 datasets .*CIFAR100, SVHN.*dataset="):
        infer_space(paths)
    assert infer_space(paths, dataset="svhn") == spaces["SVHN"]


def test_space_files_round_trip(tmp_path, sample_paths):
    spaces = infer_spaces(sample_paths)
    path = write_space(tmp_path / "space.json", spaces)
    assert read_spaces(path) == spaces
    assert read_space(path) == spaces["CIFAR100"] == read_space(path, dataset="cifar100")
    write_space(tmp_path / "known.json", KNOWN)
    assert read_space(tmp_path / "known.json", dataset="FashionMNIST") == KNOWN
    with pytest.raises(ParameterError, match="no space for SVHN.*CIFAR100"):
        read_space(path, dataset="SVHN")
    (tmp_path / "bad.json").write_text(
        '{"format": "nnlife-space/1", "spaces": {"x": {"name": "x", "filterz": [1, 2]}}}'
    )
    with pytest.raises(ParameterError, match="bad.json.*filterz"):
        read_space(tmp_path / "bad.json")


def test_paper_and_small_sample_as_before_with_explicit_defaults():
    for base in (PAPER, SMALL):
        explicit = dataclasses.replace(base, scales=(("dampening", "linear"), ("learning_rate", "log")))
        for seed in range(20):
            assert nnlife.sample(explicit, "SVHN", seed=seed) == nnlife.sample(base, "SVHN", seed=seed)


def test_a_space_that_cannot_work_is_refused():
    with pytest.raises(ParameterError, match="conv_layers_weights"):
        dataclasses.replace(SMALL, conv_layers_weights=(0.5, 0.5))
    with pytest.raises(ParameterError, match="log.*filters"):
        dataclasses.replace(SMALL, filters=(0, 8), scales=(("filters", "log"),))
    with pytest.raises(ParameterError, match="scale"):
        dataclasses.replace(SMALL, scales=(("filters", "cubic"),))


def test_paper_and_small_draw_exactly_what_they_drew_before_the_extension():
    # fingerprint of 1200 draws (each network's canonical string and the drawn training values),
    # taken with the sampler as it was before the optional fields
    h = hashlib.sha256()
    for space in ("paper", "small"):
        for ds in ("CIFAR100", "FashionMNIST", "SVHN"):
            for seed in range(200):
                net, train = nnlife.sample(space, ds, seed=seed)
                drawn = (
                    train.batch_size,
                    train.learning_rate,
                    train.momentum,
                    train.dampening,
                    train.weight_decay,
                    train.seed,
                )
                h.update(f"{net.canonical()}|{drawn!r}".encode())
    assert h.hexdigest() == "c8bd22fd557bd6468ef1b011a72336fbefdde2ed66bb17a8b5b8620ddaf23a7c"

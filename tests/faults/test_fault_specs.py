"""Specs, training settings, seeds and dataset names: wrong types and impossible values are refused
with the field and the value named; the good spellings keep working (real Fashion-MNIST)."""

import math

import numpy as np
import pytest

import nnlife
from nnlife.errors import ParameterError, SpecError
from nnlife.spec import ConvLayer, NetSpec, Pool, TrainSpec

from .faultkit import expect_error, expect_ok

TRAIN = dict(dataset="FashionMNIST", batch_size=32, learning_rate=0.05)

BAD_TRAIN = {
    "epochs_nan": dict(epochs=math.nan),
    "epochs_inf": dict(epochs=math.inf),
    "epochs_string": dict(epochs="40"),
    "epochs_bool": dict(epochs=True),
    "eval_interval_bool": dict(eval_interval=True),
    "eval_interval_nan": dict(eval_interval=math.nan),
    "deterministic_no": dict(deterministic="no"),
    "drop_last_val_yes": dict(drop_last_val="yes"),
    "seed_none": dict(seed=None),
    "seed_negative": dict(seed=-1),
    "seed_fraction": dict(seed=1.5),
    "seed_string": dict(seed="7"),
    "seed_bool": dict(seed=True),
    "subset_seed_none": dict(subset_seed=None),
    "batch_size_float": dict(batch_size=32.0),
    "learning_rate_nan": dict(learning_rate=math.nan),
    "learning_rate_bool": dict(learning_rate=True),
    "momentum_inf": dict(momentum=math.inf),
    "device_int": dict(device=0),
    "train_size_bool": dict(train_size=True),
    "dataset_unknown": dict(dataset="MNIST"),
}


@pytest.mark.parametrize("case", list(BAD_TRAIN))
def test_a_bad_training_setting_is_refused(tmp_path, case):
    change = BAD_TRAIN[case]
    ((field, value),) = change.items()
    expect_error(lambda: TrainSpec(**{**TRAIN, **change}), SpecError, [field, repr(value)], tmp_path)


def test_good_training_settings_stay_good(tmp_path):
    t = expect_ok(
        lambda: TrainSpec(
            **{
                **TRAIN,
                "dataset": "fashion-mnist",
                "seed": np.int64(7),
                "epochs": 0.5,
                "deterministic": True,
                "train_size": np.int64(300),
            }
        )
    )
    assert t.dataset == "FashionMNIST" and t.seed == 7 and type(t.seed) is int and t.n_records == 1
    assert TrainSpec(**{**TRAIN, "seed": 2**32 - 1}).seed == 2**32 - 1


def _conv(**kw):
    return ConvLayer(**{"filters": 4, "kernel": 3, **kw})


BAD_NETS = {
    "fc_dropout_flag_no": (
        lambda: NetSpec((1, 28, 28), (_conv(),), (16, 10), fc_dropout=("no",)),
        ["fc_dropout", "'no'"],
    ),
    "conv_dropout_flag_no": (
        lambda: NetSpec((1, 28, 28), (_conv(dropout="no"),), (10,)),
        ["dropout", "'no'"],
    ),
    "conv_dropout_rate_bool": (
        lambda: NetSpec((1, 28, 28), (_conv(),), (10,), conv_dropout_rate=True),
        ["conv_dropout_rate", "True"],
    ),
    "fc_dropout_rate_nan": (
        lambda: NetSpec((1, 28, 28), (_conv(),), (10,), fc_dropout_rate=math.nan),
        ["fc_dropout_rate", "nan"],
    ),
    "fc_units_float": (lambda: NetSpec((1, 28, 28), (_conv(),), (16.0, 10)), ["FC layer 1", "16.0"]),
    "filters_two_million": (
        lambda: NetSpec((1, 28, 28), (_conv(filters=2_000_000),), (10,)),
        ["parameters", "limit"],
    ),
    "pool_kernel_bool": (
        lambda: NetSpec((1, 28, 28), (_conv(pool=Pool(True, 2)),), (10,)),
        ["pool kernel", "True"],
    ),
    "kernel_larger_than_image": (lambda: NetSpec((1, 28, 28), (_conv(kernel=40),), (10,)), ["kernel 40"]),
}


@pytest.mark.parametrize("case", list(BAD_NETS))
def test_a_bad_network_is_refused(tmp_path, case):
    make, names = BAD_NETS[case]
    expect_error(make, SpecError, names, tmp_path)


def test_a_good_network_stays_good(tmp_path):
    net = expect_ok(
        lambda: NetSpec(
            (1, 28, 28),
            (_conv(pool=Pool(2, 2), dropout=True),),
            (16, 10),
            fc_dropout=(True,),
            conv_dropout_rate=0.25,
            fc_dropout_rate=0.5,
        )
    )
    assert net.n_params == 3 * 3 * 4 + 4 + (4 * 13 * 13) * 16 + 16 + 16 * 10 + 10


def test_the_output_layer_must_match_the_dataset(tmp_path):
    net = NetSpec((3, 32, 32), (_conv(),), (16, 10))
    expect_error(lambda: net.for_dataset("CIFAR100"), SpecError, ["10", "100", "CIFAR100"], tmp_path)


# --- sample: seeds and dataset names -------------------------------------------------------------
BAD_SEEDS = {"negative": -1, "string": "7", "fraction": 1.5, "none": None, "bool": True}


@pytest.mark.parametrize("case", list(BAD_SEEDS))
def test_sample_refuses_a_seed_that_is_not_a_non_negative_integer(tmp_path, case):
    seed = BAD_SEEDS[case]
    expect_error(
        lambda: nnlife.sample("small", "FashionMNIST", seed=seed),
        ParameterError,
        ["seed", repr(seed)],
        tmp_path,
    )


def test_sample_takes_ints_numpy_ints_and_generators(tmp_path):
    a = expect_ok(lambda: nnlife.sample("small", "FashionMNIST", seed=7))
    assert nnlife.sample("small", "FashionMNIST", seed=np.int64(7)) == a
    assert nnlife.sample("small", "FashionMNIST", seed=np.random.default_rng(7)) == a


SPELLINGS = ("FashionMNIST", "fashionmnist", "fashion-mnist", "Fashion_MNIST", " FashionMNIST ")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_sample_and_load_dataset_take_the_same_spellings(spelling):
    net, train = expect_ok(lambda: nnlife.sample("small", spelling, seed=0), behaviour="works (FashionMNIST)")
    assert train.dataset == "FashionMNIST"
    data = nnlife.load_dataset(spelling, train_size=200, val_size=100)
    assert data.name == "FashionMNIST" and len(data.train_y) == 200


@pytest.mark.parametrize("call", ["sample", "load_dataset"])
def test_an_unknown_dataset_is_refused_by_both(tmp_path, call):
    fn = {
        "sample": lambda: nnlife.sample("small", "MNIST"),
        "load_dataset": lambda: nnlife.load_dataset("MNIST"),
    }
    expect_error(fn[call], ParameterError, ["'MNIST'", "FashionMNIST"], tmp_path)


def test_an_unknown_space_is_refused(tmp_path):
    expect_error(lambda: nnlife.sample("huge", "FashionMNIST"), ParameterError, ["'huge'", "small"], tmp_path)


BAD_LOADS = {
    "seed_negative": dict(seed=-1),
    "seed_none": dict(seed=None),
    "seed_string": dict(seed="7"),
    "train_size_zero": dict(train_size=0),
    "train_size_bool": dict(train_size=True),
    "train_size_fraction": dict(train_size=1.5),
    "val_source_unknown": dict(val_source="val"),
}


@pytest.mark.parametrize("case", list(BAD_LOADS))
def test_load_dataset_refuses_bad_arguments(tmp_path, case):
    change = BAD_LOADS[case]
    ((field, value),) = change.items()
    expect_error(
        lambda: nnlife.load_dataset("FashionMNIST", **change), ParameterError, [field, repr(value)], tmp_path
    )


# --- generate_batch: checked before anything is written ---------------------------------------------
BAD_BATCHES = {
    "seed_none": (dict(seed=None), ["seed", "None"]),
    "seed_negative": (dict(seed=-1), ["seed", "-1"]),
    "epochs_nan": (dict(epochs=math.nan), ["epochs", "nan"]),
    "epochs_inf": (dict(epochs=math.inf), ["epochs", "inf"]),
    "eval_interval_bool": (dict(eval_interval=True), ["eval_interval", "True"]),
    "deterministic_no": (dict(deterministic="no"), ["deterministic", "'no'"]),
    "n_networks_bool": (dict(n_networks=True), ["n_networks", "True"]),
    "empty_out_dir": (dict(out_dir=""), ["out_dir", "''"]),
    "dataset_unknown": (dict(dataset="MNIST"), ["MNIST"]),
    "epochs_zero": (dict(epochs=0), ["epochs", "0"]),
    "epochs_negative": (dict(epochs=-1), ["epochs", "-1"]),
    "n_networks_zero": (dict(n_networks=0), ["n_networks", "0"]),
    "eval_interval_uneven": (dict(eval_interval=0.3), ["eval_interval", "0.3"]),
    "scheduler_not_understood": (dict(scheduler=42), ["scheduler", "42"]),
}


@pytest.mark.parametrize("case", list(BAD_BATCHES))
def test_generate_batch_refuses_bad_parameters_before_writing(tmp_path, monkeypatch, case):
    change, names = BAD_BATCHES[case]
    monkeypatch.chdir(tmp_path)
    args = dict(
        out_dir=tmp_path / "batch",
        dataset="FashionMNIST",
        n_networks=1,
        epochs=0.5,
        train_size=300,
        val_size=100,
        workers=1,
        progress=False,
    )
    args.update(change)
    expect_error(lambda: nnlife.generate_batch(**args), ParameterError, names, tmp_path)

"""train_lifespan on real Fashion-MNIST subsets: records, determinism, divergence, resume, checks."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import nnlife
from nnlife import columns as C
from nnlife.errors import ParameterError
from nnlife.generate.network import build
from nnlife.spec import ConvLayer, NetSpec, Pool, TrainSpec
from nnlife.train import interval_bounds, train_lifespan

N_TRAIN, N_VAL = 600, 200

# A tiny network with dropout in a conv and an FC layer, so the dropout stream is exercised.
NET = NetSpec(
    input_shape=(1, 28, 28),
    conv=(ConvLayer(8, 3, stride=2, padding=1, pool=Pool(2, 2), dropout=True),),
    fc=(32, 10),
    fc_dropout=(True,),
    conv_dropout_rate=0.2,
    fc_dropout_rate=0.3,
)


def spec(**changes) -> TrainSpec:
    fields = dict(
        dataset="FashionMNIST",
        batch_size=50,
        learning_rate=0.05,
        momentum=0.9,
        weight_decay=1e-4,
        epochs=2,
        seed=11,
        train_size=N_TRAIN,
        val_size=N_VAL,
    )
    fields.update(changes)
    return TrainSpec(**fields)


@pytest.fixture(scope="module")
def data():
    return nnlife.load_dataset("FashionMNIST", train_size=N_TRAIN, val_size=N_VAL)


def test_records_every_half_epoch_with_means_over_the_interval(data):
    life = train_lifespan(NET, spec(), data, device="cpu")
    curve = life.curve
    assert list(curve.columns) == list(C.CURVE_COLUMNS)
    assert curve[C.EPOCH].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert life.status == C.STATUS_COMPLETE and life.train.device == "cpu"
    # 600 images in batches of 50: 12 batches, 6 per half epoch (300 images); accuracies are
    # percentages of whole images: train over the 300 images of the half, val over all 200.
    assert np.allclose(curve[C.TRAIN_ACC] * 3, np.round(curve[C.TRAIN_ACC] * 3))
    assert np.allclose(curve[C.VAL_ACC] * 2, np.round(curve[C.VAL_ACC] * 2))
    assert curve[[C.TRAIN_ACC, C.VAL_ACC]].stack().between(0, 100).all()
    assert curve[C.ELAPSED_S].is_monotonic_increasing and (curve[C.ELAPSED_S] > 0).all()
    assert curve[C.VAL_ACC].iloc[-1] > 40  # it learns (chance is 10 %)
    for key in (
        "net_id",
        "nnlife_version",
        "torch_version",
        "device_name",
        "host",
        "created",
        "dataset_files",
        "torch_threads",
    ):
        assert life.meta[key], key
    assert life.meta["net_id"] == NET.id and life.id == f"{NET.id}-s11"
    assert "t10k-images-idx3-ubyte=8181f5470baa50b63fa0f6fddb340f0a" in life.meta["dataset_files"]


def test_same_seed_gives_bit_identical_values_and_leaves_global_rng_alone(data):
    before = torch.get_rng_state()
    a = train_lifespan(NET, spec(epochs=1), data, device="cpu")
    b = train_lifespan(NET, spec(epochs=1), data, device="cpu")
    c = train_lifespan(NET, spec(epochs=1, seed=12), data, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)  # dropout's fork of the global RNG is undone
    values = [C.TRAIN_LOSS, C.TRAIN_ACC, C.VAL_LOSS, C.VAL_ACC]
    assert a.curve[values].equals(b.curve[values])
    assert not a.curve[values].equals(c.curve[values])


def test_validation_values_match_an_independent_pass_over_the_saved_weights(data, tmp_path):
    life = train_lifespan(NET, spec(epochs=1), data, device="cpu", weights=tmp_path / "w.pt")
    assert life.meta["weights"] == "w.pt"
    model = build(NET)
    model.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    model.eval()
    x = (data.val_x.float() / 255 - data.mean[0]) / data.std[0]
    with torch.no_grad():
        out = model(x)
    loss = torch.nn.functional.cross_entropy(out, data.val_y).item()
    acc = 100 * (out.argmax(1) == data.val_y).float().mean().item()
    assert life.curve[C.VAL_LOSS].iloc[-1] == pytest.approx(loss, rel=1e-5)
    assert life.curve[C.VAL_ACC].iloc[-1] == pytest.approx(acc)


def test_drop_last_val_uses_only_whole_batches(data):
    life = train_lifespan(NET, spec(epochs=0.5, batch_size=64, drop_last_val=True), data, device="cpu")
    # 200 validation images in batches of 64: 3 whole batches, 192 images
    acc = life.curve[C.VAL_ACC].iloc[0]
    assert acc * 192 / 100 == pytest.approx(round(acc * 192 / 100))
    assert life.train.drop_last_val


def test_a_non_finite_loss_stops_training_and_marks_the_lifespan(data, tmp_path):
    life = train_lifespan(NET, spec(learning_rate=1e6, epochs=3), data, device="cpu")
    assert life.status == C.STATUS_DIVERGED and life.diverged
    assert 1 <= len(life.curve) < life.train.n_records
    last = life.curve.iloc[-1]
    assert not (math.isfinite(last[C.TRAIN_LOSS]) and math.isfinite(last[C.VAL_LOSS]))
    assert float(life.meta["diverged_at"]) == last[C.EPOCH]
    path = nnlife.write_lifespan(life, tmp_path / f"{life.id}.txt")
    back = nnlife.read_lifespan(path)
    assert back.status == C.STATUS_DIVERGED and len(back.curve) == len(life.curve)
    assert len(pd.read_csv(path, sep=" ")) == len(life.curve)


class Interrupt(Exception):
    pass


def test_an_interrupted_lifespan_resumes_to_the_same_table(data, tmp_path):
    train = spec(epochs=2)
    whole = train_lifespan(NET, train, data, device="cpu")
    ckpt = tmp_path / "ckpt.pt"

    def stop_after_three(done, total, row):
        if done == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_lifespan(
            NET, train, data, device="cpu", checkpoint=ckpt, checkpoint_every=0.5, progress=stop_after_three
        )
    assert ckpt.exists()
    seen = []
    resumed = train_lifespan(
        NET,
        train,
        data,
        device="cpu",
        checkpoint=ckpt,
        checkpoint_every=0.5,
        progress=lambda done, total, row: seen.append(done),
    )
    assert seen == [4]  # only the last record was trained again
    assert resumed.meta["resumed_at_epoch"] == "1.5"
    values = [C.EPOCH, C.TRAIN_LOSS, C.TRAIN_ACC, C.VAL_LOSS, C.VAL_ACC]
    assert resumed.curve[values].equals(whole.curve[values])


def test_a_checkpoint_of_another_training_is_ignored(data, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Interrupt):
        train_lifespan(
            NET,
            spec(epochs=1, seed=3),
            data,
            device="cpu",
            checkpoint=ckpt,
            checkpoint_every=0.5,
            progress=lambda *a: (_ for _ in ()).throw(Interrupt),
        )
    fresh = train_lifespan(NET, spec(epochs=1), data, device="cpu", checkpoint=ckpt, checkpoint_every=0.5)
    plain = train_lifespan(NET, spec(epochs=1), data, device="cpu")
    assert "resumed_at_epoch" not in fresh.meta
    assert fresh.curve[C.VAL_LOSS].equals(plain.curve[C.VAL_LOSS])


def test_bad_inputs_are_refused_before_training(data):
    with pytest.raises(ParameterError, match="train_size"):
        train_lifespan(NET, spec(train_size=500), data, device="cpu")
    with pytest.raises(ParameterError, match="batch"):  # 600 images in batches of 400: 2 batches
        train_lifespan(NET, spec(batch_size=400, eval_interval=1 / 3, epochs=1), data, device="cpu")
    with pytest.raises(ParameterError, match="checkpoint_every"):
        train_lifespan(NET, spec(), data, device="cpu", checkpoint="x.pt", checkpoint_every=0.3)
    with pytest.raises(ParameterError, match="device"):
        train_lifespan(NET, spec(), data, device="tpu")


def test_interval_bounds_split_the_epoch_into_halves():
    assert interval_bounds(600, 50, 0.5) == [0, 6, 12]
    assert interval_bounds(610, 50, 0.5) == [0, 7, 13]  # 13 batches: 7 then 6
    assert interval_bounds(600, 50, 0.25) == [0, 3, 6, 9, 12]

import pytest

from nnlife.errors import SpecError
from nnlife.spec import ConvLayer, NetSpec, Pool, TrainSpec, canonical_dataset


def tiny(**kw):
    args = dict(
        input_shape=(1, 28, 28),
        conv=(ConvLayer(8, 3, 1, 1, Pool(2, 2)), ConvLayer(16, 3, 2, 0, dropout=True)),
        fc=(32, 10),
        fc_dropout=(True,),
        conv_dropout_rate=0.25,
        fc_dropout_rate=0.5,
    )
    args.update(kw)
    return NetSpec(**args)


def test_canonical_string_and_pinned_id():
    net = tiny()
    assert net.canonical() == "in1x28x28|c8k3s1p1+mp2s2p0|c16k3s2p0+do|fc32*-10|cd0.25|fd0.5"
    # pinned: an accidental change of the encoding changes every table id
    assert net.id == "n" + __import__("hashlib").sha1(net.canonical().encode()).hexdigest()[:10]
    assert net.id == "na67ceb990f"


def test_equal_specs_equal_ids_and_different_specs_differ():
    assert tiny().id == tiny().id
    assert tiny(fc=(33, 10)).id != tiny().id
    assert tiny(conv_dropout_rate=0.3).id != tiny().id


def test_round_trip_dict():
    net = tiny()
    assert NetSpec.from_dict(net.to_dict()) == net
    train = TrainSpec("fashionmnist", 64, 0.05, momentum=0.9, train_size=1000)
    assert train.dataset == "FashionMNIST"
    assert TrainSpec.from_dict(train.to_dict()) == train


def test_shapes_and_counts():
    net = tiny()
    assert net.feature_shapes() == [(8, 14, 14), (16, 6, 6)]
    assert net.flat_features == 16 * 36
    assert net.n_params == (9 * 8 + 8) + (9 * 8 * 16 + 16) + (576 * 32 + 32) + (32 * 10 + 10)
    # conv3 -> 3 px; pool2 (stride 2) -> 4 px, jump 2; conv3 at jump 2 -> 4 + 2 * 2 = 8 px
    assert net.receptive_field() == 8


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(conv=(ConvLayer(8, 30),)), "collapses below 1x1"),
        (
            dict(conv=(ConvLayer(8, 3, 1, 0, Pool(2, 2)), ConvLayer(8, 3, 1, 0, Pool(12, 1)))),
            "pool kernel 12",
        ),
        (dict(fc=(32, 10), fc_dropout=(True, False)), "one flag per hidden FC layer"),
        (dict(conv=()), "at least one conv layer"),
        (dict(conv_dropout_rate=1.0), "conv_dropout_rate"),
        (dict(input_shape=(1, 28)), "input_shape"),
    ],
)
def test_invalid_specs_say_why(kwargs, message):
    with pytest.raises(SpecError, match=message):
        tiny(**kwargs)


def test_layer_validation():
    with pytest.raises(SpecError, match="filters"):
        ConvLayer(0, 3)
    with pytest.raises(SpecError, match="pool padding 3 exceeds half"):
        Pool(4, 1, 3)
    with pytest.raises(SpecError, match="says pool=True"):
        ConvLayer(8, 3, layer_type=3)
    assert ConvLayer(8, 3, pool=Pool(2, 2), dropout=True).type_code == 7
    assert ConvLayer(8, 3, dropout=True, layer_type=4).type_code == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dataset="MNIST"), "unknown dataset 'MNIST'"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate=0.0), "learning_rate must be > 0"),
        (dict(momentum=float("nan")), "momentum"),
        (dict(epochs=0), "epochs must be > 0"),
        (dict(eval_interval=0.3), "does not split an epoch"),
        (dict(epochs=1.25), "whole number of eval intervals"),
        (dict(optimizer="Adam"), "optimizer 'Adam' is not supported"),
        (dict(val_source="holdout"), "val_source"),
    ],
)
def test_invalid_train_specs_say_why(kwargs, message):
    args = dict(dataset="CIFAR100", batch_size=32, learning_rate=0.1)
    args.update(kwargs)
    with pytest.raises(SpecError, match=message):
        TrainSpec(**args)


def test_records():
    t = TrainSpec("SVHN", 32, 0.1)
    assert t.n_records == 80
    assert t.record_epochs[:3] == [0.5, 1.0, 1.5] and t.record_epochs[-1] == 40.0
    assert TrainSpec("SVHN", 32, 0.1, epochs=3, eval_interval=0.25).n_records == 12


def test_dataset_names_case_insensitive():
    assert canonical_dataset("cifar100") == "CIFAR100"
    assert canonical_dataset("Fashion-MNIST") == "FashionMNIST"
    assert canonical_dataset("svhn") == "SVHN"


def test_for_dataset_checks_input_and_classes():
    net = tiny()
    assert net.for_dataset("FashionMNIST") is net
    with pytest.raises(SpecError, match="CIFAR100 images are"):
        net.for_dataset("CIFAR100")
    with pytest.raises(SpecError, match="must have 10"):
        tiny(fc=(32, 100)).for_dataset("FashionMNIST")

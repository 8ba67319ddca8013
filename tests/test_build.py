import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nnlife
from nnlife.errors import SpecError
from nnlife.generate.sampling import sample


def _flops(model, shape):
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *shape))
    return counter.get_total_flops()


def test_samples_rebuild_into_cifar100_modules(sample_paths):
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for p in sample_paths:
        net = nnlife.read_lifespan(p).net
        model = nnlife.build(net, dataset="CIFAR100").eval()
        with torch.inference_mode():
            out = model(x)
        assert out.shape == (4, 100) and torch.isfinite(out).all()
        assert sum(q.numel() for q in model.parameters()) == net.n_params
        assert _flops(model, (3, 32, 32)) == net.flops_per_image


@pytest.mark.parametrize(
    "space, dataset",
    [("paper", "CIFAR100"), ("paper", "FashionMNIST"), ("small", "FashionMNIST"), ("small", "SVHN")],
)
def test_analytic_counts_match_torch(space, dataset):
    for seed in range(6):
        net, _ = sample(space, dataset, seed=seed)
        if net.n_params > 20_000_000:  # keep the test fast; the formula is the same for big nets
            continue
        model = nnlife.build(net, dataset=dataset)
        assert sum(q.numel() for q in model.parameters()) == net.n_params
        assert _flops(model, net.input_shape) == net.flops_per_image
        c, h, w = net.input_shape
        assert model(torch.zeros(2, c, h, w)).shape == (2, net.n_classes)


def test_layer_order_pool_then_dropout(sample_paths):
    net = nnlife.read_lifespan(sample_paths[2]).net  # 5-3-7: dropout, pool, pool+dropout
    kinds = [type(m).__name__ for m in nnlife.build(net)]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "Dropout",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Dropout",
        "Flatten",
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]


def test_weights_come_from_the_generator_only():
    net, _ = sample("small", "FashionMNIST", seed=1)
    state = torch.random.get_rng_state()
    a = nnlife.build(net, generator=torch.Generator().manual_seed(5))
    b = nnlife.build(net, generator=torch.Generator().manual_seed(5))
    c = nnlife.build(net, generator=torch.Generator().manual_seed(6))
    assert torch.equal(torch.random.get_rng_state(), state)  # global generator untouched
    pa, pb, pc = (torch.cat([q.flatten() for q in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_spec_for_wrong_dataset_is_a_clear_error(sample_paths):
    net = nnlife.read_lifespan(sample_paths[0]).net
    with pytest.raises(SpecError, match="FashionMNIST images are"):
        nnlife.build(net, dataset="FashionMNIST")

import numpy as np
import pytest

from nnlife.errors import ParameterError
from nnlife.generate.sampling import sample
from nnlife.space import PAPER, SMALL
from nnlife.spec import DATASET_SHAPES


def test_same_seed_same_sample():
    assert sample("paper", "CIFAR100", seed=7) == sample("paper", "CIFAR100", seed=7)
    assert sample("paper", "CIFAR100", seed=7) != sample("paper", "CIFAR100", seed=8)
    a = sample("small", "FashionMNIST", seed=np.random.default_rng(3))
    assert a == sample("small", "FashionMNIST", seed=np.random.default_rng(3))


def test_no_global_numpy_draws():
    state = np.random.get_state()
    sample("paper", "SVHN", seed=1)
    assert all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
        for x, y in zip(state, np.random.get_state())
    )


def _reach(values, lo, hi, frac=0.1):
    span = hi - lo
    return min(values) <= lo + frac * span and max(values) >= hi - frac * span


@pytest.mark.parametrize("space", [PAPER, SMALL])
def test_thousand_samples_valid_and_cover_the_ranges(space):
    draws = {ds: [sample(space, ds, seed=i) for i in range(1000)] for ds in ("CIFAR100", "FashionMNIST")}
    for ds, pairs in draws.items():
        for net, train in pairs:  # construction validated them; check the dataset fit too
            assert net.for_dataset(ds).input_shape == DATASET_SHAPES[ds]
            assert train.dataset == ds
    pairs = draws["CIFAR100"]
    layers = [c for net, _ in pairs for c in net.conv]
    pools = [c.pool for c in layers if c.pool is not None]
    nets = [n for n, _ in pairs]
    trains = [t for _, t in pairs]
    assert _reach([len(n.conv) for n in nets], *space.conv_layers, frac=0)
    assert _reach([c.filters for c in layers], *space.filters)
    assert _reach([c.kernel for c in layers], *space.kernel)
    assert _reach([c.stride for c in layers], *space.stride)
    assert _reach([c.padding for c in layers], *space.padding, frac=0)
    assert _reach([p.kernel for p in pools], *space.pool_kernel, frac=0)
    assert _reach([p.stride for p in pools], *space.pool_stride, frac=0)
    assert _reach([len(n.fc) for n in nets], *space.fc_layers, frac=0)
    assert _reach([u for n in nets for u in n.fc[:-1]], *space.fc_units)
    rates = [n.conv_dropout_rate for n in nets if n.conv_dropout_rate > 0]
    assert _reach(rates, *space.dropout_rate)
    assert _reach([t.batch_size for t in trains], *space.batch_size)
    lr = np.log([t.learning_rate for t in trains])
    assert _reach(lr, *np.log(space.learning_rate))
    momenta = [t.momentum for t in trains]
    assert 0 < momenta.count(0.0) < len(momenta) or space.momentum_zero_prob in (0, 1)
    assert len({t.seed for t in trains}) == len(trains)


def test_paper_space_covers_the_published_samples(sample_paths):
    from nnlife import read_lifespan

    for p in sample_paths:
        life = read_lifespan(p)
        for c in life.net.conv:
            assert PAPER.filters[0] <= c.filters <= PAPER.filters[1]
            assert PAPER.kernel[0] <= c.kernel <= PAPER.kernel[1]
            assert PAPER.stride[0] <= c.stride <= PAPER.stride[1]
            assert PAPER.padding[0] <= c.padding <= PAPER.padding[1]
            if c.pool:
                assert PAPER.pool_kernel[0] <= c.pool.kernel <= PAPER.pool_kernel[1]
        assert PAPER.conv_layers[0] <= len(life.net.conv) <= PAPER.conv_layers[1]
        assert PAPER.fc_layers[0] <= len(life.net.fc) <= PAPER.fc_layers[1]
        assert PAPER.batch_size[0] <= life.train.batch_size <= PAPER.batch_size[1]
        assert PAPER.learning_rate[0] <= life.train.learning_rate <= PAPER.learning_rate[1]
        for rate in (life.net.conv_dropout_rate, life.net.fc_dropout_rate):
            assert rate == 0 or PAPER.dropout_rate[0] <= rate <= PAPER.dropout_rate[1]


def test_overrides_and_errors():
    net, train = sample("small", "FashionMNIST", seed=0, epochs=2, train_size=500)
    assert train.epochs == 2 and train.train_size == 500
    with pytest.raises(ParameterError, match="unknown search space 'huge'"):
        sample("huge", "FashionMNIST")
    with pytest.raises(ParameterError, match="unknown dataset 'MNIST'"):
        sample("small", "MNIST")

"""Draw a random network and its training from a search space (``nnlife.space``) for a dataset.

Layer by layer, the sampler draws each window only from the sizes that still fit the current
feature map, so every sample is valid for the dataset's input size (no rejection loop).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..datasets import DATASET_SHAPES, N_CLASSES, canonical_name
from ..errors import ParameterError
from ..space import get_space
from ..spec import ConvLayer, NetSpec, Pool, TrainSpec, out_size


def _int(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1)) if high >= low else int(low)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _maybe_zero(rng, zero_prob: float, draw) -> float:
    return 0.0 if rng.random() < zero_prob else draw()


def _int_on(rng: np.random.Generator, low: int, high: int, scale: str) -> int:
    """An integer in [low, high], uniform or log-uniform (floor of a log-uniform on [low, high + 1))."""
    if scale == "log" and high > low:
        return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))
    return _int(rng, low, high)


def _real_on(rng: np.random.Generator, bounds, scale: str) -> float:
    value = _log_uniform(rng, *bounds) if scale == "log" else float(rng.uniform(*bounds))
    return min(max(value, bounds[0]), bounds[1])  # exp(log(x)) may miss a range end by a rounding


def _count(rng: np.random.Generator, bounds, weights) -> int:
    """A layer count in ``bounds``: uniform, or with the space's chances per count."""
    if weights is None:
        return _int(rng, *bounds)
    return bounds[0] + int(rng.choice(len(weights), p=np.asarray(weights) / sum(weights)))


def sample(
    space="paper", dataset: str = "CIFAR100", seed: int | np.random.Generator = 0, **train_fields
) -> tuple[NetSpec, TrainSpec]:
    """Draw one network and its training from ``space`` for ``dataset``.

    ``seed``: an int or a numpy Generator; the same seed gives the same result. The TrainSpec's
    own ``seed`` (weights, data order, dropout) is drawn too, in [0, 2**32) like the original's
    ``random_seed``. ``train_fields`` override TrainSpec fields (epochs, eval_interval,
    train_size, ...). Raises ParameterError for an unknown space or dataset, or a seed that is
    neither a non-negative integer nor a Generator (None too: no hidden randomness).
    """
    space = get_space(space)
    dataset = canonical_name(dataset)
    if not isinstance(seed, np.random.Generator):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ParameterError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
        seed = int(seed)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    c, h, w = DATASET_SHAPES[dataset]
    size = min(h, w)

    sc = space.scale
    fc_range = space.fc_dropout_rate or space.dropout_rate
    fc_scale = sc("fc_dropout_rate") if space.fc_dropout_rate else sc("dropout_rate")
    dropout_on = rng.random() >= space.dropout_zero_prob
    conv_rate = _real_on(rng, space.dropout_rate, sc("dropout_rate")) if dropout_on else 0.0
    if space.fc_dropout_zero_prob is None:  # one draw decides both (PAPER, SMALL)
        fc_rate = _real_on(rng, fc_range, fc_scale) if dropout_on else 0.0
    else:
        fc_rate = _real_on(rng, fc_range, fc_scale) if rng.random() >= space.fc_dropout_zero_prob else 0.0
    layers = []
    for _ in range(_count(rng, space.conv_layers, space.conv_layers_weights)):
        # kernel first: any kernel that the largest padding can fit; then a padding that fits it
        k = _int_on(rng, space.kernel[0], min(space.kernel[1], size + 2 * space.padding[1]), sc("kernel"))
        p = _int_on(rng, max(space.padding[0], math.ceil((k - size) / 2)), space.padding[1], sc("padding"))
        s = _int_on(rng, *space.stride, sc("stride"))
        size = out_size(size, k, s, p)
        pool = None
        if rng.random() < space.pool_prob:
            # any pool kernel fits: padding up to pk // 2 always reaches it (pk - 2*(pk//2) <= 1)
            pk = _int_on(rng, *space.pool_kernel, sc("pool_kernel"))
            pp = _int(rng, max(0, math.ceil((pk - size) / 2)), pk // 2)
            ps = _int_on(rng, *space.pool_stride, sc("pool_stride"))
            pool = Pool(pk, ps, pp)
            size = out_size(size, pk, ps, pp)
        drop = conv_rate > 0 and rng.random() < space.dropout_layer_prob
        layers.append(ConvLayer(_int_on(rng, *space.filters, sc("filters")), k, s, p, pool, drop))
    n_fc = _count(rng, space.fc_layers, space.fc_layers_weights)
    hidden = [_int_on(rng, *space.fc_units, sc("fc_units")) for _ in range(n_fc - 1)]
    flags = [fc_rate > 0 and rng.random() < space.dropout_layer_prob for _ in hidden]
    net = NetSpec(
        input_shape=(c, h, w),
        conv=tuple(layers),
        fc=tuple(hidden) + (N_CLASSES[dataset],),
        fc_dropout=tuple(flags),
        conv_dropout_rate=conv_rate,
        fc_dropout_rate=fc_rate,
    )
    train = TrainSpec(
        dataset=dataset,
        batch_size=_int_on(rng, *space.batch_size, sc("batch_size")),
        learning_rate=_real_on(rng, space.learning_rate, sc("learning_rate")),
        momentum=_maybe_zero(
            rng, space.momentum_zero_prob, lambda: _real_on(rng, space.momentum, sc("momentum"))
        ),
        dampening=_maybe_zero(
            rng, space.dampening_zero_prob, lambda: _real_on(rng, space.dampening, sc("dampening"))
        ),
        weight_decay=_maybe_zero(
            rng, space.weight_decay_zero_prob, lambda: _real_on(rng, space.weight_decay, sc("weight_decay"))
        ),
        seed=int(rng.integers(0, 2**32)),
    )
    if train_fields:
        train = train.replace(**train_fields)
    return net, train


__all__ = ["sample"]

"""Search spaces as data, and the sampler that reads them.

``PAPER`` follows the parameter families of the published dataset of 6000 random CNNs; its ranges
cover the three published samples (../shared/fixtures/original-format):

==================  =========================  ==================================================
parameter           PAPER                      why
==================  =========================  ==================================================
conv layers         2 to 5                     "several" per CIFAR-100 net; all samples have 3
filters             1 to 400                   samples: 63 to 384
conv kernel         1 to 32                    samples: 1 to 32 (32 = the whole CIFAR image)
conv stride         1 to 20                    samples: 1 to 20
conv padding        0 to 5                     samples: 1 to 5
pooling             p = 0.5 per layer          samples: 4 of 9 layers pool
pool kernel         1 to 10                    samples: 1, 5, 10
pool stride         1 to 10                    samples: 1 to 4
pool padding        0 to kernel // 2           torch's limit; samples: 0, 1, 4
conv dropout        rate 0 (p = 1/3) or        samples: 0, 0.40, 0.46; layers with dropout
                    U(0.05, 0.5); p = 0.5/layer
FC layers           1 to 3 (incl. output)      samples: 1, 2, 3
hidden FC units     10 to 400                  samples: 145 to 358
FC dropout          rate 0 (p = 1/3) or        samples: 0, 0.43, 0.46
                    U(0.05, 0.5); p = 0.5/layer
batch size          16 to 256                  samples: 25, 152, 186
learning rate       log-uniform 1e-3 to 1      samples: 0.010 to 0.78
momentum            0 (p = 1/2) or             samples: 0, 0, 4.9e-5 (often exactly 0)
                    log-uniform 1e-5 to 0.99
dampening           0 (p = 3/4) or U(0, 0.5)   samples: all 0
weight decay        0 (p = 1/3) or             samples: 0, 5.5e-4, 0.016
                    log-uniform 1e-5 to 0.05
==================  =========================  ==================================================

``SMALL`` holds networks for which a 40-epoch lifespan on a few thousand Fashion-MNIST images
takes minutes on a 2-core CPU: 1 to 3 conv layers of 4 to 32 filters with small kernels, pooling
by 2, 1 or 2 FC layers of up to 128 units, and training settings that usually learn.

Layer by layer, the sampler draws each window only from the sizes that still fit the current
feature map, so every sample is valid for the dataset's input size (no rejection loop).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .spec import DATASET_SHAPES, N_CLASSES, ConvLayer, NetSpec, Pool, TrainSpec, canonical_dataset


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of a random-CNN search space; integer ranges are inclusive (low, high)."""

    name: str
    conv_layers: tuple[int, int]         # number of conv layers
    filters: tuple[int, int]             # output channels per conv layer
    kernel: tuple[int, int]              # conv kernel side, pixels
    stride: tuple[int, int]              # conv stride, pixels
    padding: tuple[int, int]             # conv zero padding per side, pixels
    pool_prob: float                     # chance that a conv layer is followed by max pooling
    pool_kernel: tuple[int, int]         # pool window side, pixels
    pool_stride: tuple[int, int]         # pool step, pixels
    dropout_zero_prob: float             # chance that a net has no dropout at all (conv or FC)
    dropout_rate: tuple[float, float]    # uniform range of a non-zero dropout rate
    dropout_layer_prob: float            # chance that a layer gets dropout when the rate is > 0
    fc_layers: tuple[int, int]           # FC layers including the output layer
    fc_units: tuple[int, int]            # units per hidden FC layer
    batch_size: tuple[int, int]          # images per SGD step
    learning_rate: tuple[float, float]   # log-uniform range of the SGD step size
    momentum_zero_prob: float            # chance of momentum exactly 0
    momentum: tuple[float, float]        # log-uniform range of a non-zero momentum
    dampening_zero_prob: float           # chance of dampening exactly 0
    dampening: tuple[float, float]       # uniform range of a non-zero dampening
    weight_decay_zero_prob: float        # chance of weight decay exactly 0
    weight_decay: tuple[float, float]    # log-uniform range of a non-zero weight decay


PAPER = SearchSpace(
    name="paper", conv_layers=(2, 5), filters=(1, 400), kernel=(1, 32), stride=(1, 20),
    padding=(0, 5), pool_prob=0.5, pool_kernel=(1, 10), pool_stride=(1, 10),
    dropout_zero_prob=1 / 3, dropout_rate=(0.05, 0.5), dropout_layer_prob=0.5,
    fc_layers=(1, 3), fc_units=(10, 400), batch_size=(16, 256), learning_rate=(1e-3, 1.0),
    momentum_zero_prob=0.5, momentum=(1e-5, 0.99), dampening_zero_prob=0.75, dampening=(0.0, 0.5),
    weight_decay_zero_prob=1 / 3, weight_decay=(1e-5, 0.05),
)

SMALL = SearchSpace(
    name="small", conv_layers=(1, 3), filters=(4, 32), kernel=(1, 5), stride=(1, 2),
    padding=(0, 2), pool_prob=0.5, pool_kernel=(2, 3), pool_stride=(2, 2),
    dropout_zero_prob=0.5, dropout_rate=(0.05, 0.5), dropout_layer_prob=0.5,
    fc_layers=(1, 2), fc_units=(16, 128), batch_size=(32, 256), learning_rate=(3e-3, 0.3),
    momentum_zero_prob=0.3, momentum=(0.5, 0.95), dampening_zero_prob=1.0, dampening=(0.0, 0.0),
    weight_decay_zero_prob=0.5, weight_decay=(1e-5, 1e-3),
)

SPACES = {"paper": PAPER, "small": SMALL}


def get_space(space) -> SearchSpace:
    """A SearchSpace from itself or its name ("paper", "small"); ParameterError otherwise."""
    if isinstance(space, SearchSpace):
        return space
    found = SPACES.get(str(space).lower())
    if found is None:
        raise ParameterError(f"unknown search space {space!r}: use one of {', '.join(SPACES)} "
                             "or pass a nnlife.space.SearchSpace")
    return found


def _int(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1)) if high >= low else int(low)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _maybe_zero(rng, zero_prob: float, draw) -> float:
    return 0.0 if rng.random() < zero_prob else draw()


def sample(space="paper", dataset: str = "CIFAR100", seed: int | np.random.Generator = 0,
           **train_fields) -> tuple[NetSpec, TrainSpec]:
    """Draw one network and its training from ``space`` for ``dataset``.

    ``seed``: an int or a numpy Generator; the same seed gives the same result. The TrainSpec's
    own ``seed`` (weights, data order, dropout) is drawn too, in [0, 2**32) like the original's
    ``random_seed``. ``train_fields`` override TrainSpec fields (epochs, eval_interval,
    train_size, ...). Raises ParameterError for an unknown space or dataset.
    """
    space = get_space(space)
    try:
        dataset = canonical_dataset(dataset)
    except ValueError as e:
        raise ParameterError(str(e)) from None
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    c, h, w = DATASET_SHAPES[dataset]
    size = min(h, w)

    dropout_on = rng.random() >= space.dropout_zero_prob
    conv_rate = float(rng.uniform(*space.dropout_rate)) if dropout_on else 0.0
    fc_rate = float(rng.uniform(*space.dropout_rate)) if dropout_on else 0.0
    layers = []
    for _ in range(_int(rng, *space.conv_layers)):
        # kernel first: any kernel that the largest padding can fit; then a padding that fits it
        k = _int(rng, space.kernel[0], min(space.kernel[1], size + 2 * space.padding[1]))
        p = _int(rng, max(space.padding[0], math.ceil((k - size) / 2)), space.padding[1])
        s = _int(rng, *space.stride)
        size = (size + 2 * p - k) // s + 1
        pool = None
        if rng.random() < space.pool_prob:
            # any pool kernel fits: padding up to pk // 2 always reaches it (pk - 2*(pk//2) <= 1)
            pk = _int(rng, *space.pool_kernel)
            pp = _int(rng, max(0, math.ceil((pk - size) / 2)), pk // 2)
            ps = _int(rng, *space.pool_stride)
            pool = Pool(pk, ps, pp)
            size = (size + 2 * pp - pk) // ps + 1
        drop = conv_rate > 0 and rng.random() < space.dropout_layer_prob
        layers.append(ConvLayer(_int(rng, *space.filters), k, s, p, pool, drop))
    n_fc = _int(rng, *space.fc_layers)
    hidden = [_int(rng, *space.fc_units) for _ in range(n_fc - 1)]
    flags = [fc_rate > 0 and rng.random() < space.dropout_layer_prob for _ in hidden]
    net = NetSpec(input_shape=(c, h, w), conv=tuple(layers), fc=tuple(hidden) + (N_CLASSES[dataset],),
                  fc_dropout=tuple(flags), conv_dropout_rate=conv_rate, fc_dropout_rate=fc_rate)
    train = TrainSpec(
        dataset=dataset,
        batch_size=_int(rng, *space.batch_size),
        learning_rate=_log_uniform(rng, *space.learning_rate),
        momentum=_maybe_zero(rng, space.momentum_zero_prob, lambda: _log_uniform(rng, *space.momentum)),
        dampening=_maybe_zero(rng, space.dampening_zero_prob, lambda: float(rng.uniform(*space.dampening))),
        weight_decay=_maybe_zero(rng, space.weight_decay_zero_prob,
                                 lambda: _log_uniform(rng, *space.weight_decay)),
        seed=int(rng.integers(0, 2**32)),
    )
    if train_fields:
        train = train.replace(**train_fields)
    return net, train


__all__ = ["SearchSpace", "PAPER", "SMALL", "SPACES", "get_space", "sample"]

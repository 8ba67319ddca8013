"""Search spaces as data, and the sampler that reads them.

``PAPER`` follows the parameter families of the published dataset of 6000 random CNNs; its ranges
cover the three published samples (tests/fixtures/original-format):

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

The sampler that reads a space is ``nnlife.generate.sampling.sample`` (``nnlife.sample``); this
module is plain data, so the analysis side can hold and compare spaces without numpy or torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParameterError


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of a random-CNN search space; integer ranges are inclusive (low, high)."""

    name: str
    conv_layers: tuple[int, int]  # number of conv layers
    filters: tuple[int, int]  # output channels per conv layer
    kernel: tuple[int, int]  # conv kernel side, pixels
    stride: tuple[int, int]  # conv stride, pixels
    padding: tuple[int, int]  # conv zero padding per side, pixels
    pool_prob: float  # chance that a conv layer is followed by max pooling
    pool_kernel: tuple[int, int]  # pool window side, pixels
    pool_stride: tuple[int, int]  # pool step, pixels
    dropout_zero_prob: float  # chance that a net has no dropout at all (conv or FC)
    dropout_rate: tuple[float, float]  # uniform range of a non-zero dropout rate
    dropout_layer_prob: float  # chance that a layer gets dropout when the rate is > 0
    fc_layers: tuple[int, int]  # FC layers including the output layer
    fc_units: tuple[int, int]  # units per hidden FC layer
    batch_size: tuple[int, int]  # images per SGD step
    learning_rate: tuple[float, float]  # log-uniform range of the SGD step size
    momentum_zero_prob: float  # chance of momentum exactly 0
    momentum: tuple[float, float]  # log-uniform range of a non-zero momentum
    dampening_zero_prob: float  # chance of dampening exactly 0
    dampening: tuple[float, float]  # uniform range of a non-zero dampening
    weight_decay_zero_prob: float  # chance of weight decay exactly 0
    weight_decay: tuple[float, float]  # log-uniform range of a non-zero weight decay


PAPER = SearchSpace(
    name="paper",
    conv_layers=(2, 5),
    filters=(1, 400),
    kernel=(1, 32),
    stride=(1, 20),
    padding=(0, 5),
    pool_prob=0.5,
    pool_kernel=(1, 10),
    pool_stride=(1, 10),
    dropout_zero_prob=1 / 3,
    dropout_rate=(0.05, 0.5),
    dropout_layer_prob=0.5,
    fc_layers=(1, 3),
    fc_units=(10, 400),
    batch_size=(16, 256),
    learning_rate=(1e-3, 1.0),
    momentum_zero_prob=0.5,
    momentum=(1e-5, 0.99),
    dampening_zero_prob=0.75,
    dampening=(0.0, 0.5),
    weight_decay_zero_prob=1 / 3,
    weight_decay=(1e-5, 0.05),
)

SMALL = SearchSpace(
    name="small",
    conv_layers=(1, 3),
    filters=(4, 32),
    kernel=(1, 5),
    stride=(1, 2),
    padding=(0, 2),
    pool_prob=0.5,
    pool_kernel=(2, 3),
    pool_stride=(2, 2),
    dropout_zero_prob=0.5,
    dropout_rate=(0.05, 0.5),
    dropout_layer_prob=0.5,
    fc_layers=(1, 2),
    fc_units=(16, 128),
    batch_size=(32, 256),
    learning_rate=(3e-3, 0.3),
    momentum_zero_prob=0.3,
    momentum=(0.5, 0.95),
    dampening_zero_prob=1.0,
    dampening=(0.0, 0.0),
    weight_decay_zero_prob=0.5,
    weight_decay=(1e-5, 1e-3),
)

SPACES = {"paper": PAPER, "small": SMALL}


def get_space(space) -> SearchSpace:
    """A SearchSpace from itself or its name ("paper", "small"); ParameterError otherwise."""
    if isinstance(space, SearchSpace):
        return space
    found = SPACES.get(str(space).lower())
    if found is None:
        raise ParameterError(
            f"unknown search space {space!r}: use one of {', '.join(SPACES)} "
            "or pass a nnlife.space.SearchSpace"
        )
    return found


__all__ = ["SearchSpace", "PAPER", "SMALL", "SPACES", "get_space"]

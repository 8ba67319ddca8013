"""Limits on the size of a network, checked before anything is allocated.

A table or spec may describe a network far beyond any machine (``convFilters 2000000`` asks torch
for 136 GB); nnlife refuses such a network when the spec is made or read, with what was asked and
the limit, instead of failing deep inside torch. The defaults sit far above the published search
space (its largest networks have some 10^8 parameters and need a few GB of activations at batch
size 256) and can be raised for bigger machines through the environment:

- ``NNLIFE_MAX_PARAMS``: trainable parameters of one network (default 10^9, 4 GB of float32
  weights before gradients and optimizer state);
- ``NNLIFE_MAX_ACTIVATION_GB``: memory of the activations kept for the backward pass of one
  training batch, estimated as 4 bytes x batch size x (input + every conv output + its ReLU and
  pooling outputs + every FC output, twice) (default 32 GB).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import SpecError

if TYPE_CHECKING:
    from .spec import NetSpec

MAX_PARAMS = 10**9  # default limit on trainable parameters
MAX_ACTIVATION_GB = 32.0  # default limit on the activations of one training batch, GB (10^9 bytes)
BYTES_PER_VALUE = 4  # float32


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"${name}={text!r} is not a number") from None
    if not value > 0:
        raise SpecError(f"${name}={text!r} must be > 0")
    return value


def max_params() -> int:
    """The parameter limit in force ($NNLIFE_MAX_PARAMS, else MAX_PARAMS)."""
    return int(_env_number("NNLIFE_MAX_PARAMS", MAX_PARAMS))


def max_activation_bytes() -> float:
    """The activation-memory limit in force, bytes ($NNLIFE_MAX_ACTIVATION_GB, else 32 GB)."""
    return _env_number("NNLIFE_MAX_ACTIVATION_GB", MAX_ACTIVATION_GB) * 1e9


def check_params(n_params: int) -> None:
    """SpecError when a network's parameter count is above the limit."""
    limit = max_params()
    if n_params > limit:
        raise SpecError(
            f"the network has {n_params:,} parameters; nnlife's limit is {limit:,} "
            "(NNLIFE_MAX_PARAMS); make it smaller (fewer filters or FC units, or more "
            "stride/pooling before the FC layers)"
        )


def activation_values(net: NetSpec) -> int:
    """Activation values one image keeps for the backward pass (see the module docstring)."""
    c, h, w = net.input_shape
    total = c * h * w
    for (conv_shape, out_shape), layer in zip(net.layer_shapes(), net.conv):
        conv = conv_shape[0] * conv_shape[1] * conv_shape[2]
        total += 2 * conv  # the convolution and its ReLU
        if layer.pool is not None:
            total += out_shape[0] * out_shape[1] * out_shape[2]
    return total + 2 * sum(net.fc)


def check_activations(net: NetSpec, batch_size: int) -> None:
    """SpecError when one training batch of ``net`` would keep more activations than the limit."""
    need = BYTES_PER_VALUE * batch_size * activation_values(net)
    limit = max_activation_bytes()
    if need > limit:
        raise SpecError(
            f"one training batch of {batch_size} images of this network keeps about "
            f"{need / 1e9:,.1f} GB of activations; nnlife's limit is {limit / 1e9:,.1f} GB "
            "(NNLIFE_MAX_ACTIVATION_GB); use a smaller batch size or a smaller network"
        )


__all__ = [
    "MAX_PARAMS",
    "MAX_ACTIVATION_GB",
    "max_params",
    "max_activation_bytes",
    "check_params",
    "activation_values",
    "check_activations",
]

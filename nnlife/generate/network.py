"""NetSpec -> torch.nn.Module (the generation side; imports torch).

The module follows the layer order documented in ``nnlife.spec``: each conv layer is
Conv2d -> ReLU -> [MaxPool2d] -> [Dropout], then Flatten, hidden Linear -> ReLU -> [Dropout],
and the output Linear (logits). Weights use torch's default initialisation, drawn from the
``generator`` the caller passes (nnlife never draws from torch's global generator).
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec import NetSpec


def build(net: NetSpec, dataset: str | None = None, generator: torch.Generator | None = None) -> nn.Module:
    """Build the torch module of ``net``; with ``dataset``, first check that the spec fits it.

    Input: float tensors (N, C, H, W) of ``net.input_shape``; output: logits (N, n_classes).
    ``generator``: the torch.Generator that initialises the weights (a fresh one seeded 0 when
    None, so the same spec always builds the same weights unless told otherwise).
    Raises SpecError when ``dataset`` is given and the spec does not fit its images or classes.
    """
    if dataset is not None:
        net.for_dataset(dataset)
    layers: list[nn.Module] = []
    cin = net.input_shape[0]
    for layer in net.conv:
        layers += [
            _skip_init(nn.Conv2d, cin, layer.filters, layer.kernel, layer.stride, layer.padding),
            nn.ReLU(),
        ]
        if layer.pool is not None:
            layers.append(nn.MaxPool2d(layer.pool.kernel, layer.pool.stride, layer.pool.padding))
        if layer.dropout:
            layers.append(nn.Dropout(net.conv_dropout_rate))
        cin = layer.filters
    layers.append(nn.Flatten())
    fin = net.flat_features
    for units, drop in zip(net.fc[:-1], net.fc_dropout):
        layers += [_skip_init(nn.Linear, fin, units), nn.ReLU()]
        if drop:
            layers.append(nn.Dropout(net.fc_dropout_rate))
        fin = units
    layers.append(_skip_init(nn.Linear, fin, net.fc[-1]))
    model = nn.Sequential(*layers)
    init_weights(model, generator if generator is not None else torch.Generator().manual_seed(0))
    return model


def _skip_init(cls, *args):
    """Construct a layer without torch's own initialisation, which draws from the global generator."""
    return nn.utils.skip_init(cls, *args)


def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every conv and linear layer's weights with torch's default scheme, from ``generator``.

    torch's own ``reset_parameters`` draws from the global generator; this repeats its scheme
    (kaiming_uniform with a=sqrt(5) for weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for biases)
    with an explicit generator, so nothing global is touched.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                bound = 1.0 / fan_in**0.5  # kaiming_uniform(a=sqrt(5)) gives this same bound
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)

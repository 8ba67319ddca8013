"""PENGUIN's family (Rorabaugh et al., the published dataset's prediction engine): the function,
its Jacobian, starting values and PENGUIN's own bounds and start (``nnlife.analyse.families``
registers it)."""

from __future__ import annotations

import numpy as np

from .common import INF, _cols, _grid, _span, _stack

PENGUIN_P0 = (10.0, 1.001, 100.0)  # PENGUIN's curve_fit starting values (a, b, c)
PENGUIN_LOWER = (0.5, 1.0, 0.0)  # PENGUIN's curve_fit lower bounds
PENGUIN_UPPER = (200.0, INF, INF)  # PENGUIN's curve_fit upper bounds


def penguin3(x, P):
    """PENGUIN: y = a - b^(c - x), x in half epochs. Rorabaugh et al., PENGUIN's CurveFit.py."""
    a, b, c = _cols(P)
    return a - np.exp((c - x) * np.log(b))


def _penguin3_jac(x, P):
    a, b, c = _cols(P)
    t = np.exp((c - x) * np.log(b))
    return _stack(np.ones_like(t), -t * (c - x) / b, -t * np.log(b), shape=t.shape)


def _penguin3_starts(x, Y, W):
    # y = a - K e^(-r x) with r = ln b and K = b^c: linear in (a, K) for fixed r.
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for s in (0.3, 1.0, 3.0, 10.0, 30.0):
        r = s / hi
        designs.append(
            (
                np.column_stack([np.ones_like(x), -np.exp(-r * x)]),
                None,
                lambda k, r=r: np.column_stack(
                    [k[:, 0], np.full(B, np.exp(r)), np.log(np.maximum(k[:, 1], 1.0)) / r]
                ),
            )
        )
    cand = _grid(x, Y, W, designs)
    p0 = np.broadcast_to(np.asarray(PENGUIN_P0), (B, 3))[None]
    return np.concatenate([p0, cand])

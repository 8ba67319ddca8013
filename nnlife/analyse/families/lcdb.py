"""The further families of LCDB 1.0 (Mohr & van Rijn 2022, ECML PKDD): functions, analytic
Jacobians and starting values (``nnlife.analyse.families`` registers them)."""

from __future__ import annotations

import numpy as np

from .common import _cols, _grid, _span, _stack


def pow2(x, P):
    """Power law: y = -a x^-b. LCDB (Mohr & van Rijn 2022)."""
    a, b = _cols(P)
    return -a * x ** (-b)


def _pow2_jac(x, P):
    a, b = _cols(P)
    t = x ** (-b)
    return _stack(-t, a * t * np.log(x), shape=t.shape)


def _pow2_starts(x, Y, W):
    B = Y.shape[0]
    designs = []
    for b in (-2.0, -1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0, 2.0):
        designs.append(((-(x**-b))[:, None], None, lambda k, b=b: np.column_stack([k[:, 0], np.full(B, b)])))
    return _grid(x, Y, W, designs)


def log2(x, P):
    """Logarithm: y = -a ln x + b. LCDB (Mohr & van Rijn 2022)."""
    a, b = _cols(P)
    return -a * np.log(x) + b


def _log2_jac(x, P):
    a, b = _cols(P)
    L = np.log(x) + 0.0 * a
    return _stack(-L, np.ones_like(L), shape=L.shape)


def _log2_starts(x, Y, W):
    G = np.column_stack([-np.log(x), np.ones_like(x)])
    return _grid(x, Y, W, [(G, None, lambda k: k)])


def exp2(x, P):
    """Exponential: y = a exp(-b x). LCDB (Mohr & van Rijn 2022)."""
    a, b = _cols(P)
    return a * np.exp(-b * x)


def _exp2_jac(x, P):
    a, b = _cols(P)
    E = np.exp(-b * x)
    return _stack(E, -a * x * E, shape=E.shape)


def _exp2_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for r in (-3.0, -1.0, -0.3, -0.1, 0.1, 0.3, 1.0, 3.0, 10.0):
        b = r / hi
        designs.append(
            (np.exp(-b * x)[:, None], None, lambda k, b=b: np.column_stack([k[:, 0], np.full(B, b)]))
        )
    return _grid(x, Y, W, designs)


def lin2(x, P):
    """Linear: y = a x + b. LCDB (Mohr & van Rijn 2022)."""
    a, b = _cols(P)
    return a * x + b


def _lin2_jac(x, P):
    a, b = _cols(P)
    X = x + 0.0 * a
    return _stack(X, np.ones_like(X), shape=X.shape)


def _lin2_starts(x, Y, W):
    G = np.column_stack([x, np.ones_like(x)])
    return _grid(x, Y, W, [(G, None, lambda k: k)])


def exp3(x, P):
    """Exponential with offset: y = a exp(-b x) + c. LCDB (Mohr & van Rijn 2022)."""
    a, b, c = _cols(P)
    return a * np.exp(-b * x) + c


def _exp3_jac(x, P):
    a, b, c = _cols(P)
    E = np.exp(-b * x)
    return _stack(E, -a * x * E, np.ones_like(E), shape=E.shape)


def _exp3_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for r in (-1.0, 0.3, 1.0, 3.0, 10.0, 30.0):
        b = r / hi
        designs.append(
            (
                np.column_stack([np.exp(-b * x), np.ones_like(x)]),
                None,
                lambda k, b=b: np.column_stack([k[:, 0], np.full(B, b), k[:, 1]]),
            )
        )
    return _grid(x, Y, W, designs)


def expp3(x, P):
    """Exponential of a power: y = c - exp((x - b)^a). LCDB (Mohr & van Rijn 2022); needs b < x."""
    a, b, c = _cols(P)
    return c - np.exp(np.exp(a * np.log(x - b)))


def _expp3_jac(x, P):
    a, b, c = _cols(P)
    w = x - b
    t = np.exp(a * np.log(w))
    E = np.exp(t)
    return _stack(-E * t * np.log(w), E * a * t / w, np.ones_like(E), shape=E.shape)


def _expp3_starts(x, Y, W):
    lo, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for a in (-2.0, -1.0, -0.5, -0.25, 0.25, 0.5):
        for s in (0.01, 0.1, 0.5, 2.0):
            b = lo - s * (hi - lo + 1.0)
            with np.errstate(all="ignore"):
                h = np.exp((x - b) ** a)
            designs.append(
                (
                    np.ones((x.size, 1)),
                    -h,
                    lambda k, a=a, b=b: np.column_stack([np.full(B, a), np.full(B, b), k[:, 0]]),
                )
            )
    return _grid(x, Y, W, designs)


def expd3(x, P):
    """Exponential decay to an asymptote: y = c - (c - a) exp(-b x). LCDB (Mohr & van Rijn 2022)."""
    a, b, c = _cols(P)
    return c - (c - a) * np.exp(-b * x)


def _expd3_jac(x, P):
    a, b, c = _cols(P)
    E = np.exp(-b * x)
    return _stack(E, (c - a) * x * E, 1.0 - E, shape=E.shape)


def _expd3_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for r in (-1.0, 0.3, 1.0, 3.0, 10.0, 30.0):
        b = r / hi
        E = np.exp(-b * x)
        designs.append(
            (
                np.column_stack([E, 1.0 - E]),
                None,
                lambda k, b=b: np.column_stack([k[:, 0], np.full(B, b), k[:, 1]]),
            )
        )
    return _grid(x, Y, W, designs)


def wbl4(x, P):
    """Weibull (LCDB form): y = c - b exp(-a x^d). LCDB (Mohr & van Rijn 2022)."""
    a, b, c, d = _cols(P)
    return c - b * np.exp(-a * x**d)


def _wbl4_jac(x, P):
    a, b, c, d = _cols(P)
    u = x**d
    E = np.exp(-a * u)
    return _stack(b * E * u, -E, np.ones_like(E), b * E * a * u * np.log(x), shape=E.shape)


def _wbl4_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for d in (0.25, 0.5, 1.0, 1.5, 2.0):
        for r in (0.3, 1.0, 3.0, 10.0, 30.0):
            a = r / hi**d
            E = np.exp(-a * x**d)
            designs.append(
                (
                    np.column_stack([-E, np.ones_like(x)]),
                    None,
                    lambda k, a=a, d=d: np.column_stack([np.full(B, a), k[:, 0], k[:, 1], np.full(B, d)]),
                )
            )
    return _grid(x, Y, W, designs)

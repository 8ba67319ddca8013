"""Learning-curve families: a registry of parametric functions with short ids.

Every family is a ``Family`` (a frozen dataclass) holding its id, formula, parameter names,
parameter bounds, source, the function itself, its analytic Jacobian and a starting-value
strategy. The functions are vectorised over many curves at once: ``x`` is one shared 1-D grid
(shape ``(n,)``), ``P`` holds one parameter vector per curve (shape ``(B, p)``) and the result has
shape ``(B, n)``; ``Family.__call__(x, *params)`` evaluates one curve.

The x axis: every formula is defined for ``x > 0``. nnlife fits curves against the half-epoch step
``x = 2 * epoch`` (1, 2, ..., 80 for 40 epochs), PENGUIN's convention (see ``nnlife.fitting``).

Families (id: formula [source]); ids end in the parameter count:

Domhan, Springenberg & Hutter 2015, "Speeding up automatic hyperparameter optimization of deep
neural networks by extrapolation of learning curves", IJCAI, Table 1 (their 11 families):
    vap3            exp(a + b/x + c ln x)                        vapor pressure
    pow3            c - a x^-alpha
    loglog_linear2  ln(a ln x + b)
    hill3           ymax x^eta / (kappa^eta + x^eta)
    logpower3       a / (1 + (x / e^b)^c)                        Domhan's "log power"
    pow4            c - (a x + b)^-alpha
    mmf4            alpha - (alpha - beta) / (1 + (kappa x)^delta)   Morgan-Mercer-Flodin
    exp4            c - exp(-a x^alpha + b)
    janoschek4      alpha - (alpha - beta) exp(-kappa x^delta)
    weibull4        alpha - (alpha - beta) exp(-(kappa x)^delta)
    ilog2           c - a / ln(x + 1)     (Domhan: c - a / ln x; shifted by one so that x = 1 is
                                           finite, the index shift LCDB's code notes for ilog2)
Mohr & van Rijn 2022, "LCDB 1.0: An extensive learning curves database for classification
tasks" (ECML PKDD), and the LCDB code's curve models, the further families:
    pow2            -a x^-b
    log2            -a ln x + b
    exp2            a exp(-b x)
    lin2            a x + b
    exp3            a exp(-b x) + c
    expp3           c - exp((x - b)^a)
    expd3           c - (c - a) exp(-b x)
    wbl4            c - b exp(-a x^d)
    (LCDB's logpower3 is Domhan's log power; LCDB's pow3, pow4 and mmf4 are Domhan's families in
    another parametrisation: nnlife registers each function class once, in Domhan's.)
Rorabaugh et al., PENGUIN (the published dataset's prediction engine):
    penguin3        a - b^(c - x),  bounds (0.5, 1, 0) to (200, inf, inf)

wbl4, janoschek4 and weibull4 are one function class in three parametrisations; they are kept
because the sources define them so and their parameters mean different things.

Starting values: most families are linear in some parameters once the others are fixed, so the
strategy grids the nonlinear ones over ranges set by the x grid and solves the linear ones by
(weighted) least squares for every curve at once; ``vap3``, ``loglog_linear2`` and ``pow4`` solve
a linearised problem (in log, exp and power space). ``starts(x, Y, W)`` returns candidates of shape
``(S, B, p)``; the fitting code scores them and starts its optimiser from the best few.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError

INF = np.inf


# --- helpers --------------------------------------------------------------------------------------


def _cols(P):
    """Columns of a (B, p) parameter array as (B, 1) arrays, to broadcast against x (n,)."""
    P = np.asarray(P, dtype=float)
    return [P[:, j : j + 1] for j in range(P.shape[1])]


def _stack(*cols, shape):
    """Jacobian (B, n, p) from p columns, each broadcastable to (B, n)."""
    return np.stack([np.broadcast_to(c, shape) for c in cols], axis=-1)


def _wls(G, T, W):
    """Weighted least squares for many curves with one design: coefficients (B, k).

    G: (n, k) design shared by all curves; T: (B, n) targets (finite where W > 0); W: (B, n)
    weights (1 observed, 0 missing). A tiny ridge keeps collinear designs solvable.
    """
    G = np.asarray(G, dtype=float)
    if not np.all(np.isfinite(G)):
        return np.full((T.shape[0], G.shape[1]), np.nan)
    T0 = np.where(W > 0, T, 0.0)
    if np.all(W == 1.0):
        A = G.T @ G
        A = A + np.eye(A.shape[0]) * 1e-12 * (np.trace(A) / A.shape[0] + 1e-300)
        return np.linalg.solve(A, G.T @ T0.T).T
    A = np.einsum("bn,ni,nj->bij", W, G, G)
    tr = np.trace(A, axis1=1, axis2=2)[:, None, None] / G.shape[1]
    A = A + np.eye(G.shape[1])[None] * (1e-12 * tr + 1e-300)
    rhs = np.einsum("bn,ni->bi", W * T0, G)
    return np.linalg.solve(A, rhs[..., None])[..., 0]


def _grid(x, Y, W, designs):
    """Candidates (S, B, p) from designs [(G (n,k), h (n,) or None, assemble(coefs)->(B,p))]."""
    out = []
    for G, h, assemble in designs:
        T = Y if h is None else Y - h[None, :]
        with np.errstate(all="ignore"):
            out.append(assemble(_wls(G, T, W)))
    return np.stack(out)


def _span(x):
    x = np.asarray(x, dtype=float)
    return float(np.min(x)), float(np.max(x))


def _yrange(Y, W):
    """Per-curve (low, high, last) of the observed values, each (B,)."""
    Yo = np.where(W > 0, Y, np.nan)
    with np.errstate(all="ignore"):
        lo = np.nanmin(Yo, axis=1)
        hi = np.nanmax(Yo, axis=1)
    idx = W.shape[1] - 1 - np.argmax(W[:, ::-1] > 0, axis=1)
    last = Y[np.arange(Y.shape[0]), idx]
    return np.nan_to_num(lo), np.nan_to_num(hi), np.nan_to_num(last)


def _full(B, *vals):
    return np.column_stack([np.broadcast_to(np.asarray(v, dtype=float), (B,)) for v in vals])


# --- Domhan et al. 2015 ---------------------------------------------------------------------------


def vap3(x, P):
    """Vapor pressure: y = exp(a + b/x + c ln x). Domhan et al. 2015, Table 1."""
    a, b, c = _cols(P)
    return np.exp(a + b / x + c * np.log(x))


def _vap3_jac(x, P):
    y = vap3(x, P)
    return _stack(y, y / x, y * np.log(x), shape=y.shape)


def _vap3_starts(x, Y, W):
    # ln y = a + b/x + c ln x is linear: least squares in log space over the positive points.
    Wp = W * (Y > 0)
    L = np.log(np.where(Y > 0, Y, 1.0))
    G = np.column_stack([np.ones_like(x), 1.0 / x, np.log(x)])
    with np.errstate(all="ignore"):
        lin = _wls(G, L, Wp)
        hi = _yrange(Y, W)[1]
    flat = _full(Y.shape[0], 0.0, 0.0, 0.0)
    flat[:, 0] = np.log(np.maximum(hi, 1e-12))
    return np.stack([lin, flat])


def pow3(x, P):
    """Power law: y = c - a x^-alpha. Domhan et al. 2015, Table 1 (LCDB's pow3)."""
    c, a, al = _cols(P)
    return c - a * x ** (-al)


def _pow3_jac(x, P):
    c, a, al = _cols(P)
    t = x ** (-al)
    return _stack(np.ones_like(t), -t, a * t * np.log(x), shape=t.shape)


def _pow3_starts(x, Y, W):
    B = Y.shape[0]
    designs = []
    for al in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        G = np.column_stack([np.ones_like(x), -(x**-al)])
        designs.append((G, None, lambda k, al=al: np.column_stack([k[:, 0], k[:, 1], np.full(B, al)])))
    return _grid(x, Y, W, designs)


def loglog_linear2(x, P):
    """Log-log linear: y = ln(a ln x + b). Domhan et al. 2015, Table 1."""
    a, b = _cols(P)
    return np.log(a * np.log(x) + b)


def _loglog_linear2_jac(x, P):
    a, b = _cols(P)
    w = a * np.log(x) + b
    return _stack(np.log(x) / w, 1.0 / w, shape=w.shape)


def _loglog_linear2_starts(x, Y, W):
    # e^y = a ln x + b is linear; scale by e^-max(y) so that large y does not overflow.
    s = _yrange(Y, W)[1][:, None]
    with np.errstate(all="ignore"):
        E = np.exp(np.where(W > 0, Y, s) - s)
    G = np.column_stack([np.log(x), np.ones_like(x)])
    k = _wls(G, E, W) * np.exp(s)
    # a flat start (a = 0, b = e^max y) is always finite, when the linear one is not positive
    flat = np.column_stack([np.zeros_like(s[:, 0]), np.exp(s[:, 0])])
    return np.stack([k, flat])


def hill3(x, P):
    """Hill: y = ymax x^eta / (kappa^eta + x^eta). Domhan et al. 2015, Table 1."""
    ym, eta, ka = _cols(P)
    z = np.exp(eta * (np.log(ka) - np.log(x)))  # (kappa/x)^eta, stable form
    return ym / (1.0 + z)


def _hill3_jac(x, P):
    ym, eta, ka = _cols(P)
    z = np.exp(eta * (np.log(ka) - np.log(x)))
    s = 1.0 / (1.0 + z)
    return _stack(s, ym * s * s * z * (np.log(x) - np.log(ka)), -ym * s * s * z * eta / ka, shape=z.shape)


def _hill3_starts(x, Y, W):
    lo, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for eta in (0.5, 1.0, 2.0, 4.0):
        for ka in np.geomspace(max(lo * 0.5, 1e-3), hi * 2.0, 6):
            g = 1.0 / (1.0 + (ka / x) ** eta)
            designs.append(
                (
                    g[:, None],
                    None,
                    lambda k, eta=eta, ka=ka: np.column_stack([k[:, 0], np.full(B, eta), np.full(B, ka)]),
                )
            )
    return _grid(x, Y, W, designs)


def logpower3(x, P):
    """Log power: y = a / (1 + (x / e^b)^c). Domhan et al. 2015, Table 1; LCDB's logpower3."""
    a, b, c = _cols(P)
    z = np.exp(c * (np.log(x) - b))
    return a / (1.0 + z)


def _logpower3_jac(x, P):
    a, b, c = _cols(P)
    z = np.exp(c * (np.log(x) - b))
    s = 1.0 / (1.0 + z)
    return _stack(s, a * c * z * s * s, -a * z * (np.log(x) - b) * s * s, shape=z.shape)


def _logpower3_starts(x, Y, W):
    lo, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for c in (-4.0, -2.0, -1.0, -0.5, -0.25, 0.5, 1.0):
        for b in np.log(np.geomspace(max(lo * 0.5, 1e-3), hi * 2.0, 6)):
            g = 1.0 / (1.0 + np.exp(c * (np.log(x) - b)))
            designs.append(
                (
                    g[:, None],
                    None,
                    lambda k, b=b, c=c: np.column_stack([k[:, 0], np.full(B, b), np.full(B, c)]),
                )
            )
    return _grid(x, Y, W, designs)


def pow4(x, P):
    """Power law with offset: y = c - (a x + b)^-alpha. Domhan et al. 2015, Table 1."""
    c, a, b, al = _cols(P)
    return c - (a * x + b) ** (-al)


def _pow4_jac(x, P):
    c, a, b, al = _cols(P)
    w = a * x + b
    t = w ** (-al)
    return _stack(np.ones_like(t), al * x * t / w, al * t / w, t * np.log(w), shape=t.shape)


def _pow4_starts(x, Y, W):
    # For fixed c and alpha, (c - y)^(-1/alpha) = a x + b is linear in (a, b).
    lo_y, hi_y, _ = _yrange(Y, W)
    rng = np.maximum(hi_y - lo_y, 1e-6)
    B = Y.shape[0]
    G = np.column_stack([x, np.ones_like(x)])
    out = []
    for al in (0.25, 0.5, 1.0, 2.0):
        for d in (0.01, 0.05, 0.2, 1.0):
            c = (hi_y + d * rng)[:, None]
            with np.errstate(all="ignore"):
                T = (c - Y) ** (-1.0 / al)
                Wt = W * np.isfinite(T)
                k = _wls(G, T, Wt)
            out.append(np.column_stack([c[:, 0], np.maximum(k[:, 0], 0.0), k[:, 1], np.full(B, al)]))
    # flat starts (a = 0, b = 1: y = c - 1) are always finite
    out.append(np.column_stack([hi_y + 1.0, np.zeros(B), np.ones(B), np.full(B, 0.5)]))
    return np.stack(out)


def mmf4(x, P):
    """Morgan-Mercer-Flodin: y = alpha - (alpha - beta) / (1 + (kappa x)^delta). Domhan 2015."""
    al, be, ka, de = _cols(P)
    z = np.exp(de * np.log(ka * x))
    return al - (al - be) / (1.0 + z)


def _mmf4_jac(x, P):
    al, be, ka, de = _cols(P)
    z = np.exp(de * np.log(ka * x))
    s = 1.0 / (1.0 + z)
    d = (al - be) * s * s * z
    return _stack(1.0 - s, s, d * de / ka, d * np.log(ka * x), shape=z.shape)


def _mmf4_starts(x, Y, W):
    lo, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for de in (0.5, 1.0, 2.0, 4.0):
        for ka in 1.0 / np.geomspace(max(lo * 0.5, 1e-3), hi * 2.0, 6):
            s = 1.0 / (1.0 + (ka * x) ** de)
            designs.append(
                (
                    np.column_stack([1.0 - s, s]),
                    None,
                    lambda k, ka=ka, de=de: np.column_stack([k, np.full(B, ka), np.full(B, de)]),
                )
            )
    return _grid(x, Y, W, designs)


def exp4(x, P):
    """Exponential: y = c - exp(-a x^alpha + b). Domhan et al. 2015, Table 1; LCDB's exp4."""
    c, a, b, al = _cols(P)
    return c - np.exp(-a * x**al + b)


def _exp4_jac(x, P):
    c, a, b, al = _cols(P)
    u = x**al
    e = np.exp(-a * u + b)
    return _stack(np.ones_like(e), e * u, -e, e * a * u * np.log(x), shape=e.shape)


def _exp4_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for al in (0.25, 0.5, 1.0, 1.5):
        for r in (0.3, 1.0, 3.0, 10.0, 30.0):
            a = r / hi**al
            g = np.exp(-a * x**al)
            designs.append(
                (
                    np.column_stack([np.ones_like(x), -g]),
                    None,
                    lambda k, a=a, al=al: np.column_stack(
                        [k[:, 0], np.full(B, a), np.log(np.maximum(k[:, 1], 1e-12)), np.full(B, al)]
                    ),
                )
            )
    return _grid(x, Y, W, designs)


def janoschek4(x, P):
    """Janoschek: y = alpha - (alpha - beta) exp(-kappa x^delta). Domhan et al. 2015, Table 1."""
    al, be, ka, de = _cols(P)
    return al - (al - be) * np.exp(-ka * x**de)


def _janoschek4_jac(x, P):
    al, be, ka, de = _cols(P)
    u = x**de
    E = np.exp(-ka * u)
    d = (al - be) * E
    return _stack(1.0 - E, E, d * u, d * ka * u * np.log(x), shape=E.shape)


def _janoschek4_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for de in (0.25, 0.5, 1.0, 1.5, 2.0):
        for r in (0.3, 1.0, 3.0, 10.0, 30.0):
            ka = r / hi**de
            E = np.exp(-ka * x**de)
            designs.append(
                (
                    np.column_stack([1.0 - E, E]),
                    None,
                    lambda k, ka=ka, de=de: np.column_stack([k, np.full(B, ka), np.full(B, de)]),
                )
            )
    return _grid(x, Y, W, designs)


def weibull4(x, P):
    """Weibull: y = alpha - (alpha - beta) exp(-(kappa x)^delta). Domhan et al. 2015, Table 1."""
    al, be, ka, de = _cols(P)
    return al - (al - be) * np.exp(-np.exp(de * np.log(ka * x)))


def _weibull4_jac(x, P):
    al, be, ka, de = _cols(P)
    u = np.exp(de * np.log(ka * x))
    E = np.exp(-u)
    d = (al - be) * E * u
    return _stack(1.0 - E, E, d * de / ka, d * np.log(ka * x), shape=E.shape)


def _weibull4_starts(x, Y, W):
    _, hi = _span(x)
    B = Y.shape[0]
    designs = []
    for de in (0.25, 0.5, 1.0, 1.5, 2.0):
        for r in (0.3, 1.0, 3.0, 10.0, 30.0):
            ka = r ** (1.0 / de) / hi
            E = np.exp(-((ka * x) ** de))
            designs.append(
                (
                    np.column_stack([1.0 - E, E]),
                    None,
                    lambda k, ka=ka, de=de: np.column_stack([k, np.full(B, ka), np.full(B, de)]),
                )
            )
    return _grid(x, Y, W, designs)


def ilog2(x, P):
    """Inverse log: y = c - a / ln(x + 1). Domhan et al. 2015 (c - a/ln x), x shifted by one."""
    c, a = _cols(P)
    return c - a / np.log(x + 1.0)


def _ilog2_jac(x, P):
    c, a = _cols(P)
    L = np.log(x + 1.0) + 0.0 * a
    return _stack(np.ones_like(L), -1.0 / L, shape=L.shape)


def _ilog2_starts(x, Y, W):
    G = np.column_stack([np.ones_like(x), -1.0 / np.log(x + 1.0)])
    return _grid(x, Y, W, [(G, None, lambda k: k)])


# --- LCDB (Mohr & van Rijn 2022) ------------------------------------------------------------------


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


# --- PENGUIN --------------------------------------------------------------------------------------

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


# --- the registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """One learning-curve family: y = f(x; params), x > 0 (nnlife: half-epoch steps)."""

    id: str  # short id, ends in the parameter count ("pow3")
    formula: str  # the formula, in the parameter names below
    param_names: tuple[str, ...]  # in the order of every parameter vector
    lower: tuple[float, ...]  # lower bound of each parameter (-inf: none)
    upper: tuple[float, ...]  # upper bound of each parameter (inf: none)
    source: str  # where the formula comes from
    f: Callable = field(repr=False, compare=False)  # (x (n,), P (B,p)) -> (B, n)
    jac: Callable = field(repr=False, compare=False)  # (x (n,), P (B,p)) -> (B, n, p)
    starts: Callable = field(repr=False, compare=False)  # (x, Y (B,n), W (B,n)) -> (S, B, p)

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def __call__(self, x, *params) -> np.ndarray:
        """Evaluate one curve: values at ``x`` (any shape) for one parameter vector."""
        x = np.asarray(x, dtype=float)
        if len(params) != self.n_params:
            raise ParameterError(
                f"family {self.id!r} takes {self.n_params} parameters {self.param_names}, got {len(params)}"
            )
        with np.errstate(all="ignore"):
            return self.f(x.ravel(), np.asarray(params, dtype=float)[None, :])[0].reshape(x.shape)


def _fam(id, formula, names, lower, upper, source, f, jac, starts):
    return Family(
        id, formula, tuple(names), tuple(map(float, lower)), tuple(map(float, upper)), source, f, jac, starts
    )


_DOMHAN = "Domhan, Springenberg & Hutter 2015 (IJCAI), Table 1"
_LCDB = "Mohr & van Rijn 2022, LCDB 1.0 (ECML PKDD); LCDB curve models"
_N = -INF

FAMILIES: dict[str, Family] = {
    fam.id: fam
    for fam in (
        _fam(
            "vap3",
            "exp(a + b/x + c ln x)",
            "abc",
            (_N,) * 3,
            (INF,) * 3,
            _DOMHAN,
            vap3,
            _vap3_jac,
            _vap3_starts,
        ),
        _fam(
            "pow3",
            "c - a x^-alpha",
            ("c", "a", "alpha"),
            (_N, _N, 0),
            (INF,) * 3,
            _DOMHAN,
            pow3,
            _pow3_jac,
            _pow3_starts,
        ),
        _fam(
            "loglog_linear2",
            "ln(a ln x + b)",
            "ab",
            (_N,) * 2,
            (INF,) * 2,
            _DOMHAN,
            loglog_linear2,
            _loglog_linear2_jac,
            _loglog_linear2_starts,
        ),
        _fam(
            "hill3",
            "ymax x^eta / (kappa^eta + x^eta)",
            ("ymax", "eta", "kappa"),
            (_N, 0, 1e-12),
            (INF,) * 3,
            _DOMHAN,
            hill3,
            _hill3_jac,
            _hill3_starts,
        ),
        _fam(
            "logpower3",
            "a / (1 + (x / e^b)^c)",
            "abc",
            (_N,) * 3,
            (INF,) * 3,
            _DOMHAN + " (log power); LCDB's logpower3",
            logpower3,
            _logpower3_jac,
            _logpower3_starts,
        ),
        _fam(
            "pow4",
            "c - (a x + b)^-alpha",
            ("c", "a", "b", "alpha"),
            (_N, 0, _N, 0),
            (INF,) * 4,
            _DOMHAN,
            pow4,
            _pow4_jac,
            _pow4_starts,
        ),
        _fam(
            "mmf4",
            "alpha - (alpha - beta) / (1 + (kappa x)^delta)",
            ("alpha", "beta", "kappa", "delta"),
            (_N, _N, 1e-12, 0),
            (INF,) * 4,
            _DOMHAN,
            mmf4,
            _mmf4_jac,
            _mmf4_starts,
        ),
        _fam(
            "exp4",
            "c - exp(-a x^alpha + b)",
            ("c", "a", "b", "alpha"),
            (_N, 0, _N, 0),
            (INF,) * 4,
            _DOMHAN + "; LCDB's exp4",
            exp4,
            _exp4_jac,
            _exp4_starts,
        ),
        _fam(
            "janoschek4",
            "alpha - (alpha - beta) exp(-kappa x^delta)",
            ("alpha", "beta", "kappa", "delta"),
            (_N, _N, 0, 0),
            (INF,) * 4,
            _DOMHAN,
            janoschek4,
            _janoschek4_jac,
            _janoschek4_starts,
        ),
        _fam(
            "weibull4",
            "alpha - (alpha - beta) exp(-(kappa x)^delta)",
            ("alpha", "beta", "kappa", "delta"),
            (_N, _N, 1e-12, 0),
            (INF,) * 4,
            _DOMHAN,
            weibull4,
            _weibull4_jac,
            _weibull4_starts,
        ),
        _fam(
            "ilog2",
            "c - a / ln(x + 1)",
            ("c", "a"),
            (_N,) * 2,
            (INF,) * 2,
            _DOMHAN + " (c - a/ln x, x shifted by one); LCDB's ilog2",
            ilog2,
            _ilog2_jac,
            _ilog2_starts,
        ),
        _fam("pow2", "-a x^-b", "ab", (_N,) * 2, (INF,) * 2, _LCDB, pow2, _pow2_jac, _pow2_starts),
        _fam("log2", "-a ln x + b", "ab", (_N,) * 2, (INF,) * 2, _LCDB, log2, _log2_jac, _log2_starts),
        _fam("exp2", "a exp(-b x)", "ab", (_N,) * 2, (INF,) * 2, _LCDB, exp2, _exp2_jac, _exp2_starts),
        _fam("lin2", "a x + b", "ab", (_N,) * 2, (INF,) * 2, _LCDB, lin2, _lin2_jac, _lin2_starts),
        _fam("exp3", "a exp(-b x) + c", "abc", (_N,) * 3, (INF,) * 3, _LCDB, exp3, _exp3_jac, _exp3_starts),
        _fam(
            "expp3",
            "c - exp((x - b)^a)",
            "abc",
            (_N,) * 3,
            (INF,) * 3,
            _LCDB,
            expp3,
            _expp3_jac,
            _expp3_starts,
        ),
        _fam(
            "expd3",
            "c - (c - a) exp(-b x)",
            "abc",
            (_N,) * 3,
            (INF,) * 3,
            _LCDB,
            expd3,
            _expd3_jac,
            _expd3_starts,
        ),
        _fam(
            "wbl4",
            "c - b exp(-a x^d)",
            "abcd",
            (0, _N, _N, 0),
            (INF,) * 4,
            _LCDB,
            wbl4,
            _wbl4_jac,
            _wbl4_starts,
        ),
        _fam(
            "penguin3",
            "a - b^(c - x)",
            "abc",
            PENGUIN_LOWER,
            PENGUIN_UPPER,
            "Rorabaugh et al., PENGUIN (CurveFit.py: expAccFn, fitAcc)",
            penguin3,
            _penguin3_jac,
            _penguin3_starts,
        ),
    )
}

# The 11 families of Domhan et al. 2015, in their Table 1 order.
DOMHAN = (
    "vap3",
    "pow3",
    "loglog_linear2",
    "hill3",
    "logpower3",
    "pow4",
    "mmf4",
    "exp4",
    "janoschek4",
    "weibull4",
    "ilog2",
)
# The families LCDB fits (its pow3, pow4 and mmf4 in Domhan's parametrisation).
LCDB = (
    "pow2",
    "log2",
    "exp2",
    "lin2",
    "ilog2",
    "pow3",
    "exp3",
    "vap3",
    "expp3",
    "expd3",
    "logpower3",
    "mmf4",
    "wbl4",
    "exp4",
    "pow4",
)
PENGUIN = "penguin3"

# Other names people use for the same families (Domhan's and LCDB's spellings).
ALIASES = {
    "vapor_pressure": "vap3",
    "vap": "vap3",
    "loglog_linear": "loglog_linear2",
    "hill_3": "hill3",
    "log_power": "logpower3",
    "mmf": "mmf4",
    "janoschek": "janoschek4",
    "weibull": "weibull4",
    "ilog_2": "ilog2",
    "pow_3": "pow3",
    "pow_4": "pow4",
    "exp_4": "exp4",
    "penguin": "penguin3",
}


def get_family(name) -> Family:
    """The ``Family`` for an id or alias (a ``Family`` passes through).

    Raises ParameterError listing the known ids when ``name`` is unknown.
    """
    if isinstance(name, Family):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in FAMILIES:
        raise ParameterError(f"unknown curve family {name!r}: use one of {', '.join(FAMILIES)}")
    return FAMILIES[key]


def resolve_families(families) -> tuple[Family, ...]:
    """Families from None (Domhan's 11), "all", "domhan", "lcdb", one id, or a list of ids."""
    if families is None or (isinstance(families, str) and families.lower() == "domhan"):
        return tuple(FAMILIES[f] for f in DOMHAN)
    if isinstance(families, (str, Family)):
        if isinstance(families, str) and families.lower() == "all":
            return tuple(FAMILIES.values())
        if isinstance(families, str) and families.lower() == "lcdb":
            return tuple(FAMILIES[f] for f in LCDB)
        return (get_family(families),)
    out = tuple(get_family(f) for f in families)
    if not out:
        raise ParameterError("families is empty: give None (Domhan's 11), 'all' or a list of ids")
    return out

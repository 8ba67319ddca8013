"""The 11 families of Domhan, Springenberg & Hutter 2015 (IJCAI, Table 1): functions, analytic
Jacobians and starting values (``nnlife.analyse.families`` registers them)."""

from __future__ import annotations

import numpy as np

from .common import _cols, _full, _grid, _span, _stack, _wls, _yrange


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

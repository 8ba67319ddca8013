"""Shared pieces of the curve families (``nnlife.analyse.families``): parameter columns, Jacobian
stacking and the weighted least squares that the starting-value strategies solve for many curves
at once."""

from __future__ import annotations

import numpy as np

INF = np.inf


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

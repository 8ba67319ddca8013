"""A Levenberg-Marquardt iteration in numpy that fits one curve family to many curves at once.

The batched core under ``nnlife.analyse.fitting.fit_curves``: every row (curve) takes its own
damped Gauss-Newton steps with the family's analytic Jacobian, in one vectorised loop; a row
stops when it converges or stalls (see ``levenberg_marquardt``).
"""

from __future__ import annotations

import numpy as np

from .families import Family


def levenberg_marquardt(fam: Family, x, Y, W, P0, max_iter=200, ftol=1e-10, xtol=1e-10, stall=(20, 1e-6)):
    """Levenberg-Marquardt on every row at once; the family's bounds by clipping.

    x: (n,) grid; Y: (B, n) values; W: (B, n) weights (1 observed, 0 missing); P0: (B, p) starts.

    Returns (P (B, p), sse (B,), status (B,) int: 0 not converged within ``max_iter``,
    1 converged, 2 stalled). A row stops, converged, when a step is accepted
    whose relative SSE decrease is below ``ftol``; when the step is below ``xtol`` relative to the
    parameters; when its SSE reaches ~0; when no step lowers the SSE even at high damping; or
    stalled when the SSE fell by less than ``stall[1]`` (relative) over the last ``stall[0]``
    iterations. Stalling ends fits whose best parameters lie at infinity (pow3 on a curve that is still
    rising: alpha -> 0 while a and c grow), which otherwise creep on until ``max_iter``: their SSE
    has converged although their parameters have not.
    """
    lo, hi = np.asarray(fam.lower), np.asarray(fam.upper)
    B, p = P0.shape
    P = np.clip(P0, lo, hi)

    def resid(Pm, rows):
        with np.errstate(all="ignore"):
            R = np.where(W[rows] > 0, fam.f(x, Pm) - Y[rows], 0.0)
            s = np.einsum("bn,bn->b", R, R)
        return R, np.where(np.isfinite(s), s, np.inf)

    R, sse = resid(P, slice(None))
    scale = np.einsum("bn,bn->b", np.where(W > 0, Y, 0.0), np.where(W > 0, Y, 0.0)) + 1e-30
    lam = np.full(B, 1e-3)
    done = ~np.isfinite(sse)
    status = np.zeros(B, dtype=np.int8)
    eye = np.eye(p)
    window, stall_tol = stall
    history = [sse.copy()]
    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        Pa, Ra, sa = P[idx], R[idx], sse[idx]
        with np.errstate(all="ignore"):
            J = fam.jac(x, Pa) * W[idx][:, :, None]
        J = np.where(np.isfinite(J), J, 0.0)
        JT = J.transpose(0, 2, 1)
        A = JT @ J
        g = (JT @ Ra[:, :, None])[:, :, 0]
        d = np.diagonal(A, axis1=1, axis2=2)
        d = np.maximum(d, 1e-12 * d.max(axis=1, keepdims=True) + 1e-300)
        M = A + (lam[idx][:, None] * d)[:, :, None] * eye
        # active set: a parameter on a bound that the descent direction pushes outwards is held
        # fixed for this step (clipping alone would distort the other components of the step)
        hold = ((Pa <= lo) & (g > 0)) | ((Pa >= hi) & (g < 0))
        if hold.any():
            free = ~hold
            M = M * free[:, :, None] * free[:, None, :] + hold[:, :, None] * eye
            g = np.where(hold, 0.0, g)
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.solve(M, -g[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                step = np.stack([np.linalg.lstsq(m, -v, rcond=None)[0] for m, v in zip(M, g)])
        step = np.where(np.isfinite(step), step, 0.0)
        Pn = np.clip(Pa + step, lo, hi)
        Rn, sn = resid(Pn, idx)
        better = sn < sa
        with np.errstate(all="ignore"):
            rel = (sa - sn) / np.maximum(sa, 1e-300)
            small = np.all(np.abs(Pn - Pa) <= xtol * (np.abs(Pa) + xtol), axis=1)
        acc = idx[better]
        P[acc], R[acc], sse[acc] = Pn[better], Rn[better], sn[better]
        lam[acc] = np.maximum(lam[acc] * 0.2, 1e-12)
        rej = idx[~better]
        lam[rej] = lam[rej] * 10.0
        exact = sse[idx] <= 1e-28 * scale[idx]
        stop = (better & (rel <= ftol)) | small | exact | (lam[idx] > 1e12)
        status[idx[stop]] = 1
        history.append(sse.copy())
        if len(history) > window:
            old_sse = history.pop(0)[idx]
            with np.errstate(all="ignore"):
                stalled = ~stop & ((old_sse - sse[idx]) <= stall_tol * sse[idx])
            status[idx[stalled]] = 2
            stop |= stalled
        done[idx[stop]] = True
    return P, sse, status


__all__ = ["levenberg_marquardt"]

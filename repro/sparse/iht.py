"""Iterative hard thresholding (IHT) and normalized IHT.

IHT (Blumensath & Davies, *Iterative hard thresholding for compressed sensing*, ACHA 27,
2009) iterates ``x <- H_s(x + mu A^T (y - A x))``, where ``H_s`` keeps the ``s`` entries of
largest magnitude. Normalized IHT (Blumensath & Davies, *Normalized iterative hard
thresholding: guaranteed stability and performance*, IEEE J. Sel. Topics Signal Process. 4,
2010, Algorithm 2) picks the step each iteration as

    mu = ||g_G||^2 / ||A_G g_G||^2,    g = A^T (y - A x),  G = support of x (of H_s(g) at x = 0),

and, when the new support differs from the old one, shrinks ``mu <- mu / (kappa (1 - c))``
until ``mu <= omega = (1 - c) ||x_new - x||^2 / ||A (x_new - x)||^2``.

The low-precision variant of Gurel et al. (arXiv:1802.04907) uses two independent
quantizations of the measurement matrix for the two products of the gradient: pass the
first as ``A`` and the second as ``AT`` (see :func:`repro.sparse.lowprec.lowprec_operators`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _matvec(A):
    if isinstance(A, np.ndarray):
        return lambda x: A @ x
    if hasattr(A, "matvec"):
        return A.matvec
    raise TypeError(f"A must be a numpy array or have a matvec method, got {type(A).__name__}")


def _rmatvec(A):
    if isinstance(A, np.ndarray):
        return lambda r: A.T @ r
    if hasattr(A, "rmatvec"):
        return A.rmatvec
    raise TypeError(f"AT must be a numpy array or have an rmatvec method, got {type(A).__name__}")


def _shape(A) -> tuple[int, int]:
    shp = getattr(A, "shape", None)
    if shp is None or len(shp) != 2:
        raise TypeError("A must have a two-dimensional shape")
    return int(shp[0]), int(shp[1])


def hard_threshold(x: np.ndarray, s: int) -> np.ndarray:
    """``H_s(x)``: keep the ``s`` entries of largest magnitude, zero the rest.

    Ties are broken by index order (``argpartition``), so exactly ``s`` entries survive.

    Parameters
    ----------
    x : ndarray
    s : int
        Entries kept, ``0 <= s <= x.size``.

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        If ``s`` is not an integer in ``0..x.size``.
    """
    x = np.asarray(x)
    s = _check_s(s, x.size)
    out = np.zeros_like(x)
    if s == 0:
        return out
    keep = np.argpartition(np.abs(x), x.size - s)[x.size - s:]
    out[keep] = x[keep]
    return out


def _check_s(s, n: int) -> int:
    if int(s) != s or s < 0:
        raise ValueError(f"sparsity s must be a non-negative integer, got {s!r}")
    if s > n:
        raise ValueError(f"sparsity s={s} is larger than the number of unknowns (grid pixels) {n}")
    return int(s)


@dataclass
class IHTResult:
    """Outcome of an IHT run.

    Attributes
    ----------
    x : ndarray
        The ``s``-sparse estimate.
    support : ndarray of int
        Sorted indices of its non-zero entries.
    n_iter : int
        Iterations performed.
    converged : bool
        Whether the relative change fell below ``tol``.
    residual_norms : list of float
        ``||y - A x||`` after each iteration.
    steps : list of float
        Step size used in each iteration.
    """

    x: np.ndarray
    support: np.ndarray
    n_iter: int
    converged: bool
    residual_norms: list = field(default_factory=list)
    steps: list = field(default_factory=list)

    def record(self, it: int, x: np.ndarray, x_new: np.ndarray, r: np.ndarray, step: float, tol: float) -> bool:
        """Log iteration ``it`` (residual, step) and return whether it converged.

        Parameters
        ----------
        it : int
            Iteration number.
        x, x_new : ndarray
            Iterates before and after.
        r : ndarray
            Residual ``y - A x_new``.
        step : float
            Step used.
        tol : float
            Relative change below which the run has converged.

        Returns
        -------
        bool
        """
        self.residual_norms.append(float(np.linalg.norm(r)))
        self.steps.append(float(step))
        self.n_iter = it
        change = np.linalg.norm(x_new - x)
        self.converged = bool(change <= tol * max(np.linalg.norm(x_new), np.finfo(float).tiny))
        return self.converged


def spectral_norm(A, n_iter: int = 50, seed: int = 0) -> float:
    """Estimate ``||A||_2`` by power iteration on ``A^T A``.

    Parameters
    ----------
    A : ndarray or operator with ``matvec``, ``rmatvec`` and ``shape``
    n_iter : int
        Power iterations.
    seed : int
        Seed of the random start vector.

    Returns
    -------
    float
    """
    mv, rmv = _matvec(A), _rmatvec(A)
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(_shape(A)[1])
    v /= np.linalg.norm(v)
    sigma = 0.0
    for _ in range(n_iter):
        w = rmv(mv(v))
        nw = np.linalg.norm(w)
        if nw == 0:
            return 0.0
        sigma, v = np.sqrt(nw), w / nw
    return float(sigma)


def iht(A, y: np.ndarray, s: int, n_iter: int = 300, step: float | None = None, tol: float = 1e-8,
        x0: np.ndarray | None = None, AT=None) -> IHTResult:
    """Plain IHT with a fixed step.

    Parameters
    ----------
    A : ndarray or operator with ``matvec``/``shape``
        Measurement operator (real), shape (m, n).
    y : ndarray, shape (m,)
        Measurements.
    s : int
        Sparsity (number of non-zeros kept), ``0 <= s <= n``.
    n_iter : int
        Maximum iterations.
    step : float, optional
        Step ``mu``; default ``1 / ||A||_2^2`` (power iteration).
    tol : float
        Stop when ``||x_new - x|| <= tol * ||x_new||``.
    x0 : ndarray, optional
        Start (default zeros).
    AT : ndarray or operator with ``rmatvec``, optional
        Operator whose transpose forms the gradient ``AT^T (y - A x)``; default ``A``.

    Returns
    -------
    IHTResult
    """
    m, n = _shape(A)
    s = _check_s(s, n)
    mv, rmv = _matvec(A), _rmatvec(A if AT is None else AT)
    y = np.asarray(y, dtype=float)
    if y.shape != (m,):
        raise ValueError(f"y must have shape ({m},), got {y.shape}")
    if step is None:
        nrm = spectral_norm(A)
        step = 1.0 / nrm ** 2 if nrm > 0 else 1.0
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    x = np.zeros(n) if x0 is None else hard_threshold(np.asarray(x0, dtype=float), s)
    res = IHTResult(x=x, support=np.array([], int), n_iter=0, converged=False)
    r = y - mv(x)
    for it in range(1, int(n_iter) + 1):
        x_new = hard_threshold(x + step * rmv(r), s)
        r = y - mv(x_new)
        done = res.record(it, x, x_new, r, step, tol)
        x = x_new
        if done:
            break
    res.x, res.support = x, np.flatnonzero(x)
    return res


def niht(A, y: np.ndarray, s: int, n_iter: int = 300, tol: float = 1e-8, c: float = 0.01,
         kappa: float = 2.0, x0: np.ndarray | None = None, AT=None, max_shrink: int = 50) -> IHTResult:
    """Normalized IHT with the adaptive step of Blumensath & Davies (2010).

    Parameters
    ----------
    A, y, s, n_iter, tol, x0, AT
        As in :func:`iht`.
    c : float
        Small constant in ``(0, 1)`` of the step acceptance test (paper: 0.01).
    kappa : float
        Step shrink factor, ``> 1 / (1 - c)`` (paper: 2).
    max_shrink : int
        At most this many step reductions per iteration.

    Returns
    -------
    IHTResult
    """
    m, n = _shape(A)
    s = _check_s(s, n)
    if not 0 < c < 1:
        raise ValueError(f"c must be in (0, 1), got {c}")
    if not kappa > 1.0 / (1.0 - c):
        raise ValueError(f"kappa must exceed 1/(1-c) = {1 / (1 - c):.4g}, got {kappa}")
    mv, rmv = _matvec(A), _rmatvec(A if AT is None else AT)
    y = np.asarray(y, dtype=float)
    if y.shape != (m,):
        raise ValueError(f"y must have shape ({m},), got {y.shape}")
    x = np.zeros(n) if x0 is None else hard_threshold(np.asarray(x0, dtype=float), s)
    res = IHTResult(x=x, support=np.array([], int), n_iter=0, converged=False)
    if s == 0:
        res.converged = True
        return res
    r = y - mv(x)
    for it in range(1, int(n_iter) + 1):
        g = rmv(r)
        supp = np.flatnonzero(x) if np.any(x) else np.flatnonzero(hard_threshold(g, s))
        g_s = np.zeros(n)
        g_s[supp] = g[supp]
        ag = mv(g_s)
        den = float(ag @ ag)
        if den == 0.0:  # gradient vanishes on the support: a fixed point
            res.converged = True
            break
        mu = float(g_s @ g_s) / den
        x_new = hard_threshold(x + mu * g, s)
        new_supp = np.flatnonzero(x_new)
        if not np.array_equal(np.sort(new_supp), np.sort(supp)):
            for _ in range(max_shrink):
                d = x_new - x
                ad = mv(d)
                dd = float(ad @ ad)
                omega = (1.0 - c) * float(d @ d) / dd if dd > 0 else np.inf
                if mu <= omega:
                    break
                mu /= kappa * (1.0 - c)
                x_new = hard_threshold(x + mu * g, s)
        r = y - mv(x_new)
        done = res.record(it, x, x_new, r, mu, tol)
        x = x_new
        if done:
            break
    res.x, res.support = x, np.flatnonzero(x)
    return res

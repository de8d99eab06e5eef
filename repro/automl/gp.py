r"""The GP posterior of one user over the K candidate models, and expected improvement.

The prior N(m, Σ) is a :class:`~repro.automl.kernel.ModelKernel` (learned from other data
sets). Observations are y = f(j) + ε with ε ~ N(0, noise). For observed indices A,

.. math::

    \mu_{post} = m + \Sigma_{\cdot A} (\Sigma_{AA} + \text{noise}\, I)^{-1} (y - m_A), \qquad
    \Sigma_{post} = \Sigma - \Sigma_{\cdot A} (\Sigma_{AA} + \text{noise}\, I)^{-1} \Sigma_{A \cdot},

computed through the Cholesky factor L of Σ_AA + noise·I (:func:`numpy.linalg.cholesky`):
μ_post = m + Vᵀw and diag Σ_post = diag Σ − Σᵢ V², with V = L⁻¹Σ_{A·}, w = L⁻¹(y − m_A).

Expected improvement over the best value so far f* (maximisation), with z = (μ − f* − ξ)/σ:
EI = (μ − f* − ξ) Φ(z) + σ φ(z), and max(μ − f* − ξ, 0) where σ = 0 (Φ through
:func:`scipy.special.ndtr`; the tests check it against :data:`scipy.stats.norm`).

Example
-------
>>> import numpy as np
>>> from repro.automl import gp
>>> from repro.automl.kernel import ModelKernel
>>> k = ModelKernel(mean=np.array([0.2, 0.4]), cov=np.array([[1.0, 0.5], [0.5, 2.0]]), shrinkage=0.0)
>>> mu, sd = gp.posterior(k, [0], [1.0], noise=0.1)
>>> np.round(mu, 4)
array([0.9273, 0.7636])
>>> round(float(gp.expected_improvement(1.0, 1.0, 0.0)), 4)
1.0833
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .errors import KernelError
from .kernel import ModelKernel

__all__ = ["posterior", "expected_improvement"]


def posterior(kernel: ModelKernel, observed, values, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of every model given ``values`` at ``observed``.

    Parameters
    ----------
    kernel : ModelKernel
        The prior.
    observed : array_like of int
        Model indices (distinct).
    values : array_like of float
        Observed qualities, same length.
    noise : float
        Observation noise variance (> 0 keeps the Cholesky factor well conditioned).

    Returns
    -------
    mu, sd : ndarray, shape (K,)
        Posterior mean and standard deviation of every model (the prior's without observations).

    Raises
    ------
    KernelError
        Indices and values of different lengths, repeated indices, non-finite values, a
        negative noise, or Σ_AA + noise·I not positive definite.
    """
    idx = np.asarray(observed, dtype=int)
    y = np.asarray(values, dtype=float)
    if idx.shape != y.shape or idx.ndim != 1:
        raise KernelError(f"observed {idx.shape} and values {y.shape} must be 1-D and of the same length")
    if not noise >= 0:
        raise KernelError(f"noise variance must be >= 0, got {noise}")
    if len(idx) == 0:
        return kernel.mean.copy(), np.sqrt(np.diag(kernel.cov)).copy()
    if len(np.unique(idx)) != len(idx):
        raise KernelError("observed model indices must be distinct")
    if not np.all(np.isfinite(y)):
        raise KernelError("observed values must be finite")
    k_aa = kernel.cov[np.ix_(idx, idx)] + noise * np.eye(len(idx))
    k_a = kernel.cov[idx]  # (n, K)
    try:
        chol = np.linalg.cholesky(k_aa)
    except np.linalg.LinAlgError:
        raise KernelError(f"Σ_AA + noise·I is not positive definite for {len(idx)} observations; "
                          f"raise the noise") from None
    # one triangular solve for both: L⁻¹ Σ_{A·} and L⁻¹ (y − m_A)
    sol = np.linalg.solve(chol, np.column_stack([k_a, y - kernel.mean[idx]]))
    v, w = sol[:, :-1], sol[:, -1]
    mu = kernel.mean + v.T @ w
    var = np.diag(kernel.cov) - np.sum(v * v, axis=0)
    return mu, np.sqrt(np.clip(var, 0.0, None))


def expected_improvement(mu, sigma, best: float, xi: float = 0.0) -> np.ndarray:
    """Expected improvement E[max(f − best − ξ, 0)] for f ~ N(mu, sigma²), elementwise.

    Parameters
    ----------
    mu, sigma : array_like
        Posterior means and standard deviations (broadcast together; σ = 0 gives
        max(mu − best − ξ, 0)).
    best : float
        The incumbent f*.
    xi : float
        Exploration margin ξ.

    Returns
    -------
    ndarray
        EI >= 0, of the broadcast shape.

    Raises
    ------
    KernelError
        A negative ``sigma``.
    """
    mu, sigma = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float))
    if np.any(sigma < 0):
        raise KernelError("sigma must be >= 0")
    gain = mu - best - xi
    pos = sigma > 0
    safe = np.where(pos, sigma, 1.0)
    z = gain / safe
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    ei = np.where(pos, gain * ndtr(z) + safe * pdf, np.maximum(gain, 0.0))
    return np.maximum(ei, 0.0)

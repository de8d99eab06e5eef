"""A Gaussian process over the K candidate models of one user, and expected improvement.

The GP lives on a finite set: the "input" is a model index j in 0..K-1 and f(j) is the
quality of model j on the user's data set. Its prior is N(m, Σ) with

- m_j: the mean quality of model j over the prior data sets;
- Σ: the covariance between models over the prior data sets, estimated by Ledoit–Wolf
  shrinkage of the empirical covariance S towards the scaled identity (tr S / K)·I,
  Σ = (1 − λ) S + λ (tr S / K) I, with λ from the Ledoit–Wolf formula
  (:class:`sklearn.covariance.LedoitWolf`), or a fixed λ. The result is checked to be
  symmetric positive definite (smallest eigenvalue > 0); with fewer prior data sets than
  models S is singular and only λ > 0 makes it definite.

The *identity kernel* (no transfer between models) keeps the mean and the total variance and
drops every correlation: Σ = (tr S / K)·I.

Observations are y = f(j) + ε with ε ~ N(0, noise). For observed indices A,

    μ_post = m + Σ_{·A} (Σ_AA + noise·I)⁻¹ (y − m_A)
    Σ_post = Σ − Σ_{·A} (Σ_AA + noise·I)⁻¹ Σ_{A·},

computed through the Cholesky factor L of Σ_AA + noise·I (:func:`numpy.linalg.cholesky`):
μ_post = m + Vᵀw and diag Σ_post = diag Σ − Σᵢ V², with V = L⁻¹Σ_{A·}, w = L⁻¹(y − m_A).

Expected improvement over the best value so far f* (maximisation), with z = (μ − f* − ξ)/σ:
EI = (μ − f* − ξ) Φ(z) + σ φ(z), and max(μ − f* − ξ, 0) where σ = 0 (Φ through
:func:`scipy.special.ndtr`; the tests check it against :data:`scipy.stats.norm`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .errors import KernelError, MatrixError


@dataclass(frozen=True)
class ModelKernel:
    """Prior mean ``mean`` (K,) and covariance ``cov`` (K, K) over the models; ``shrinkage`` λ."""

    mean: np.ndarray
    cov: np.ndarray
    shrinkage: float
    name: str = "learned"

    @property
    def n_models(self) -> int:
        return len(self.mean)

    def correlation(self) -> np.ndarray:
        d = np.sqrt(np.diag(self.cov))
        return self.cov / np.outer(d, d)


def _check_prior(prior_quality) -> np.ndarray:
    q = np.array(prior_quality, dtype=float)
    if q.ndim != 2:
        raise KernelError(f"prior qualities must be a 2-D matrix (data sets x models), got shape {q.shape}")
    if q.shape[0] < 2:
        raise KernelError(f"a kernel needs at least 2 prior data sets, got {q.shape[0]}")
    if not np.all(np.isfinite(q)):
        raise MatrixError(f"prior quality matrix has {int(np.sum(~np.isfinite(q)))} NaN/inf entries")
    return q


def check_psd(cov: np.ndarray, what: str = "kernel") -> float:
    """The smallest eigenvalue of a symmetric ``cov``; :class:`KernelError` unless it is > 0."""
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise KernelError(f"{what} must be a square matrix, got shape {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise KernelError(f"{what} is not symmetric")
    low = float(np.linalg.eigvalsh(cov)[0])
    if not low > 0:
        raise KernelError(f"{what} is not positive definite: smallest eigenvalue {low:.3g}")
    return low


def learn_kernel(prior_quality, shrinkage: float | None = None) -> ModelKernel:
    """The model-model kernel and prior mean from the prior data sets' qualities.

    Parameters
    ----------
    prior_quality
        (n_prior, K) qualities of the K models on the prior data sets.
    shrinkage
        λ in [0, 1]; ``None`` for the Ledoit–Wolf estimate.
    """
    q = _check_prior(prior_quality)
    mean = q.mean(axis=0)
    if shrinkage is None:
        from sklearn.covariance import LedoitWolf
        lw = LedoitWolf(assume_centered=False).fit(q)
        cov, lam = lw.covariance_, float(lw.shrinkage_)
    else:
        lam = float(shrinkage)
        if not 0.0 <= lam <= 1.0:
            raise KernelError(f"shrinkage must be in [0, 1], got {shrinkage}")
        s = np.cov(q, rowvar=False, bias=True)
        cov = (1 - lam) * s + lam * np.trace(s) / s.shape[0] * np.eye(s.shape[0])
    cov = 0.5 * (cov + cov.T)
    check_psd(cov, f"kernel learned from {q.shape[0]} prior data sets (shrinkage {lam:.3g})")
    return ModelKernel(mean, cov, lam, "learned")


def identity_kernel(prior_quality) -> ModelKernel:
    """Same prior mean and total variance as :func:`learn_kernel`, no correlation between models."""
    q = _check_prior(prior_quality)
    s = np.cov(q, rowvar=False, bias=True)
    scale = float(np.trace(s) / s.shape[0])
    if not scale > 0:
        raise KernelError("the prior qualities do not vary at all: an identity kernel of scale 0 is not usable")
    return ModelKernel(q.mean(axis=0), scale * np.eye(q.shape[1]), 1.0, "identity")


def posterior(kernel: ModelKernel, observed, values, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of every model given ``values`` at ``observed``.

    Parameters
    ----------
    kernel
        The prior.
    observed
        Model indices (distinct).
    values
        Observed qualities, same length.
    noise
        Observation noise variance (> 0 keeps the Cholesky factor well conditioned).
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
    """E[max(f − best − ξ, 0)] for f ~ N(mu, sigma²), elementwise (σ = 0 gives max(mu − best − ξ, 0))."""
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

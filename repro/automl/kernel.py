r"""The prior of a user's GP over the K candidate models, learned from *other* data sets.

Each user's GP lives on a finite set: the "input" is a model index j in 0..K-1 and f(j) is the
quality of model j on the user's data set. Its prior is N(m, Σ) with

- m_j: the mean quality of model j over the prior data sets;
- Σ: the covariance between models over the prior data sets, estimated by Ledoit–Wolf
  shrinkage of the empirical covariance S towards the scaled identity (tr S / K)·I,

  .. math:: \Sigma = (1 - \lambda) S + \lambda \frac{\operatorname{tr} S}{K} I,

  with λ from the Ledoit–Wolf formula (:class:`sklearn.covariance.LedoitWolf`), or a fixed λ.
  The result is checked to be symmetric positive definite (smallest eigenvalue > 0); with
  fewer prior data sets than models S is singular and only λ > 0 makes it definite.

The *identity kernel* (no transfer between models) keeps the mean and the total variance and
drops every correlation: Σ = (tr S / K)·I.

Example
-------
>>> import numpy as np
>>> from repro.automl import kernel
>>> prior = np.array([[0.6, 0.7, 0.5], [0.8, 0.9, 0.7], [0.3, 0.4, 0.35]])
>>> k = kernel.learn_kernel(prior)
>>> k.n_models, bool(kernel.check_psd(k.cov) > 0)
(3, True)
>>> bool(np.all(kernel.identity_kernel(prior).correlation() == np.eye(3)))
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import KernelError, MatrixError

__all__ = ["ModelKernel", "check_psd", "learn_kernel", "identity_kernel"]


@dataclass(frozen=True)
class ModelKernel:
    """Prior mean and covariance of a GP over K models.

    Attributes
    ----------
    mean : ndarray, shape (K,)
        Prior mean quality of each model.
    cov : ndarray, shape (K, K)
        Prior covariance between models (symmetric positive definite).
    shrinkage : float
        The Ledoit–Wolf λ it was built with (1 for the identity kernel).
    name : str
        ``"learned"`` or ``"identity"``.
    """

    mean: np.ndarray
    cov: np.ndarray
    shrinkage: float
    name: str = "learned"

    @property
    def n_models(self) -> int:
        """K, the number of models."""
        return len(self.mean)

    def correlation(self) -> np.ndarray:
        """The correlation matrix between models, shape (K, K)."""
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
    """The smallest eigenvalue of a symmetric positive definite matrix.

    Parameters
    ----------
    cov : array_like, shape (K, K)
        The matrix.
    what : str
        Its name in the error message.

    Returns
    -------
    float
        The smallest eigenvalue (> 0).

    Raises
    ------
    KernelError
        Not square, not symmetric, or not positive definite.
    """
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
    prior_quality : array_like, shape (n_prior, K)
        Qualities of the K models on the prior data sets (never a user's).
    shrinkage : float, optional
        λ in [0, 1]; ``None`` for the Ledoit–Wolf estimate.

    Returns
    -------
    ModelKernel
        Named ``"learned"``.

    Raises
    ------
    KernelError
        Fewer than 2 prior data sets, λ outside [0, 1], or a covariance that is not positive
        definite. :class:`~repro.automl.errors.MatrixError` for NaN or infinite qualities.
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
    """Same prior mean and total variance as :func:`learn_kernel`, no correlation between models.

    Parameters
    ----------
    prior_quality : array_like, shape (n_prior, K)
        Qualities of the K models on the prior data sets.

    Returns
    -------
    ModelKernel
        Named ``"identity"``, with ``cov = (tr S / K)·I``.

    Raises
    ------
    KernelError
        Fewer than 2 prior data sets, or qualities that do not vary at all.
    """
    q = _check_prior(prior_quality)
    s = np.cov(q, rowvar=False, bias=True)
    scale = float(np.trace(s) / s.shape[0])
    if not scale > 0:
        raise KernelError("the prior qualities do not vary at all: an identity kernel of scale 0 is not usable")
    return ModelKernel(q.mean(axis=0), scale * np.eye(q.shape[1]), 1.0, "identity")

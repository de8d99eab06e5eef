"""How well a method recovers magnitudes: relative errors, robust scatter and their summaries.

The paper judges a recovered magnitude by the relative error

    e = (m_rec - m_true) / m_true,

its systematic error by the median of ``e`` and its scatter by the robust sigma
``1.4826 x median(|e - median(e)|)`` (the standard deviation for Gaussian errors, insensitive to
the few failed recoveries). Both are combined into the total error ``sqrt(median^2 + sigma^2)``.
Non-finite errors (a recovered flux <= 0 has no magnitude) are counted, never silently dropped.

Example
-------
>>> s = error_summary([3.0, 4.0, 0.5], [0.01, -0.01, 0.5], min_contrast=2.0)
>>> s["n"], s["median"]
(2, 0.0)
"""
from __future__ import annotations

import numpy as np

__all__ = ["relative_mag_error", "robust_sigma", "binned_stats", "error_summary", "mismatch_degradation"]


def relative_mag_error(m_rec, m_true):
    """The paper's relative magnitude error ``(m_rec - m_true) / m_true``.

    Parameters
    ----------
    m_rec, m_true : array_like
        Recovered and true magnitudes (broadcast against each other).

    Returns
    -------
    numpy.ndarray
        The relative errors (NaN where ``m_rec`` is NaN).
    """
    return (np.asarray(m_rec) - np.asarray(m_true)) / np.asarray(m_true)


def robust_sigma(x) -> float:
    """1.4826 x the median absolute deviation of the finite values.

    Parameters
    ----------
    x : array_like
        Values; non-finite ones are ignored.

    Returns
    -------
    float
        The robust standard deviation, NaN if no value is finite.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def binned_stats(contrast, err, edges) -> list[dict]:
    """Systematic error (median) and scatter (robust sigma) of ``err`` in bins of contrast.

    Parameters
    ----------
    contrast : array_like, shape (N,)
        Point-source / host flux ratio of each image.
    err : array_like, shape (N,)
        Relative magnitude error of each image.
    edges : sequence of float
        Bin edges; bin ``i`` holds ``edges[i] <= contrast < edges[i + 1]``.

    Returns
    -------
    list of dict
        One dict per bin: ``lo``, ``hi``, ``n`` (images in the bin), ``n_bad`` (non-finite
        errors among them, excluded from the statistics), ``median``, ``robust_sigma``.
    """
    contrast = np.asarray(contrast, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (contrast >= lo) & (contrast < hi)
        e = err[sel]
        good = e[np.isfinite(e)]
        out.append(dict(lo=float(lo), hi=float(hi), n=int(sel.sum()), n_bad=int(sel.sum() - good.size),
                        median=float(np.median(good)) if good.size else float("nan"),
                        robust_sigma=robust_sigma(good)))
    return out


def error_summary(contrast, err, min_contrast: float) -> dict:
    """Median, robust sigma, total error and counts of ``err`` for contrast > ``min_contrast``.

    Parameters
    ----------
    contrast : array_like, shape (N,)
        Point-source / host flux ratio of each image.
    err : array_like, shape (N,)
        Relative magnitude error of each image.
    min_contrast : float
        Only images with a contrast strictly above this count.

    Returns
    -------
    dict
        ``n`` (selected images), ``n_bad`` (non-finite errors among them), ``median``,
        ``robust_sigma`` and ``total`` = sqrt(median² + robust_sigma²).
    """
    contrast = np.asarray(contrast, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    sel = contrast > min_contrast
    e = err[sel]
    good = e[np.isfinite(e)]
    med = float(np.median(good)) if good.size else float("nan")
    sig = robust_sigma(good)
    return dict(n=int(sel.sum()), n_bad=int(sel.sum() - good.size), median=med, robust_sigma=sig,
                total=float(np.hypot(med, sig)))


def mismatch_degradation(contrast, errors: dict, factors, min_contrast: float) -> float:
    """Mean increase of the total error over PSF width factors, against the matched PSF.

    Parameters
    ----------
    contrast : array_like, shape (N,)
        Contrast of each image (the same images for every factor).
    errors : dict
        Maps a PSF width factor (``1.0`` = matched PSF, required) to the relative magnitude
        errors of the N images.
    factors : sequence of float
        The width factors to average over (each a key of ``errors``).
    min_contrast : float
        Only images with a contrast strictly above this count (as in :func:`error_summary`).

    Returns
    -------
    float
        Mean over ``factors`` of ``total(factor) - total(1.0)``, ``total`` as in
        :func:`error_summary`.

    Raises
    ------
    KeyError
        ``errors`` lacks the matched case ``1.0`` or one of ``factors``.
    """
    base = error_summary(contrast, errors[1.0], min_contrast)["total"]
    return float(np.mean([error_summary(contrast, errors[float(f)], min_contrast)["total"] - base
                          for f in factors]))

r"""Numbers from structure-function curves: slopes, ratios, crossings and stitching.

The claims of the ``agn`` chain compare SF curves measured on different lag grids (the model at
several resolutions, the Stripe 82 ensemble): these helpers turn them into single numbers. All
interpolation is linear in :math:`(\log_{10}\Delta t, \log_{10}{\rm SF})`, the space in which
SFs are close to power laws.

Example
-------
>>> import numpy as np
>>> from repro.astro.agn import comparison
>>> lags = np.logspace(0, 4, 5)
>>> comparison.log_slope(lags, 3 * lags**0.5, 1.0, 1e4), comparison.value_at(lags, lags**0.5, 100.0)
(0.5, 10.0)
"""
from __future__ import annotations

import numpy as np

__all__ = ["log_slope", "max_abs_log_ratio", "lag_at_value", "stitch", "value_at"]


def _log_interp(x_new, x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        raise ValueError("need at least two finite, positive SF points to interpolate")
    order = np.argsort(x[ok])
    lx, ly = np.log10(x[ok][order]), np.log10(y[ok][order])
    return 10 ** np.interp(np.log10(x_new), lx, ly, left=np.nan, right=np.nan)


def log_slope(lags, sf, lo: float, hi: float) -> float:
    r"""Logarithmic slope :math:`{\rm d}\log{\rm SF}/{\rm d}\log\Delta t` between two lags.

    Ordinary least squares of :math:`\log_{10}{\rm SF}` on :math:`\log_{10}\Delta t` over the
    finite, positive points with ``lo <= lag <= hi``.

    Parameters
    ----------
    lags, sf : array_like
        The SF curve.
    lo, hi : float
        Lag range, ``0 < lo < hi``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``lo``, ``hi`` are not ``0 < lo < hi``, or fewer than two finite points fall in
        ``[lo, hi]``.
    """
    lags, sf = np.asarray(lags, float), np.asarray(sf, float)
    if not 0 < lo < hi:
        raise ValueError(f"need 0 < lo < hi, got lo={lo}, hi={hi}")
    m = (lags >= lo) & (lags <= hi) & np.isfinite(sf) & (sf > 0)
    if m.sum() < 2:
        raise ValueError(f"fewer than two SF points between {lo:g} and {hi:g}")
    slope, _ = np.polyfit(np.log10(lags[m]), np.log10(sf[m]), 1)
    return float(slope)


def max_abs_log_ratio(lags_a, sf_a, lags_b, sf_b, lo: float, hi: float, n: int = 25) -> float:
    r"""Largest :math:`|\log_{10}({\rm SF}_a/{\rm SF}_b)|` over a lag range.

    Both curves are interpolated (log-log) on ``n`` log-spaced lags from ``lo`` to ``hi``.

    Parameters
    ----------
    lags_a, sf_a, lags_b, sf_b : array_like
        The two SF curves, each on its own lags.
    lo, hi : float
        Lag range (> 0).
    n : int, optional
        Number of lags compared.

    Returns
    -------
    float
        The largest absolute difference in dex; NaN if either curve does not cover the whole
        range.

    Raises
    ------
    ValueError
        If a curve has fewer than two finite, positive points.
    """
    grid = np.logspace(np.log10(lo), np.log10(hi), n)
    a = _log_interp(grid, lags_a, sf_a)
    b = _log_interp(grid, lags_b, sf_b)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    return float(np.max(np.abs(np.log10(a / b))))


def lag_at_value(lags, sf, value: float) -> float:
    """The smallest lag at which an SF reaches ``value`` (interpolated in log-log).

    Parameters
    ----------
    lags, sf : array_like
        The SF curve (non-finite and non-positive points are ignored).
    value : float
        The SF value sought (> 0).

    Returns
    -------
    float
        The lag; the first lag if the SF starts above ``value``; NaN if it never reaches it.
    """
    lags, sf = np.asarray(lags, float), np.asarray(sf, float)
    order = np.argsort(lags)
    lags, sf = lags[order], sf[order]
    ok = np.isfinite(sf) & (sf > 0)
    lags, sf = lags[ok], sf[ok]
    above = np.nonzero(sf >= value)[0]
    if above.size == 0:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(lags[0])
    x0, x1 = np.log10(lags[i - 1]), np.log10(lags[i])
    y0, y1 = np.log10(sf[i - 1]), np.log10(sf[i])
    return float(10 ** (x0 + (np.log10(value) - y0) * (x1 - x0) / (y1 - y0)))


def stitch(levels: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Join SFs measured at several resolutions into one curve.

    Where levels overlap, the finer level is used up to the coarser level's smallest lag.

    Parameters
    ----------
    levels : list of dict
        One dict per level with ``dt`` (its sampling interval), ``lags`` and ``sf``, e.g. the
        output of :func:`repro.astro.agn.multiscale_structure_functions`.

    Returns
    -------
    lags, sf : numpy.ndarray
        The joined curve, sorted by lag.

    Raises
    ------
    ValueError
        If ``levels`` is empty.
    """
    if not levels:
        raise ValueError("no levels to stitch")
    levels = sorted(levels, key=lambda lv: lv["dt"])
    out_l, out_s = [], []
    for i, lv in enumerate(levels):
        lags, sf = np.asarray(lv["lags"], float), np.asarray(lv["sf"], float)
        upper = np.inf if i == len(levels) - 1 else np.min(levels[i + 1]["lags"])
        m = lags < upper
        out_l.append(lags[m])
        out_s.append(sf[m])
    lags, sf = np.concatenate(out_l), np.concatenate(out_s)
    order = np.argsort(lags)
    return lags[order], sf[order]


def value_at(lags, sf, lag: float) -> float:
    """The SF at one lag, interpolated in log-log.

    Parameters
    ----------
    lags, sf : array_like
        The SF curve.
    lag : float
        The lag (> 0).

    Returns
    -------
    float
        NaN outside the measured range.

    Raises
    ------
    ValueError
        If the curve has fewer than two finite, positive points.
    """
    return float(_log_interp(np.array([lag]), lags, sf)[0])

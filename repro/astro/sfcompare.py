"""Comparing structure functions across time-scales (used by the ``agn`` chain).

Small, tested helpers that turn SF curves into the numbers the claims are about: the
logarithmic slope over a lag range, the largest ratio between two SFs over a range, the lag at
which an SF first reaches a value, and the stitching of SFs measured at several resolutions.
"""
from __future__ import annotations

import numpy as np


def _log_interp(x_new, x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        raise ValueError("need at least two finite, positive SF points to interpolate")
    order = np.argsort(x[ok])
    lx, ly = np.log10(x[ok][order]), np.log10(y[ok][order])
    return 10 ** np.interp(np.log10(x_new), lx, ly, left=np.nan, right=np.nan)


def log_slope(lags, sf, lo: float, hi: float) -> float:
    """d log SF / d log Δt between lags ``lo`` and ``hi`` (OLS over the points in range).

    Raises
    ------
    ValueError
        If fewer than two finite points fall in ``[lo, hi]``.
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
    """max over log-spaced lags in ``[lo, hi]`` of |log10(SF_a / SF_b)| (both interpolated in log-log).

    Returns NaN if either SF does not cover the whole range.
    """
    grid = np.logspace(np.log10(lo), np.log10(hi), n)
    a = _log_interp(grid, lags_a, sf_a)
    b = _log_interp(grid, lags_b, sf_b)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    return float(np.max(np.abs(np.log10(a / b))))


def lag_at_value(lags, sf, value: float) -> float:
    """The smallest lag at which the SF (interpolated in log-log) reaches ``value``; NaN if never."""
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

    ``levels`` holds dicts with ``lags`` and ``sf`` (and ``dt``); where levels overlap, the
    finer level is used up to the coarser level's smallest lag. Returns ``(lags, sf)`` sorted.
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
    """The SF at ``lag``, interpolated in log-log; NaN outside the measured range."""
    return float(_log_interp(np.array([lag]), lags, sf)[0])

r"""Flickering: how long and how often a light curve stays above an Eddington-ratio threshold.

An AGN counts as "on" while :math:`\log_{10}\lambda` exceeds a threshold; the duty cycle is
the fraction of time it is on, an episode a maximal run of samples above the threshold.

Example
-------
>>> import numpy as np
>>> from repro.astro.agn import flicker
>>> x = np.array([-3.0, -1.0, -1.0, -3.0, -1.0, -3.0])
>>> flicker.episode_durations(x, 0.5, -2.0).tolist(), flicker.fraction_above(x, -2.0)
([1.0, 0.5], 0.5)
"""
from __future__ import annotations

import numpy as np

from ._checks import _as_2d, _check_finite, _check_positive

__all__ = ["episode_durations", "fraction_above", "flicker_statistics"]


def episode_durations(series, dt, threshold):
    r"""Durations of the episodes during which a light curve stays above a threshold.

    An episode is a maximal run of consecutive samples with ``series > threshold``; runs
    that touch the first or last sample are ignored (their duration is unknown).

    Parameters
    ----------
    series : array_like
        1-D light curve or 2-D array ``(n_lightcurves, n)`` (runs never join curves).
    dt : float
        Sampling interval (yr).
    threshold : float
        Threshold in the units of ``series`` (e.g. :math:`\log_{10}\lambda = -2`).

    Returns
    -------
    numpy.ndarray
        Durations (number of samples times ``dt``), in order of appearance.

    Raises
    ------
    ValueError
        If ``series`` is not 1-D or 2-D with at least 2 samples, ``dt`` <= 0 or ``threshold``
        is not finite.
    """
    x = _as_2d(series, "series")
    dt = _check_positive(dt, "dt")
    threshold = _check_finite(threshold, "threshold")
    above = x > threshold
    m, n = above.shape
    pad = np.zeros((m, n + 2), dtype=np.int8)
    pad[:, 1:-1] = above
    d = np.diff(pad, axis=1)
    r_s, c_s = np.nonzero(d == 1)   # run starts (column index into series)
    r_e, c_e = np.nonzero(d == -1)  # run ends (exclusive)
    # nonzero returns row-major order, so starts and ends pair up
    interior = (c_s > 0) & (c_e < n)
    return (c_e - c_s)[interior] * dt


def fraction_above(series, threshold):
    r"""Fraction of samples above ``threshold`` (the duty cycle).

    Parameters
    ----------
    series : array_like
        Light curve(s), any shape.
    threshold : float

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``series`` is empty or ``threshold`` is not finite.
    """
    x = np.asarray(series, dtype=float)
    if x.size == 0:
        raise ValueError("series is empty")
    threshold = _check_finite(threshold, "threshold")
    return float(np.mean(x > threshold))


def flicker_statistics(series, dt, threshold):
    r"""Duty cycle and "on"-episode lengths of light curves above a threshold.

    Parameters
    ----------
    series : array_like
        1-D light curve or 2-D array ``(n_lightcurves, n)`` of :math:`\log_{10}\lambda`.
    dt : float
        Sampling interval (yr).
    threshold : float
        The AGN is "on" while :math:`\log_{10}\lambda` exceeds it.

    Returns
    -------
    dict
        ``duty_cycle`` (fraction of time above), ``n_episodes`` (complete episodes, not
        touching the ends of a curve), ``median_episode_yr`` and ``mean_episode_yr`` (NaN when
        there is no complete episode).
    """
    durations = episode_durations(series, dt, threshold)
    return {
        "duty_cycle": float(fraction_above(series, threshold)),
        "n_episodes": int(durations.size),
        "median_episode_yr": float(np.median(durations)) if durations.size else float("nan"),
        "mean_episode_yr": float(np.mean(durations)) if durations.size else float("nan"),
    }

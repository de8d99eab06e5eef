"""Global regret against simulated time, its integral, and the time to reach a regret.

A :class:`~repro.automl.scheduler.Trace` records the regret of every user after every finished
job; between events it is constant (a step function of time, right-continuous). With
R(t) = Σᵤ rᵤ(t) the global regret:

- cumulative regret ∫₀ᵀ R(t) dt, and the mean regret per user ∫₀ᵀ R(t) dt / (N·T);
- time to regret ε: min {t : R(t) <= ε};
- speed-up on M devices S(M) = T(M₀) / T(M) against the smallest device count M₀.

Example
-------
>>> import numpy as np
>>> from repro.automl import metrics
>>> from repro.automl.scheduler import Trace
>>> tr = Trace("gp_ei", 1, "believer", False, np.array([0.0, 1.0, 3.0]),
...            np.array([[0.5, 0.3], [0.1, 0.3], [0.1, 0.0]]), np.array([0.9, 0.8]))
>>> round(metrics.cumulative_regret(tr, 4.0), 6), metrics.time_to_regret(tr, 0.4)
(1.7, 1.0)
>>> metrics.speedups({1: 10.0, 2: 5.0})
{1: 1.0, 2: 2.0}
"""
from __future__ import annotations

import numpy as np

from .errors import AutomlError
from .scheduler import Trace

__all__ = ["regret_at", "cumulative_regret", "mean_regret", "time_to_regret", "speedups"]


def regret_at(trace: Trace, grid, per_user: bool = False) -> np.ndarray:
    """The global regret (or every user's) at given times.

    Parameters
    ----------
    trace : Trace
    grid : array_like of float
        Times >= 0.
    per_user : bool
        Every user's regret instead of their sum.

    Returns
    -------
    ndarray
        Shape of ``grid`` (with a last axis of N users for ``per_user``).

    Raises
    ------
    AutomlError
        A negative time.
    """
    grid = np.asarray(grid, dtype=float)
    if np.any(grid < 0):
        raise AutomlError("regret is defined for times >= 0 only")
    k = np.searchsorted(trace.times, grid, side="right") - 1
    rows = trace.user_regret[k]
    return rows if per_user else rows.sum(axis=-1)


def cumulative_regret(trace: Trace, horizon: float) -> float:
    """∫₀^horizon R(t) dt for the global regret R (regret × seconds).

    After the simulation's last event the regret is held constant, so a run that finished every
    pair early, or stopped at its own horizon, is integrated to the same ``horizon`` as others.

    Parameters
    ----------
    trace : Trace
    horizon : float
        Upper limit T > 0 of the integral, in seconds.

    Returns
    -------
    float

    Raises
    ------
    AutomlError
        ``horizon <= 0``.
    """
    if not horizon > 0:
        raise AutomlError(f"horizon must be > 0, got {horizon}")
    t = np.asarray(trace.times, dtype=float)
    r = trace.regret
    keep = t < horizon
    edges = np.append(t[keep], horizon)
    return float(np.sum(r[keep] * np.diff(edges)))


def mean_regret(trace: Trace, horizon: float) -> float:
    """Cumulative global regret divided by (users × horizon): the time-averaged regret per user.

    Parameters
    ----------
    trace : Trace
    horizon : float
        T > 0, in seconds.

    Returns
    -------
    float

    Raises
    ------
    AutomlError
        ``horizon <= 0``.
    """
    return cumulative_regret(trace, horizon) / (trace.n_users * horizon)


def time_to_regret(trace: Trace, eps: float, all_users: bool = False) -> float:
    """The first time the global regret is <= ``eps``.

    Parameters
    ----------
    trace : Trace
    eps : float
        The target (a tolerance of 1e-12 absorbs rounding).
    all_users : bool
        Wait until *every user's* regret is <= ``eps`` instead.

    Returns
    -------
    float
        Seconds; inf if the trace never reaches the target.
    """
    if all_users:
        ok = np.all(trace.user_regret <= eps + 1e-12, axis=1)
    else:
        ok = trace.regret <= eps + 1e-12
    hit = np.flatnonzero(ok)
    return float(trace.times[hit[0]]) if hit.size else float("inf")


def speedups(times_by_m: dict[int, float]) -> dict[int, float]:
    """Speed-ups T(M₀) / T(M) against the smallest device count M₀ given (normally 1).

    Parameters
    ----------
    times_by_m : dict of int to float
        Time to the target for each device count M.

    Returns
    -------
    dict of int to float
        Sorted by M; NaN where a time is not finite or not > 0.

    Raises
    ------
    AutomlError
        An empty ``times_by_m``.
    """
    if not times_by_m:
        raise AutomlError("no device counts given")
    m0 = min(times_by_m)
    t0 = times_by_m[m0]
    return {m: (t0 / t if np.isfinite(t) and t > 0 and np.isfinite(t0) else float("nan"))
            for m, t in sorted(times_by_m.items())}

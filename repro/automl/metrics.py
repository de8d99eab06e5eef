"""Global regret against simulated time, its integral, and the time to reach a regret.

A :class:`~repro.automl.scheduler.Trace` records the regret of every user after every finished
job; between events it is constant (a step function of time, right-continuous).
"""
from __future__ import annotations

import numpy as np

from .errors import AutomlError
from .scheduler import Trace


def regret_at(trace: Trace, grid, per_user: bool = False) -> np.ndarray:
    """Global regret (or every user's, ``per_user``) at the times ``grid`` (>= 0)."""
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
    """
    if not horizon > 0:
        raise AutomlError(f"horizon must be > 0, got {horizon}")
    t = np.asarray(trace.times, dtype=float)
    r = trace.regret
    keep = t < horizon
    edges = np.append(t[keep], horizon)
    return float(np.sum(r[keep] * np.diff(edges)))


def mean_regret(trace: Trace, horizon: float) -> float:
    """Cumulative global regret divided by (users × horizon): the time-averaged regret per user."""
    return cumulative_regret(trace, horizon) / (trace.n_users * horizon)


def time_to_regret(trace: Trace, eps: float, all_users: bool = False) -> float:
    """First time the global regret is <= ``eps`` (or every user's, with ``all_users``); inf if never."""
    if all_users:
        ok = np.all(trace.user_regret <= eps + 1e-12, axis=1)
    else:
        ok = trace.regret <= eps + 1e-12
    hit = np.flatnonzero(ok)
    return float(trace.times[hit[0]]) if hit.size else float("inf")


def speedups(times_by_m: dict[int, float]) -> dict[int, float]:
    """T(smallest M) / T(M) for every M (the reference is the smallest M given, normally 1)."""
    if not times_by_m:
        raise AutomlError("no device counts given")
    m0 = min(times_by_m)
    t0 = times_by_m[m0]
    return {m: (t0 / t if np.isfinite(t) and t > 0 and np.isfinite(t0) else float("nan"))
            for m, t in sorted(times_by_m.items())}

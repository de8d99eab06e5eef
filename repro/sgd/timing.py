r"""Training curves against simulated wall-clock time on a grid of networks: time to a target loss.

Built on the time model of :mod:`repro.sgd.network` (one iteration = compute + communication).
The inputs are tidy tables (:class:`pandas.DataFrame`) with one row per run configuration
``(algorithm, bits)``:

* :func:`network_grid` — every latency × every bandwidth (a 2×2 grid of cells);
* :func:`iteration_times` — simulated seconds per iteration of every configuration in every cell;
* :func:`wall_clock_curves` — loss curves (per step) with a simulated ``time`` column per cell;
* :func:`target_loss`, :func:`time_to_target_table` — the target, and when each curve reaches it;
* :func:`time_ratio`, :func:`speedup` — one configuration's time against the best of others.

Example
-------
>>> from repro.sgd import timing
>>> list(timing.network_grid([1e-4, 1e-2], [1e10, 1e8]).cell)
['low latency, high bandwidth', 'low latency, low bandwidth', 'high latency, high bandwidth', 'high latency, low bandwidth']
"""
from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from .network import Network, iteration_time, time_to_target

__all__ = ["network_grid", "iteration_times", "wall_clock_curves", "target_loss", "time_to_target_table",
           "time_ratio", "speedup", "lookup"]

FULL_PRECISION_BITS = 32


def network_grid(latencies_s, bandwidths_bps, names=None) -> pd.DataFrame:
    """The grid of networks, every latency × every bandwidth.

    Parameters
    ----------
    latencies_s : (low, high) latencies in seconds
    bandwidths_bps : (high, low) bandwidths in bit/s
    names : optional list of cell names, row-major (latency outer, bandwidth inner)

    Returns
    -------
    DataFrame with ``cell``, ``latency_s``, ``bandwidth_bps``, ``latency`` ("low"/"high"),
    ``bandwidth`` ("high"/"low").
    """
    lat = [float(x) for x in latencies_s]
    bw = [float(x) for x in bandwidths_bps]
    if len(lat) != 2 or len(bw) != 2:
        raise ValueError("the grid needs exactly two latencies (low, high) and two bandwidths (high, low)")
    if not lat[0] < lat[1]:
        raise ValueError(f"latencies must be given as (low, high) with low < high, got {lat}")
    if not bw[0] > bw[1]:
        raise ValueError(f"bandwidths must be given as (high, low) with high > low, got {bw}")
    rows = []
    for li, l in zip(("low", "high"), lat):
        for bi, b in zip(("high", "low"), bw):
            Network(l, b)  # validates
            rows.append({"cell": f"{li} latency, {bi} bandwidth", "latency_s": l, "bandwidth_bps": b,
                         "latency": li, "bandwidth": bi})
    df = pd.DataFrame(rows)
    if names is not None:
        names = list(names)
        if len(names) != 4:
            raise ValueError(f"names must hold 4 cell names, got {len(names)}")
        df["cell"] = names
    return df


def iteration_times(runs: pd.DataFrame, grid: pd.DataFrame, *, n_workers: int, degree: int,
                    compute_s: float) -> pd.DataFrame:
    """Simulated seconds per iteration of every (algorithm, bits) in every network cell.

    Uses :func:`repro.sgd.network.iteration_time`: ring AllReduce
    :math:`2(n-1)(\\alpha + m/(n\\beta))` or gossip :math:`\\text{degree}(\\alpha + m/\\beta)`,
    plus ``compute_s``.

    Parameters
    ----------
    runs : DataFrame
        One row (or more) per configuration with ``algorithm``, ``bits``, ``label``,
        ``message_bits`` and ``communication`` (``"allreduce"`` or ``"gossip"``).
    grid : DataFrame from :func:`network_grid`
    n_workers, degree : int
        Workers, and neighbours per worker of the gossip graph.
    compute_s : float
        Simulated local computation per iteration, seconds.

    Returns
    -------
    DataFrame with ``algorithm``, ``bits``, ``label``, ``cell``, ``message_bits``,
    ``seconds`` (per iteration) and ``comm_seconds`` (its communication part).
    """
    if not isinstance(compute_s, Real) or compute_s < 0:
        raise ValueError(f"compute_s must be a non-negative number of seconds, got {compute_s!r}")
    cfg = runs.drop_duplicates(["algorithm", "bits"])[["algorithm", "bits", "label", "message_bits", "communication"]]
    rows = []
    for _, c in grid.iterrows():
        net = Network(float(c.latency_s), float(c.bandwidth_bps))
        for _, r in cfg.iterrows():
            deg = int(degree) if r.communication == "gossip" else None
            t = iteration_time(net, r.communication, int(n_workers), int(r.message_bits), degree=deg,
                               compute_s=float(compute_s))
            rows.append({"algorithm": r.algorithm, "bits": int(r.bits), "label": r.label,
                         "cell": c.cell, "message_bits": int(r.message_bits), "seconds": t,
                         "comm_seconds": t - float(compute_s)})
    return pd.DataFrame(rows)


def wall_clock_curves(mean: pd.DataFrame, times: pd.DataFrame) -> pd.DataFrame:
    """The seed-mean curves with a simulated ``time`` column, one copy per network cell.

    Parameters
    ----------
    mean : DataFrame
        Loss curves with ``algorithm``, ``bits``, ``step`` (and e.g. ``loss``, ``epoch``).
    times : DataFrame from :func:`iteration_times`

    Returns
    -------
    DataFrame
        ``mean``'s columns plus ``label``, ``cell`` and ``time`` (step × seconds per iteration).
    """
    merged = mean.merge(times[["algorithm", "bits", "label", "cell", "seconds"]], on=["algorithm", "bits"], how="inner")
    merged["time"] = merged.step * merged.seconds
    return merged.drop(columns="seconds")


def target_loss(mean: pd.DataFrame, fraction: float, reference=("allreduce", FULL_PRECISION_BITS)) -> float:
    """The target loss: the reference's seed-mean loss after ``fraction`` of the run.

    Parameters
    ----------
    mean : DataFrame
        Seed-mean curves with ``algorithm``, ``bits``, ``step``, ``loss``.
    fraction : float in (0, 1]
        Where on the reference curve (as a share of its steps) the target is read.
    reference : (algorithm, bits), default full-precision AllReduce

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``fraction`` outside (0, 1] or the reference is not among the curves.
    """
    if not isinstance(fraction, Real) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    g = mean[(mean.algorithm == reference[0]) & (mean.bits == reference[1])]
    if g.empty:
        raise ValueError(f"the reference {reference} is not among the curves")
    at = fraction * g.step.max()
    return float(g.loss.iloc[int(np.argmin(np.abs(g.step.to_numpy() - at)))])


def time_to_target_table(clock: pd.DataFrame, target: float) -> pd.DataFrame:
    """Simulated seconds until the seed-mean loss first reaches ``target``, per (algorithm, bits, cell).

    Parameters
    ----------
    clock : DataFrame from :func:`wall_clock_curves`
    target : float

    Returns
    -------
    DataFrame
        ``algorithm``, ``bits``, ``label``, ``cell``, ``time_to_target`` (``inf`` when the
        curve never reaches the target) and ``epochs_to_target`` (the same for every cell).
    """
    rows = []
    for (a, b, cell), g in clock.groupby(["algorithm", "bits", "cell"], sort=False):
        g = g.sort_values("step")
        t = time_to_target(g.time.to_numpy(), g.loss.to_numpy(), target)
        e = time_to_target(g.epoch.to_numpy(), g.loss.to_numpy(), target)
        rows.append({"algorithm": a, "bits": int(b), "label": g.label.iloc[0], "cell": cell,
                     "time_to_target": t, "epochs_to_target": e})
    return pd.DataFrame(rows)


def time_ratio(ttt: pd.DataFrame, cell: str, algorithm, others) -> float:
    """``time of algorithm / min(time of the others)`` to the target in one cell.

    Parameters
    ----------
    ttt : DataFrame from :func:`time_to_target_table`
    cell : network cell name
    algorithm : (name, bits)
    others : list of (name, bits)

    Returns
    -------
    float
        < 1 when ``algorithm`` is the fastest; ``inf`` when it never reaches the target (or
        ``nan`` when none of them does).
    """
    sel = ttt[ttt.cell == cell]
    if sel.empty:
        raise ValueError(f"unknown cell {cell!r}; available: {sorted(set(ttt.cell))}")
    others = list(others)
    if not others:
        raise ValueError("others must name at least one (algorithm, bits)")
    t = lookup(sel, *algorithm, column="time_to_target")
    base = min(lookup(sel, *b, column="time_to_target") for b in others)
    if not np.isfinite(t) and not np.isfinite(base):
        return float("nan")
    if not np.isfinite(t):
        return float("inf")
    return float(t / base) if np.isfinite(base) else 0.0


def speedup(ttt: pd.DataFrame, cell: str, algorithm, baselines) -> float:
    """``min(time of the baselines) / time of algorithm`` in one cell: the inverse of :func:`time_ratio`.

    Parameters
    ----------
    ttt : DataFrame from :func:`time_to_target_table`
    cell : network cell name
    algorithm : (name, bits)
    baselines : list of (name, bits)

    Returns
    -------
    float
        > 1: ``algorithm`` is faster than every baseline; ``0`` when it never reaches the
        target, ``inf`` when only it does, ``nan`` when none does.
    """
    r = time_ratio(ttt, cell, algorithm, baselines)
    if np.isnan(r):
        return r
    if r == 0:
        return float("inf")
    return float(1.0 / r) if np.isfinite(r) else 0.0


def lookup(table: pd.DataFrame, algorithm: str, bits: int, column: str = "loss") -> float:
    """The value of ``column`` in the first row of configuration ``(algorithm, bits)``.

    Parameters
    ----------
    table : DataFrame with ``algorithm`` and ``bits`` columns
    algorithm : str
    bits : int
    column : str

    Returns
    -------
    float

    Raises
    ------
    ValueError
        No row of that configuration, naming the ones there are.
    """
    sel = table[(table.algorithm == algorithm) & (table.bits == bits)]
    if sel.empty:
        raise ValueError(f"no result for algorithm {algorithm!r} at {bits} bits; available: "
                         f"{sorted(set(zip(table.algorithm, table.bits)))}")
    return float(sel[column].iloc[0])



r"""Significance of an effect measured once per seed: a one-sided paired t-test.

The ``d2`` and ``dcd`` chains check claims that the papers call *significant* ("D²
significantly outperforms D-PSGD"; DCD/ECD-PSGD outperform the best of the other algorithms
"significantly"). Each run pairs the algorithms by seed (same data partition, initial model and
minibatch stream), so the effect is one number per seed, ``d`` (a loss reduction, an accuracy
gain, a log speed-up), and the question is whether its mean is above zero.

With the three seeds of the full profiles a rank test cannot say so: the smallest one-sided
p-value of a sign or Wilcoxon signed-rank test over three pairs is 1/8. The test used is
therefore Student's paired t-test, one-sided (the papers state a direction), which assumes the
per-seed effects are roughly normal; with ``n`` seeds it has ``n - 1`` degrees of freedom.

Example
-------
>>> from repro.sgd.significance import one_sided_paired_t
>>> r = one_sided_paired_t([0.07, 0.08, 0.09])
>>> round(r["t"], 2), round(r["p"], 4), r["n"]
(13.86, 0.0026, 3)
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["one_sided_paired_t", "paired_test"]


def one_sided_paired_t(d) -> dict:
    """One-sided paired t-test of ``mean(d) > 0`` over per-seed differences ``d``.

    Parameters
    ----------
    d : array-like of float
        The effect in each seed, signed so that the paper's claim is ``d > 0``.

    Returns
    -------
    dict
        ``t`` (the t statistic), ``p`` (the one-sided p-value ``P(T >= t)`` with ``n - 1``
        degrees of freedom), ``n``, ``mean`` and ``sd`` (sample standard deviation) of ``d``.
        When every seed gives the same value (zero spread), ``t`` is ``±inf`` and ``p`` is 0 for
        a positive effect and 1 otherwise: the effect is identical in every seed. ``p`` is NaN
        with fewer than two seeds or a non-finite difference (e.g. a run that never reached its
        target), where the test is not defined.

    Examples
    --------
    >>> one_sided_paired_t([0.5, 0.5, 0.5])["p"]
    0.0
    >>> one_sided_paired_t([-0.1, 0.0, 0.1])["p"]
    0.5
    """
    d = np.asarray(d, dtype=float).ravel()
    n = int(d.size)
    out = {"t": float("nan"), "p": float("nan"), "n": n, "mean": float("nan"), "sd": float("nan")}
    if n == 0 or not np.all(np.isfinite(d)):
        return out
    mean = float(d.mean())
    out["mean"] = mean
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    out["sd"] = sd
    if sd == 0.0 or sd <= 1e-12 * abs(mean):  # equal values (up to rounding in the mean)
        out["sd"] = 0.0
        out["t"] = math.copysign(float("inf"), mean) if mean != 0 else 0.0
        out["p"] = 0.0 if mean > 0 else 1.0
        return out
    t = mean / (sd / math.sqrt(n))
    out["t"] = float(t)
    out["p"] = float(stats.t.sf(t, df=n - 1))
    return out


EFFECTS = ("difference", "reduction")


def paired_test(table: pd.DataFrame, *, treatment: str, control: str, value: str, effect: str = "difference",
                key: str = "seed", column: str = "algorithm") -> dict:
    """One-sided paired t-test over ``key`` (the seeds) that ``treatment`` beats ``control`` in ``value``.

    Parameters
    ----------
    table : DataFrame
        One row per (``key``, ``column``) with the measured ``value`` (e.g. the final runs of one
        setting of a chain, one row per seed and algorithm).
    treatment, control : str
        The two values of ``column`` compared, paired by ``key``.
    value : str
        The measured column.
    effect : {"difference", "reduction"}
        ``"difference"``: ``treatment - control`` (higher is better, e.g. an accuracy);
        ``"reduction"``: ``1 - treatment / control`` (lower is better, e.g. a loss).
    key, column : str
        The pairing column and the column naming the compared groups.

    Returns
    -------
    dict
        :func:`one_sided_paired_t` of the per-``key`` effects, plus ``effects`` (one per key, in
        key order) and ``keys``.

    Raises
    ------
    ValueError
        Unknown ``effect``, a group missing, or a key held by only one of the groups, or twice.
    """
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {', '.join(EFFECTS)}, got {effect!r}")
    sel = table[table[column].isin([treatment, control])]
    if sel.duplicated([key, column]).any():
        raise ValueError(f"more than one row per ({key}, {column}): filter the table to one setting first")
    wide = sel.pivot(index=key, columns=column, values=value)
    for g in (treatment, control):
        if g not in wide:
            raise ValueError(f"no rows of {column} == {g!r}")
    if wide[[treatment, control]].isna().any().any():
        raise ValueError(f"some {key}s have a {value} for only one of {treatment!r} and {control!r}")
    t, c = wide[treatment].astype(float), wide[control].astype(float)
    d = (t - c) if effect == "difference" else (1.0 - t / c)
    out = one_sided_paired_t(d.to_numpy())
    out["effects"] = [float(v) for v in d]
    out["keys"] = [v.item() if hasattr(v, "item") else v for v in wide.index]
    return out

"""Evaluation of merger classifiers: error rates, ROC AUC, bootstrap intervals and paired tests.

A classifier gives each image a merger probability ``p``; it calls a merger where ``p > 0.5``.
With ``n_c`` images of class ``c`` and ``e_c`` of them misclassified,

    error = (e_0 + e_1) / (n_0 + n_1),        balanced error = (e_0 / n_0 + e_1 / n_1) / 2,

and the AUC is the Mann-Whitney probability that a merger scores above a non-merger (ties
count half). Intervals are percentile bootstraps that resample images within each class, or
whole images with all their repeats (a cluster bootstrap) when predictions of several
cross-validation repeats are pooled. Methods are compared in pairs over the same units:
(repeat, fold) pairs for :func:`paired_tests`, images for :func:`mcnemar_test` and
:func:`paired_bootstrap_diff`.

Example
-------
>>> from repro.astro.mergers import statistics as st
>>> y, p = [0, 0, 0, 1], [0.1, 0.7, 0.2, 0.9]
>>> st.error_rate(y, [q > 0.5 for q in p]), st.balanced_error(y, [q > 0.5 for q in p])
(0.25, 0.16666666666666666)
>>> st.roc_auc(y, p)
1.0
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["METRICS", "confusion", "error_rate", "balanced_error", "roc_auc", "bootstrap_ci", "summarize",
           "fold_metrics", "mcnemar_test", "paired_tests", "paired_bootstrap_diff"]


def confusion(y, pred) -> np.ndarray:
    """The 2x2 confusion matrix.

    Parameters
    ----------
    y, pred : array_like of int or bool
        True and predicted labels (1: merger).

    Returns
    -------
    numpy.ndarray, shape (2, 2), int
        Rows true (non-merger, merger), columns predicted.
    """
    y = np.asarray(y, int)
    pred = np.asarray(pred, int)
    m = np.zeros((2, 2), int)
    np.add.at(m, (y, pred), 1)
    return m


def error_rate(y, pred) -> float:
    """Share of wrong predictions.

    Parameters
    ----------
    y, pred : array_like
        True and predicted labels.

    Returns
    -------
    float
        NaN for no images.
    """
    y, pred = np.asarray(y), np.asarray(pred)
    return float(np.mean(y != pred)) if len(y) else float("nan")


def balanced_error(y, pred) -> float:
    """Mean of the two per-class error rates (1 - balanced accuracy).

    Parameters
    ----------
    y, pred : array_like of int or bool
        True and predicted labels.

    Returns
    -------
    float
        NaN if a class is absent from ``y``.
    """
    m = confusion(y, pred)
    n = m.sum(axis=1)
    if (n == 0).any():
        return float("nan")
    return float(0.5 * (m[0, 1] / n[0] + m[1, 0] / n[1]))


def roc_auc(y, score) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count half).

    Parameters
    ----------
    y : array_like of int
        True labels.
    score : array_like of float
        Merger scores.

    Returns
    -------
    float
        NaN if a class is absent.
    """
    from scipy.stats import rankdata
    y = np.asarray(y, int)
    s = np.asarray(score, float)
    n1, n0 = int(y.sum()), int((1 - y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


METRICS = {"error": lambda y, s: error_rate(y, s > 0.5),
           "balanced_error": lambda y, s: balanced_error(y, s > 0.5),
           "auc": roc_auc}
"""The metrics of a merger probability ``s`` against labels ``y``, by name."""


def bootstrap_ci(y, score, metric: str | Callable = "balanced_error", n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95, groups=None) -> tuple[float, float, float]:
    """A metric and its percentile bootstrap interval.

    Images are resampled with replacement within each class (the class counts stay fixed).
    With ``groups`` (e.g. the image index when the predictions of several repeats are pooled)
    whole groups are resampled, so that an image scored in every repeat is not counted as
    several independent test images.

    Parameters
    ----------
    y : array_like of int
        True labels.
    score : array_like of float
        Merger probabilities.
    metric : str or callable
        A name of :data:`METRICS` or a function ``f(y, score) -> float``.
    n_boot : int
        Resamples.
    seed : int
        Seed of the ``numpy.random.default_rng`` of the resamples.
    level : float
        Coverage of the interval.
    groups : array_like, optional
        Group of each row; every group must have the same number of rows, all of one label.

    Returns
    -------
    value, low, high : float

    Raises
    ------
    ValueError
        Groups of unequal size or of mixed labels.
    """
    f = METRICS[metric] if isinstance(metric, str) else metric
    y = np.asarray(y, int)
    s = np.asarray(score, float)
    value = f(y, s)
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.flatnonzero(y == c)[:, None] for c in (0, 1)]
    else:
        _, gid = np.unique(np.asarray(groups), return_inverse=True)
        order = np.argsort(gid, kind="stable")
        counts = np.bincount(gid)
        if np.any(counts != counts[0]):
            raise ValueError("cluster bootstrap needs the same number of rows in every group")
        rows = order.reshape(len(counts), counts[0])  # rows of each group
        gy = y[rows[:, 0]]
        if np.any(y[rows] != gy[:, None]):
            raise ValueError("every row of a group must have the same label")
        members = [rows[gy == c] for c in (0, 1)]
    vals = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([m[rng.integers(0, len(m), len(m))].ravel() for m in members if len(m)])
        vals[b] = f(y[idx], s[idx])
    a = (1 - level) / 2
    lo, hi = np.nanquantile(vals, [a, 1 - a])
    return float(value), float(lo), float(hi)


def summarize(preds: pd.DataFrame, by: Sequence[str] = ("method",), n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Pooled test metrics with bootstrap intervals per group.

    The predictions of every repeat are pooled (each image counts once per repeat); when an
    ``index`` column names the image, the bootstrap resamples images with all their repeats
    (:func:`bootstrap_ci` with ``groups``).

    Parameters
    ----------
    preds : pandas.DataFrame
        Columns ``by``, ``y``, ``p_merger`` and optionally ``index``.
    by : sequence of str
        Grouping columns.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of every group's bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``error``, ``balanced_error``, ``auc`` each with
        ``_lo`` / ``_hi`` bounds, the confusion counts ``tn, fp, fn, tp`` and ``n``.
    """
    rows = []
    for key, g in preds.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        groups = g["index"].to_numpy() if "index" in g else None
        for m in METRICS:
            v, lo, hi = bootstrap_ci(g["y"], g["p_merger"], m, n_boot, seed, groups=groups)
            row.update({m: v, f"{m}_lo": lo, f"{m}_hi": hi})
        c = confusion(g["y"], g["p_merger"] > 0.5)
        row.update({"tn": int(c[0, 0]), "fp": int(c[0, 1]), "fn": int(c[1, 0]), "tp": int(c[1, 1]), "n": len(g)})
        rows.append(row)
    return pd.DataFrame(rows)


def fold_metrics(preds: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Balanced error, error and AUC of every (group, repeat, fold): the units of paired tests.

    Parameters
    ----------
    preds : pandas.DataFrame
        Columns ``by``, ``repeat``, ``fold``, ``y``, ``p_merger``.
    by : sequence of str
        Grouping columns.

    Returns
    -------
    pandas.DataFrame
        One row per (group, repeat, fold) with the metrics of :data:`METRICS`.
    """
    rows = []
    keys = list(by) + ["repeat", "fold"]
    for key, g in preds.groupby(keys, sort=True):
        row = dict(zip(keys, key))
        row.update({m: f(g["y"].to_numpy(), g["p_merger"].to_numpy()) for m, f in METRICS.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def mcnemar_test(correct_a, correct_b) -> dict:
    """McNemar's test on paired per-image correctness of two classifiers.

    Exact (binomial) when fewer than 25 images are discordant, else chi-squared with continuity
    correction.

    Parameters
    ----------
    correct_a, correct_b : array_like of bool
        Whether each image was classified correctly by a and by b (same images, same order).

    Returns
    -------
    dict
        ``only_a_right``, ``only_b_right``, ``statistic``, ``p_value`` (two-sided), ``exact``.

    Raises
    ------
    ValueError
        The arrays differ in shape.
    """
    from statsmodels.stats.contingency_tables import mcnemar
    a = np.asarray(correct_a, bool)
    b = np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    exact = (table[0, 1] + table[1, 0]) < 25
    res = mcnemar(table, exact=exact, correction=True)
    return {"only_a_right": int(table[0, 1]), "only_b_right": int(table[1, 0]),
            "statistic": float(res.statistic), "p_value": float(res.pvalue), "exact": bool(exact)}


def paired_tests(a, b, test_train_ratio: float | None = None) -> dict:
    """Is ``a`` lower than ``b``? One-sided paired tests over matched units (folds x repeats).

    With ``d = a - b`` over ``n`` units, the paired t statistic is ``mean(d) / (sd(d) / sqrt(n))``;
    the Nadeau & Bengio (2003) corrected resampled t-test replaces ``1/n`` by
    ``1/n + n_test/n_train`` in the variance, which accounts for the overlap of training sets
    across folds and repeats.

    Parameters
    ----------
    a, b : array_like of float
        A metric of the two methods on the same units.
    test_train_ratio : float, optional
        ``n_test / n_train`` of the splits (the corrected t-test needs it).

    Returns
    -------
    dict
        ``n``, ``mean_diff`` (of ``a - b``), ``sd_diff``, ``n_a_lower``, ``n_ties`` and the
        one-sided p-values ``p_wilcoxon`` (signed rank, zero differences split), ``p_ttest`` and
        ``p_corrected_t`` (NaN without ``test_train_ratio``).
    """
    from scipy import stats
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    d = a - b
    n = len(d)
    out = {"n": n, "mean_diff": float(d.mean()), "sd_diff": float(d.std(ddof=1)) if n > 1 else float("nan"),
           "n_a_lower": int(np.sum(d < 0)), "n_ties": int(np.sum(d == 0))}
    if n < 2 or np.all(d == 0):
        out.update({"p_wilcoxon": 1.0 if n else float("nan"), "p_ttest": float("nan"), "p_corrected_t": float("nan")})
        return out
    out["p_wilcoxon"] = float(stats.wilcoxon(d, alternative="less", zero_method="zsplit").pvalue)
    sd = d.std(ddof=1)
    if sd == 0:
        out["p_ttest"] = out["p_corrected_t"] = 0.0 if d.mean() < 0 else 1.0
        return out
    t = d.mean() / (sd / np.sqrt(n))
    out["p_ttest"] = float(stats.t.cdf(t, df=n - 1))
    if test_train_ratio is not None:
        tc = d.mean() / np.sqrt((1.0 / n + test_train_ratio) * sd ** 2)
        out["p_corrected_t"] = float(stats.t.cdf(tc, df=n - 1))
    else:
        out["p_corrected_t"] = float("nan")
    return out


def paired_bootstrap_diff(y, score_a, score_b, metric: str = "balanced_error", n_boot: int = 1000, seed: int = 0,
                          level: float = 0.95) -> tuple[float, float, float, float]:
    """``metric(a) - metric(b)`` on the same images, with a paired bootstrap interval.

    Parameters
    ----------
    y : array_like of int
        True labels.
    score_a, score_b : array_like of float
        Merger probabilities of two methods (or one method under two conditions) on the same images.
    metric : str
        A name of :data:`METRICS`.
    n_boot : int
        Resamples (images drawn with replacement within each class, the same draw for a and b).
    seed : int
        Seed of the ``numpy.random.default_rng`` of the resamples.
    level : float
        Coverage of the interval.

    Returns
    -------
    diff, low, high, p : float
        ``p`` is the share of resamples with ``diff <= 0`` (one-sided evidence that a > b).
    """
    f = METRICS[metric]
    y = np.asarray(y, int)
    a = np.asarray(score_a, float)
    b = np.asarray(score_b, float)
    d0 = f(y, a) - f(y, b)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in (0, 1)]
    ds = np.empty(n_boot)
    for k in range(n_boot):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups if len(g)])
        ds[k] = f(y[idx], a[idx]) - f(y[idx], b[idx])
    q = (1 - level) / 2
    lo, hi = np.nanquantile(ds, [q, 1 - q])
    return float(d0), float(lo), float(hi), float(np.mean(ds <= 0))

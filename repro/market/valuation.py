"""Data valuation for dividends: exact KNN-Shapley, leave-one-out, and splitting a payment by value.

The utility of a training set ``S`` for one test point ``(x, y)`` is that of the unweighted
K-nearest-neighbour classifier as Jia et al. (2019, *Efficient task-specific data valuation
for nearest neighbor algorithms*, PVLDB 12(11)) define it: the share of the ``min(K, |S|)``
nearest points of ``S`` that carry the label ``y``, divided by ``K``
(``U(S) = (1/K) * sum_{k <= min(K,|S|)} 1[y_{alpha_k(S)} = y]``, ``U(empty) = 0``). For a test set
the utility is the mean over its points. For this utility the Shapley value of every
training point has a closed form: with the points sorted by distance to ``x``
(``alpha_1`` nearest, ties broken by index),

    s(alpha_N) = 1[y_{alpha_N} = y] / N          (N >= K; in general * min(K, N) / K)
    s(alpha_i) = s(alpha_{i+1}) + (1[y_{alpha_i} = y] - 1[y_{alpha_{i+1}} = y]) / K * min(K, i) / i

so the exact values of all ``N`` points cost one sort per test point (our derivation of the
recursion is checked against brute-force enumeration of all subsets in the tests).

Leave-one-out (LOO) is ``U(D) - U(D minus the point or group)``, also exact.

:func:`split_payment` divides an integer number of tokens in proportion to non-negative
weights by the largest-remainder method, so the parts add up to the total exactly.

Example
-------
>>> import numpy as np
>>> X, y = np.array([[0.0], [0.1], [1.0], [1.1]]), np.array([0, 0, 1, 0])
>>> knn_shapley(X, y, np.array([[0.05], [1.05]]), np.array([0, 1]), K=1).round(3).tolist()
[0.208, 0.208, 0.208, -0.125]
>>> split_payment(100, [0.25, 0.25, 0.5, -0.1]).tolist()
[25, 25, 50, 0]
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, Sequence

import numpy as np

__all__ = ["sq_distances", "knn_order", "knn_shapley", "knn_shapley_from_order", "knn_utility",
           "loo_points", "group_loo", "group_sums", "brute_force_shapley", "split_payment", "spearman"]


def _check_xy(X, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim == 1:
        X = X[:, None]
    X = X.reshape(len(X), -1)
    if y.shape != (X.shape[0],):
        raise ValueError(f"{what}: {X.shape[0]} points but labels of shape {y.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{what}: no points")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what}: features must be finite")
    return X, y


def sq_distances(A, B) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``A`` and ``B`` (clipped at 0).

    Parameters
    ----------
    A : array_like, shape (n, ...)
    B : array_like, shape (m, ...)

    Returns
    -------
    ndarray, shape (n, m)
    """
    A = np.asarray(A, dtype=np.float64).reshape(len(A), -1)
    B = np.asarray(B, dtype=np.float64).reshape(len(B), -1)
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d, 0.0)


def knn_order(X_train, X_test, chunk: int = 256) -> np.ndarray:
    """Training indices sorted by distance to every test point: ``(n_test, N)`` int32.

    Ties are broken by the smaller training index (a stable sort), so the order, and every
    value computed from it, is deterministic.

    Parameters
    ----------
    X_train : array_like, shape (N, ...)
    X_test : array_like, shape (n_test, ...)
    chunk : int
        Test points per block of distances (memory).

    Returns
    -------
    ndarray, shape (n_test, N), int32

    Raises
    ------
    ValueError
        Different numbers of features.
    """
    X_train = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
    X_test = np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1)
    if X_train.shape[1] != X_test.shape[1]:
        raise ValueError(f"training points have {X_train.shape[1]} features, test points {X_test.shape[1]}")
    out = np.empty((len(X_test), len(X_train)), dtype=np.int32)
    for s in range(0, len(X_test), chunk):
        d = sq_distances(X_test[s:s + chunk], X_train)
        out[s:s + chunk] = np.argsort(d, axis=1, kind="stable")
    return out


def _check_k(K: int) -> int:
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"K must be a positive integer, got {K!r}")
    return int(K)


def knn_shapley_from_order(order, y_train, y_test, K: int) -> np.ndarray:
    """Exact KNN-Shapley values from a precomputed :func:`knn_order` (mean over test points).

    Parameters
    ----------
    order : ndarray, shape (n_test, N)
        :func:`knn_order`.
    y_train : ndarray, shape (N,)
    y_test : ndarray, shape (n_test,)
    K : int
        Neighbours of the classifier.

    Returns
    -------
    ndarray, shape (N,)
        The values (the recursion of the module docstring).

    Raises
    ------
    ValueError
        Shapes that do not match, or ``K`` not a positive integer.
    """
    K = _check_k(K)
    order = np.asarray(order)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    n_test, N = order.shape
    if y_train.shape != (N,) or y_test.shape != (n_test,):
        raise ValueError(f"order {order.shape} does not match {y_train.shape} training and {y_test.shape} test labels")
    i = np.arange(1, N, dtype=np.float64)  # ranks 1..N-1
    coef = np.minimum(K, i) / (K * i)
    values = np.zeros(N)
    for s in range(0, n_test, 512):
        o = order[s:s + 512]
        m = (y_train[o] == y_test[s:s + 512, None]).astype(np.float64)  # match, by rank
        sv = np.empty_like(m)
        sv[:, -1] = m[:, -1] * min(K, N) / (K * N)  # = m/N when N >= K
        if N > 1:
            d = (m[:, :-1] - m[:, 1:]) * coef  # s_i - s_{i+1} for i = 1..N-1
            sv[:, :-1] = sv[:, -1:] + np.cumsum(d[:, ::-1], axis=1)[:, ::-1]
        np.add.at(values, o.ravel(), sv.ravel())
    return values / n_test


def knn_shapley(X_train, y_train, X_test, y_test, K: int) -> np.ndarray:
    """Exact Shapley value of every training point for the K-nearest-neighbour utility.

    Parameters
    ----------
    X_train, y_train : array_like, shape (N, ...) and (N,)
        Features and labels of the training points.
    X_test, y_test : array_like, shape (n_test, ...) and (n_test,)
        The points the utility is measured on (the buyer's validation set).
    K : int
        Neighbours of the classifier.

    Returns
    -------
    ndarray, shape (N,)
        The values; they add up to ``U(all points)`` (efficiency).

    Raises
    ------
    ValueError
        Empty sets, labels that do not match, non-finite features, or a bad ``K``.
    """
    X_train, y_train = _check_xy(X_train, y_train, "training set")
    X_test, y_test = _check_xy(X_test, y_test, "test set")
    return knn_shapley_from_order(knn_order(X_train, X_test), y_train, y_test, K)


def knn_utility(order, y_train, y_test, K: int, keep=None) -> float:
    """The utility ``U(S)``, mean over test points.

    Parameters
    ----------
    order : ndarray, shape (n_test, N)
        :func:`knn_order`.
    y_train : ndarray, shape (N,)
    y_test : ndarray, shape (n_test,)
    K : int
    keep : array_like of bool, shape (N,), optional
        The training points in ``S`` (all when None).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``keep`` of the wrong shape, or a bad ``K``.
    """
    K = _check_k(K)
    order = np.asarray(order)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    match = y_train[order] == y_test[:, None]
    if keep is None:
        return float(match[:, :K].sum(1).mean() / K)
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != y_train.shape:
        raise ValueError(f"keep has shape {keep.shape}, expected {y_train.shape}")
    kept = keep[order]
    chosen = kept & (np.cumsum(kept, axis=1) <= K)
    return float((chosen & match).sum(1).mean() / K)


def loo_points(order, y_train, y_test, K: int) -> np.ndarray:
    """Exact leave-one-out value of every training point, ``U(D) - U(D minus i)``.

    Removing point ``i`` changes the utility for a test point only when ``i`` is among its
    ``K`` nearest; then the (K+1)-th nearest moves in.

    Parameters
    ----------
    order : ndarray, shape (n_test, N)
        :func:`knn_order`.
    y_train : ndarray, shape (N,)
    y_test : ndarray, shape (n_test,)
    K : int

    Returns
    -------
    ndarray, shape (N,)
    """
    K = _check_k(K)
    order = np.asarray(order)
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    n_test, N = order.shape
    match = (y_train[order] == y_test[:, None]).astype(np.float64)
    kk = min(K, N)
    nxt = match[:, K] if N > K else np.zeros(n_test)
    delta = (match[:, :kk] - nxt[:, None]) / K  # (n_test, kk)
    values = np.zeros(N)
    np.add.at(values, order[:, :kk].ravel(), delta.ravel())
    return values / n_test


def group_loo(order, y_train, y_test, K: int, groups, n_groups: int | None = None) -> np.ndarray:
    """Leave-one-group-out value of every group: ``U(D) - U(D minus group g)``.

    Parameters
    ----------
    order : ndarray, shape (n_test, N)
        :func:`knn_order`.
    y_train : ndarray, shape (N,)
    y_test : ndarray, shape (n_test,)
    K : int
    groups : array_like of int, shape (N,)
        Each training point's group in ``0..n_groups-1``.
    n_groups : int, optional
        Default: the largest group + 1.

    Returns
    -------
    ndarray, shape (n_groups,)
    """
    groups = np.asarray(groups)
    n_groups = int(groups.max()) + 1 if n_groups is None else int(n_groups)
    full = knn_utility(order, y_train, y_test, K)
    return np.array([full - knn_utility(order, y_train, y_test, K, keep=groups != g) for g in range(n_groups)])


def group_sums(values, groups, n_groups: int | None = None) -> np.ndarray:
    """Sum of point values per group (a contributor's or a shard's value).

    Parameters
    ----------
    values : array_like, shape (N,)
    groups : array_like of int, shape (N,)
    n_groups : int, optional
        Default: the largest group + 1.

    Returns
    -------
    ndarray, shape (n_groups,)
    """
    groups = np.asarray(groups)
    n_groups = int(groups.max()) + 1 if n_groups is None else int(n_groups)
    return np.bincount(groups, weights=np.asarray(values, dtype=np.float64), minlength=n_groups)


def brute_force_shapley(utility: Callable[[tuple[int, ...]], float], n: int) -> np.ndarray:
    """Exact Shapley values by enumerating every subset (for tests; ``n`` up to about 12)::

        phi_i = sum_{S not containing i} |S|! (n - |S| - 1)! / n! * (U(S + i) - U(S))

    Parameters
    ----------
    utility : callable
        ``utility(S)`` for a sorted tuple of player indices.
    n : int
        Players.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        ``n`` above 14.
    """
    if n > 14:
        raise ValueError(f"brute force over 2^{n} subsets is too slow; use n <= 14")
    cache: dict[tuple[int, ...], float] = {}

    def u(s):
        if s not in cache:
            cache[s] = float(utility(s))
        return cache[s]

    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for r in range(n):
            w = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for s in itertools.combinations(others, r):
                phi[i] += w * (u(tuple(sorted(s + (i,)))) - u(s))
    return phi


def split_payment(total: int, weights: Sequence[float]) -> np.ndarray:
    """Split ``total`` tokens (an integer) in proportion to ``weights`` (largest remainder).

    Negative weights count as zero (a harmful shard earns nothing; it is not charged). When
    no weight is positive the total is split equally. Ties among remainders go to the lower
    index. The parts are non-negative integers that add up to ``total`` exactly.

    Parameters
    ----------
    total : int
        Non-negative.
    weights : sequence of float
        Finite, at least one.

    Returns
    -------
    ndarray of int64
        The parts.

    Raises
    ------
    ValueError
        A bad total or weights.
    """
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 0:
        raise ValueError(f"total must be a non-negative integer, got {total!r}")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError("weights must be a non-empty 1-d sequence")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    w = np.maximum(w, 0.0)
    if w.sum() <= 0:
        w = np.ones_like(w)
    exact = int(total) * w / w.sum()
    parts = np.floor(exact).astype(np.int64)
    left = int(total) - int(parts.sum())
    if left:
        rank = np.lexsort((np.arange(len(w)), -(exact - parts)))  # largest remainder first
        parts[rank[:left]] += 1
    return parts


def spearman(a, b) -> float:
    """Spearman's rank correlation (average ranks for ties).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        ``n >= 2``.

    Returns
    -------
    float
        NaN when either side is constant.

    Raises
    ------
    ValueError
        Shapes that differ or are too short.
    """
    from scipy.stats import spearmanr

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"spearman needs two 1-d arrays of the same length >= 2, got {a.shape} and {b.shape}")
    if np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)

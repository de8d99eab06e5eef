r"""Splitting a data set over workers, and measuring how different the workers' data are.

A *partition* is a list of ``n_workers`` integer index arrays (sorted, disjoint) into the
data set. Three schemes:

* :func:`partition_iid` — shuffle and deal out equal shares (every worker sees the same
  distribution: small data variance ζ²);
* :func:`partition_label_skew` — every worker holds only ``k`` of the classes, the setting
  of the D² paper (Tang et al. 2018, arXiv:1803.07068, Sect. 6: "each worker only has
  access to a subset of the labels");
* :func:`partition_dirichlet` — for every class, the shares of the workers are drawn from
  Dirichlet(α·1) (Hsu, Qi & Brown 2019, arXiv:1909.06335): α → ∞ is iid, α → 0 gives each
  class to a single worker, so α sweeps ζ².

:func:`data_variance` measures ζ² at a given model ``x`` as the spread of the workers'
full local gradients around the global one,
:math:`\zeta^2(x) = \frac1n\sum_i \lVert\nabla f_i(x) - \nabla f(x)\rVert^2` with
:math:`f = \frac1n\sum_i f_i` — the quantity the D-PSGD bound grows with and D²'s does not
(the papers bound it uniformly over ``x``; we report it at given points).
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .topology import as_rng

__all__ = ["PARTITIONS", "partition_iid", "partition_label_skew", "partition_dirichlet", "partition",
           "class_counts", "data_variance"]

PARTITIONS = ("iid", "label_skew", "dirichlet")


def _check_workers(n_workers, n_samples):
    if not isinstance(n_workers, Integral) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    if n_workers > n_samples:
        raise ValueError(f"n_workers={n_workers} exceeds the number of samples ({n_samples})")
    return int(n_workers)


def _labels(labels):
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got dtype {y.dtype} and shape {y.shape}")
    if y.size and y.min() < 0:
        raise ValueError("labels must be non-negative integers")
    return y


def partition_iid(n_samples: int, n_workers: int, rng) -> list[np.ndarray]:
    """Shuffle ``range(n_samples)`` and split it into ``n_workers`` near-equal shares."""
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    n_workers = _check_workers(n_workers, n_samples)
    perm = as_rng(rng).permutation(int(n_samples))
    return [np.sort(p) for p in np.array_split(perm, n_workers)]


def partition_label_skew(labels, n_workers: int, classes_per_worker: int, rng) -> list[np.ndarray]:
    """Every worker holds samples of exactly ``classes_per_worker`` classes.

    Worker ``i`` gets classes ``(i*k + j) mod C`` for ``j < k`` (round robin over the ``C``
    classes present, in a random order drawn from ``rng``), so every class is held by
    ``floor(nk/C)`` or ``ceil(nk/C)`` workers; a class's samples are shuffled and split
    equally among its holders. Worker sizes are equal when ``n*k`` is a multiple of ``C``
    and the classes are balanced, otherwise they differ (the algorithms' objective
    :math:`f = \\frac1n\\sum_i f_i` weighs every worker equally whatever its size).

    Raises
    ------
    ValueError
        If ``k`` is not in ``[1, C]`` or ``n*k < C`` (some class would be held by nobody).
    """
    y = _labels(labels)
    n_workers = _check_workers(n_workers, len(y))
    classes = np.unique(y)
    c = len(classes)
    k = classes_per_worker
    if not isinstance(k, Integral) or isinstance(k, bool) or not 1 <= k <= c:
        raise ValueError(f"classes_per_worker must be an integer in [1, {c}] (the number of classes), got {k!r}")
    if n_workers * k < c:
        raise ValueError(f"n_workers * classes_per_worker = {n_workers * k} < {c} classes: some class would be "
                         f"held by no worker; increase classes_per_worker to at least {-(-c // n_workers)}")
    rng = as_rng(rng)
    order = rng.permutation(classes)
    holders: dict[int, list[int]] = {int(cl): [] for cl in classes}
    for i in range(n_workers):
        for j in range(k):
            holders[int(order[(i * k + j) % c])].append(i)
    parts: list[list[np.ndarray]] = [[] for _ in range(n_workers)]
    for cl in classes:
        idx = rng.permutation(np.flatnonzero(y == cl))
        for w, chunk in zip(holders[int(cl)], np.array_split(idx, len(holders[int(cl)]))):
            parts[w].append(chunk)
    out = [np.sort(np.concatenate(p)) for p in parts]
    if min(len(p) for p in out) == 0:
        raise ValueError("a worker received no samples (a class has fewer samples than holders)")
    return out


def partition_dirichlet(labels, n_workers: int, alpha: float, rng, min_size: int = 1,
                        max_tries: int = 100) -> list[np.ndarray]:
    """Per class, split the samples over workers with shares drawn from Dirichlet(α·1).

    Draws where a worker gets fewer than ``min_size`` samples are redrawn (up to
    ``max_tries`` times, then ValueError).
    """
    y = _labels(labels)
    n_workers = _check_workers(n_workers, len(y))
    if not isinstance(alpha, Real) or not alpha > 0 or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    rng = as_rng(rng)
    classes = np.unique(y)
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_workers)]
        for cl in classes:
            idx = rng.permutation(np.flatnonzero(y == cl))
            share = rng.dirichlet(np.full(n_workers, float(alpha)))
            cuts = np.round(np.cumsum(share)[:-1] * len(idx)).astype(int)
            for w, chunk in enumerate(np.split(idx, cuts)):
                parts[w].append(chunk)
        out = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(p) for p in out) >= min_size:
            return out
    raise ValueError(f"Dirichlet(alpha={alpha}) partition left a worker with fewer than min_size={min_size} "
                     f"samples in {max_tries} draws; increase alpha or lower min_size")


def partition(name: str, labels, n_workers: int, rng, **kwargs) -> list[np.ndarray]:
    """Dispatch on ``name`` in :data:`PARTITIONS`: ``"iid"``, ``"label_skew"``
    (``classes_per_worker=``) or ``"dirichlet"`` (``alpha=``)."""
    y = _labels(labels)
    if name == "iid":
        return partition_iid(len(y), n_workers, rng)
    if name == "label_skew":
        return partition_label_skew(y, n_workers, kwargs.pop("classes_per_worker"), rng, **kwargs)
    if name == "dirichlet":
        return partition_dirichlet(y, n_workers, kwargs.pop("alpha"), rng, **kwargs)
    raise ValueError(f"unknown partition {name!r}; choose one of {', '.join(PARTITIONS)}")


def class_counts(labels, shards, n_classes: int | None = None) -> np.ndarray:
    """Matrix ``(n_workers, n_classes)``: how many samples of each class every worker holds."""
    y = _labels(labels)
    c = int(n_classes if n_classes is not None else y.max() + 1)
    return np.stack([np.bincount(y[s], minlength=c) for s in shards])


def data_variance(model, x, features, labels, shards) -> float:
    r"""ζ²(x): mean squared distance of the workers' full local gradients from their mean.

    Parameters
    ----------
    model : a :mod:`repro.sgd.models` model
    x : (d,) array
        The point at which to measure (e.g. the initial model or the optimum).
    features, labels : arrays of the whole data set
    shards : list of index arrays (a partition)

    Returns
    -------
    float
        :math:`\frac1n\sum_i\lVert\nabla f_i(x) - \frac1n\sum_j\nabla f_j(x)\rVert^2`.
    """
    x = np.asarray(x, dtype=float).reshape(1, -1)
    f, y = np.asarray(features), np.asarray(labels)
    grads = np.stack([model.loss_grad(x, f[s], y[s])[1][0] for s in shards])
    dev = grads - grads.mean(axis=0)
    return float(np.mean(np.einsum("ij,ij->i", dev, dev)))

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
  class to a single worker, so α sweeps ζ²;
* :func:`partition_sorted` — the D² paper's *unshuffled* data: sorted by label and cut into
  contiguous blocks.

Skew levels written as strings (``"iid"``, ``"sorted"``, ``"labels:2"``, ``"dirichlet:0.1"``)
name one of these with its argument: :func:`parse_skew`, :func:`skew_label`,
:func:`check_skews`, :func:`feasible`, :func:`make_partition`.

:func:`data_variance` measures ζ² at a given model ``x`` as the spread of the workers'
full local gradients around the global one,
:math:`\zeta^2(x) = \frac1n\sum_i \lVert\nabla f_i(x) - \nabla f(x)\rVert^2` with
:math:`f = \frac1n\sum_i f_i` — the quantity the D-PSGD bound grows with and D²'s does not
(the papers bound it uniformly over ``x``; we report it at given points).
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from .topology import as_rng

__all__ = ["PARTITIONS", "partition_iid", "partition_label_skew", "partition_dirichlet", "partition",
           "class_counts", "data_variance", "partition_sorted", "parse_skew", "skew_label", "check_skews",
           "feasible", "make_partition"]

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


# -------------------------------------------------------------------------------- skew levels
def partition_sorted(labels, n_workers: int, rng) -> list[np.ndarray]:
    """The D² paper's *unshuffled* data: samples sorted by label, dealt out in contiguous blocks.

    The classes are put in a random order (from ``rng``), the samples of each class are
    shuffled, and the resulting label-sorted sequence is cut into ``n_workers`` near-equal
    contiguous blocks. Every class sits on as few workers as its size allows; with ``C``
    classes a worker holds about ``C / n_workers`` of them (at least one, and two where a
    block straddles a class boundary).

    Parameters
    ----------
    labels : (N,) integer array
    n_workers : int in [1, N]
    rng : int or numpy.random.Generator

    Returns
    -------
    list of sorted index arrays, one per worker

    Raises
    ------
    ValueError
        ``labels`` is not a 1-D integer array or ``n_workers`` is out of range.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got dtype {y.dtype} and shape {y.shape}")
    if not isinstance(n_workers, Integral) or isinstance(n_workers, bool) or not 1 <= n_workers <= len(y):
        raise ValueError(f"n_workers must be an integer in [1, {len(y)}], got {n_workers!r}")
    rng = as_rng(rng)
    order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in rng.permutation(np.unique(y))])
    return [np.sort(b) for b in np.array_split(order, int(n_workers))]


def parse_skew(spec: str) -> tuple[str, dict]:
    """Read a skew level.

    Parameters
    ----------
    spec : str
        ``"iid"``, ``"sorted"`` (:func:`partition_sorted`), ``"labels:K"`` (every worker
        holds K classes) or ``"dirichlet:A"`` (per-class shares from Dirichlet(A)).

    Returns
    -------
    (kind, kwargs)
        The :func:`partition` name (or ``"sorted"``) and its keyword arguments.

    Raises
    ------
    ValueError
        For anything else, naming the allowed forms.
    """
    forms = "'iid', 'sorted', 'labels:K' (K a positive integer) or 'dirichlet:A' (A a positive number)"
    if not isinstance(spec, str):
        raise ValueError(f"a skew level is a string, {forms}; got {spec!r}")
    s = spec.strip()
    if s in ("iid", "sorted"):
        return s, {}
    kind, sep, arg = s.partition(":")
    if sep and kind == "labels":
        try:
            k = int(arg)
        except ValueError:
            k = 0
        if k >= 1 and str(k) == arg.strip():
            return "label_skew", {"classes_per_worker": k}
    if sep and kind == "dirichlet":
        try:
            a = float(arg)
        except ValueError:
            a = -1.0
        if a > 0 and math.isfinite(a):
            return "dirichlet", {"alpha": a}
    raise ValueError(f"unknown skew level {spec!r}; use {forms}")


def skew_label(spec: str) -> str:
    """A short human label of a skew level (see :func:`parse_skew`).

    Parameters
    ----------
    spec : str

    Returns
    -------
    str
        ``iid``, ``sorted (unshuffled)``, ``2 labels/worker`` or ``Dirichlet α=0.1``.
    """
    kind, kw = parse_skew(spec)
    if kind == "iid":
        return "iid"
    if kind == "sorted":
        return "sorted (unshuffled)"
    if kind == "label_skew":
        k = kw["classes_per_worker"]
        return f"{k} label{'s' if k > 1 else ''}/worker"
    return f"Dirichlet α={kw['alpha']:g}"


def check_skews(skews, claim_skew: str | None = None, need_iid: bool = False) -> list[str]:
    """Check a list of skew levels.

    Parameters
    ----------
    skews : iterable of str
        Each a skew level (:func:`parse_skew`), none repeated.
    claim_skew : str, optional
        Must be one of them.
    need_iid : bool
        ``"iid"`` must be one of them.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        Naming what is wrong.
    """
    skews = list(skews)
    if not skews:
        raise ValueError("give at least one skew level")
    for s in skews:
        parse_skew(s)
    if len(set(skews)) != len(skews):
        raise ValueError(f"skew levels are repeated: {skews}")
    if claim_skew is not None and claim_skew not in skews:
        raise ValueError(f"claim_skew {claim_skew!r} is not one of the skew levels {skews}")
    if need_iid and "iid" not in skews:
        raise ValueError(f"the skew levels {skews} must include 'iid' (the iid claims compare on it)")
    return skews


def feasible(spec: str, n_workers: int, n_classes: int) -> tuple[bool, str]:
    """Whether skew level ``spec`` can split ``n_classes`` classes over ``n_workers`` workers.

    ``labels:K`` needs ``K <= n_classes`` and ``n_workers * K >= n_classes`` (every class
    held by some worker); the other levels always can.

    Parameters
    ----------
    spec : str
    n_workers, n_classes : int

    Returns
    -------
    (ok, reason) : (bool, str)
    """
    kind, kw = parse_skew(spec)
    if kind == "label_skew":
        k = kw["classes_per_worker"]
        if k > n_classes:
            return False, f"{k} labels per worker but only {n_classes} classes"
        if n_workers * k < n_classes:
            return False, f"{n_workers} workers x {k} labels < {n_classes} classes: some class would be held by nobody"
    return True, ""


def make_partition(labels, n_workers: int, spec: str, rng, min_size: int = 1) -> list[np.ndarray]:
    """The shards of one skew level (see :func:`parse_skew`).

    Parameters
    ----------
    labels : (N,) integer array
    n_workers : int
    spec : str
    rng : int or numpy.random.Generator
    min_size : int
        Dirichlet draws leaving a worker with fewer samples are redrawn.

    Returns
    -------
    list of index arrays, one per worker
    """
    kind, kw = parse_skew(spec)
    if kind == "sorted":
        return partition_sorted(labels, n_workers, rng)
    if kind == "dirichlet":
        kw = dict(kw, min_size=min_size)
    return partition(kind, labels, n_workers, rng, **kw)

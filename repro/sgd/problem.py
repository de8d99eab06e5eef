r"""The training problem of the simulator: a labelled image set split into training and held-out parts.

One :class:`Problem` type serves the three chains (``d2``, ``dcd``, ``adpsgd``) and the MPI
backend: flattened images standardized with the training statistics, as float64 (the models'
parameters are float64; mixing precisions would slow every product), their labels, and where
they came from. Two ways to build one from real images:

* :func:`split_problem` (and :func:`mnist_problem`) — a class-stratified subsample of
  ``n_samples`` images, then a stratified held-out split (``d2``, ``adpsgd``, MPI);
* :func:`image_problem` — a uniformly random subset, optional average pooling
  (:func:`pool_images`), then a stratified held-out split, all drawn from one generator that
  the caller goes on using (``dcd``: the same generator then deals out the shards).

The module imports no pandas, so an MPI rank stays light.

Example
-------
>>> import numpy as np
>>> from repro.sgd.problem import split_problem
>>> images = np.random.default_rng(0).random((100, 2, 2))
>>> p = split_problem(images, np.repeat(np.arange(4), 25), None, 0.2, seed=0)
>>> (p.n_train, p.n_test, p.n_features, p.n_classes)
(80, 20, 4, 4)
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from .. import datasets
from .topology import as_rng

__all__ = ["DATASETS", "Problem", "split_problem", "mnist_problem", "pool_images", "image_problem"]

DATASETS = ("mnist", "cifar10")


@dataclass
class Problem:
    """A classification problem split into training and held-out parts.

    Attributes
    ----------
    train_features, test_features : (N, p) float64 arrays
        Flattened images, standardized with the training mean and standard deviation.
    train_labels, test_labels : (N,) integer arrays
    n_classes : int
    train_index, test_index : int arrays or None
        Positions of the two parts in the original data set (None where not kept).
    dataset : str
        Name of the data set (``"mnist"``, ``"cifar10"``; empty for synthetic data).
    class_names : tuple of str
    image_shape : tuple of int
        Shape of one (pooled) image, to display rows of the features; empty if unknown.
    """

    train_features: np.ndarray
    train_labels: np.ndarray
    test_features: np.ndarray
    test_labels: np.ndarray
    n_classes: int
    train_index: np.ndarray | None = None
    test_index: np.ndarray | None = None
    dataset: str = ""
    class_names: tuple = ()
    image_shape: tuple = ()

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(len(self.train_labels))

    @property
    def n_test(self) -> int:
        """Number of held-out samples."""
        return int(len(self.test_labels))

    @property
    def n_features(self) -> int:
        """Number of features (pixels) per sample."""
        return int(self.train_features.shape[1])


def split_problem(images, labels, n_samples: int | None, test_fraction: float, seed) -> Problem:
    """Class-stratified subsample of ``n_samples`` images, then a stratified held-out split.

    Parameters
    ----------
    images : (N, ...) array
    labels : (N,) integer array
    n_samples : int or None
        How many of the ``N`` images to use (all when None or ``>= N``).
    test_fraction : float in (0, 1)
        Share of the used images held out for test accuracy.
    seed : int or numpy.random.Generator
        Draws the subsample, then the split.

    Returns
    -------
    Problem
        With ``train_index`` and ``test_index`` into ``images``.

    Raises
    ------
    ValueError
        ``n_samples`` is not an integer >= 2 (or None), or ``test_fraction`` is outside (0, 1).
    """
    labels = np.asarray(labels)
    n_total = len(labels)
    if n_samples is not None and (not isinstance(n_samples, Integral) or isinstance(n_samples, bool)
                                  or n_samples < 2):
        raise ValueError(f"n_samples must be an integer >= 2 or None, got {n_samples!r}")
    rng = as_rng(seed)
    if n_samples is None or n_samples >= n_total:
        used = np.arange(n_total)
    else:
        _, used = datasets.holdout_split(labels, n_samples / n_total, rng)
    tr, te = datasets.holdout_split(labels[used], test_fraction, rng)
    train_index, test_index = used[tr], used[te]
    ftr, fte = datasets.standardize(images[train_index], images[test_index])
    return Problem(ftr.astype(np.float64), labels[train_index].astype(np.int64), fte.astype(np.float64),
                   labels[test_index].astype(np.int64), int(labels.max()) + 1, train_index, test_index,
                   image_shape=tuple(int(k) for k in np.shape(images)[1:]))


def mnist_problem(n_samples: int | None = None, test_fraction: float = 0.2, seed=0) -> Problem:
    """The MNIST test set (10,000 images, the only MNIST images in the data snapshot) as a
    training set and a held-out set.

    Parameters
    ----------
    n_samples, test_fraction, seed
        See :func:`split_problem`.

    Returns
    -------
    Problem

    Raises
    ------
    repro.errors.DataError
        The MNIST files are missing or corrupted.
    """
    images, labels = datasets.load_mnist()
    p = split_problem(images, labels, n_samples, test_fraction, seed)
    p.dataset, p.class_names = "mnist", tuple(str(k) for k in range(10))
    return p


def pool_images(images, factor: int) -> np.ndarray:
    """Average-pool ``(N, H, W[, C])`` images by ``factor`` in both spatial directions.

    Parameters
    ----------
    images : (N, H, W[, C]) array
    factor : int >= 1
        ``1`` returns the images unchanged (as float32); ``H`` and ``W`` must be multiples of it.

    Returns
    -------
    (N, H // factor, W // factor[, C]) float32 array

    Raises
    ------
    ValueError
        ``factor`` is not a positive integer or does not divide the image size.
    """
    images = np.asarray(images, dtype=np.float32)
    if not isinstance(factor, Integral) or factor < 1:
        raise ValueError(f"pool factor must be a positive integer, got {factor!r}")
    if factor == 1:
        return images
    n, h, w = images.shape[:3]
    if h % factor or w % factor:
        raise ValueError(f"images of {h}x{w} pixels cannot be pooled by {factor}")
    rest = images.shape[3:]
    return images.reshape((n, h // factor, factor, w // factor, factor) + rest).mean(axis=(2, 4))


def image_problem(dataset: str, rng: np.random.Generator, *, n_samples: int | None = None, pool: int = 1,
                  test_fraction: float = 0.2, min_samples: int = 2) -> Problem:
    """A real image set: random subset, average pooling, stratified held-out split.

    Parameters
    ----------
    dataset : {"mnist", "cifar10"}
        The MNIST test set (10,000 digits) or the CIFAR-10 test set (10,000 JPEGs).
    rng : numpy.random.Generator
        Draws the subset (a uniform permutation) and then the split; the caller may go on
        drawing from it (e.g. the partition), which keeps a whole set-up on one stream.
    n_samples : int, optional
        Use a random subset of this many images (all when None).
    pool : int
        Average-pool the images by this factor first (:func:`pool_images`).
    test_fraction : float in (0, 1)
    min_samples : int
        Smallest allowed ``n_samples`` (e.g. two per worker).

    Returns
    -------
    Problem
        Without ``train_index`` / ``test_index``.

    Raises
    ------
    ValueError
        Unknown data set or ``n_samples`` outside ``[min_samples, N]``.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if dataset == "mnist":
        images, y = datasets.load_mnist()
        names = tuple(str(k) for k in range(10))
    else:
        images, y = datasets.load_cifar10()
        names = datasets.CIFAR10_CLASSES
    if n_samples is not None:
        if not isinstance(n_samples, Integral) or not min_samples <= n_samples <= len(y):
            raise ValueError(f"n_samples must be an integer in [{min_samples}, {len(y)}], got {n_samples!r}")
        keep = np.sort(rng.permutation(len(y))[:int(n_samples)])
        images, y = images[keep], y[keep]
    images = pool_images(images, pool)
    tr, te = datasets.holdout_split(y, test_fraction, rng)
    f_tr, f_te = datasets.standardize(images[tr], images[te])
    return Problem(f_tr.astype(np.float64), y[tr], f_te.astype(np.float64), y[te], len(names), dataset=dataset,
                   class_names=names, image_shape=tuple(int(k) for k in images.shape[1:]))

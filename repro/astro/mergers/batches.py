"""The training input of the ``mergers`` CNNs: balanced batches, augmentation, the ``tf.data`` pipeline.

Mergers are rare (115 of 2,000 images), so every batch holds equally many mergers and
non-mergers (:func:`balanced_batches`), and every image of a batch gets its own random affine
map (:func:`augment_batch`): a mirror ``m`` in {-1, 1}, a rotation ``theta`` in [0, 2 pi), a
zoom ``s`` in [1 - zoom, 1 + zoom] and a shift ``t``, so that the output pixel ``p`` reads the
input at ``s R(theta) diag(m, 1) (p - c) + c + t`` (``c`` the centre, bilinear, reflected
borders). :func:`make_dataset` gathers and augments the batches on tf.data's threads ahead of
the model; the numbers do not depend on the thread timing.

Example
-------
>>> import numpy as np
>>> from repro.astro.mergers import batches
>>> y = np.r_[np.ones(3), np.zeros(9)].astype(int)
>>> b = batches.balanced_batches(y, batch_size=4, n_steps=5, rng=np.random.default_rng(0))
>>> b.shape, y[b].sum(axis=1).tolist()
((5, 4), [2, 2, 2, 2, 2])
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["augment_batch", "balanced_batches", "make_dataset", "class_weights"]


def augment_batch(x, seed, *, rotate: bool = True, flip: bool = True, zoom: float = 0.1, shift: float = 0.05):
    """Randomly rotate, mirror, zoom and shift a batch of images.

    One affine map per image (bilinear, reflecting borders): a mirror ``m`` in {-1, 1}, then
    rotation by ``theta`` in [0, 2 pi), scaling by ``s`` in [1 - zoom, 1 + zoom] about the centre
    and a shift of up to ``shift`` times the side. A mirror followed by a free rotation covers
    both horizontal and vertical flips. The numbers are stateless random draws from ``seed``,
    so the same seed gives the same batch.

    Parameters
    ----------
    x : array_like or tensor, shape (n, s, s, 3)
        The images.
    seed : pair of int
        Seed of ``tf.random.stateless_uniform``.
    rotate, flip : bool
        Draw the rotation / the mirror (False: none).
    zoom, shift : float
        Largest relative zoom and shift.

    Returns
    -------
    tensorflow.Tensor, shape (n, s, s, 3), float32
    """
    import tensorflow as tf
    x = tf.convert_to_tensor(x, tf.float32)
    n = tf.shape(x)[0]
    h = tf.cast(tf.shape(x)[1], tf.float32)
    w = tf.cast(tf.shape(x)[2], tf.float32)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
    u = tf.random.stateless_uniform((n, 5), seed=seed)
    theta = u[:, 0] * 2.0 * np.pi if rotate else tf.zeros((n,))
    m = tf.where(u[:, 1] < 0.5, -1.0, 1.0) if flip else tf.ones((n,))
    s = 1.0 + zoom * (2.0 * u[:, 2] - 1.0)
    tx = shift * w * (2.0 * u[:, 3] - 1.0)
    ty = shift * h * (2.0 * u[:, 4] - 1.0)
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    c, sn = tf.cos(theta), tf.sin(theta)
    a0, a1 = s * c * m, -s * sn
    b0, b1 = s * sn * m, s * c
    a2 = cx - a0 * cx - a1 * cy + tx
    b2 = cy - b0 * cx - b1 * cy + ty
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=transforms, output_shape=tf.shape(x)[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT")


def balanced_batches(y: np.ndarray, batch_size: int, n_steps: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of ``n_steps`` batches, each half mergers and half non-mergers.

    Each class is walked through in fresh random orders (all of a class before any repeats);
    the rows within a batch are shuffled.

    Parameters
    ----------
    y : array_like of int
        Labels (1: merger).
    batch_size : int
        Even, at least 2.
    n_steps : int
        Batches.
    rng : numpy.random.Generator
        Source of the orders.

    Returns
    -------
    numpy.ndarray, shape (n_steps, batch_size), int

    Raises
    ------
    ValueError
        ``batch_size`` odd or below 2, or a class absent from ``y``.
    """
    y = np.asarray(y)
    if batch_size < 2 or batch_size % 2:
        raise ValueError(f"batch_size must be even and >= 2 for balanced batches, got {batch_size}")
    half = batch_size // 2
    cols = []
    for cls in (1, 0):
        idx = np.flatnonzero(y == cls)
        if len(idx) == 0:
            raise ValueError(f"no {'mergers' if cls else 'non-mergers'} in the training set")
        need = n_steps * half
        reps = math.ceil(need / len(idx))
        order = np.concatenate([rng.permutation(idx) for _ in range(reps)])[:need]
        cols.append(order.reshape(n_steps, half))
    batches = np.concatenate(cols, axis=1)
    return np.stack([rng.permutation(b) for b in batches])


def make_dataset(X: np.ndarray, y: np.ndarray, batches: np.ndarray, seed: int, augment: dict | None):
    """A ``tf.data`` pipeline over in-memory images: gather each batch, augment it.

    The batches are prepared in parallel on tf.data's threads and prefetched while the model
    trains; the order and the pixels do not depend on the thread timing.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, s, s, 3)
        Images.
    y : array_like, shape (n,)
        Labels.
    batches : numpy.ndarray, shape (steps, batch_size)
        Row indices (:func:`balanced_batches`).
    seed : int
        Batch ``k`` is augmented with the seed pair ``(seed, k)``.
    augment : dict or None
        Keyword arguments of :func:`augment_batch`; None: no augmentation.

    Returns
    -------
    tensorflow.data.Dataset
        Of ``(float32 images, int32 labels)`` batches.
    """
    import tensorflow as tf
    Xt = tf.constant(X)
    yt = tf.constant(np.asarray(y, dtype=np.int32))
    steps = np.arange(len(batches), dtype=np.int32)
    ds = tf.data.Dataset.from_tensor_slices((batches.astype(np.int32), steps))

    def fetch(b, k):
        xb = tf.cast(tf.gather(Xt, b), tf.float32)
        if augment is not None:
            xb = augment_batch(xb, tf.stack([tf.constant(int(seed), tf.int32), k]), **augment)
        return xb, tf.gather(yt, b)
    return ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Per-sample weights that give both classes the same total weight (mean weight 1).

    Parameters
    ----------
    y : array_like of int
        Labels (0/1).

    Returns
    -------
    numpy.ndarray, float32
        ``len(y) / (2 n_c)`` for a sample of class ``c`` with ``n_c`` members.
    """
    y = np.asarray(y)
    w = np.zeros(len(y), np.float32)
    for cls in (0, 1):
        m = y == cls
        if m.any():
            w[m] = len(y) / (2.0 * m.sum())
    return w

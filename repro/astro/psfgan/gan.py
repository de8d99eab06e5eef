"""The PSFGAN network (Stark et al. 2018) in Keras 3: a conditional GAN that removes an AGN point source.

- Generator: a pix2pix-style U-Net. Encoder: 4x4 stride-2 convolutions, batch norm (not on the
  first), leaky ReLU 0.2, down to 1x1; decoder: 4x4 stride-2 transposed convolutions, batch norm,
  dropout 0.5 in the first ``n_dropout`` decoder layers, ReLU, skip connections to the mirrored
  encoder layer; tanh output.
- Discriminator: a convolutional PatchGAN that sees the conditional input (galaxy + point
  source) concatenated with either the real host or the generated one.
- Loss: adversarial binary cross-entropy plus ``l1_weight`` x a weighted L1 term whose weight
  is ``center_weight`` inside ``center_radius`` pixels of the centre (where the point source
  sits) and 1 elsewhere.
- Images enter the networks stretched: s(x) = arcsinh(50 x / M) / arcsinh(50), where M is the
  maximum pixel of the conditional input image (so s ≤ 1, the paper's arcsinh(50x)/arcsinh(50·max)
  with x in units of M). M is known at inference time, so the stretch inverts exactly.

Sized for CPUs: 64x64 stamps, ``base_filters`` 32 (about 3.3 M generator parameters with
the defaults); uses a GPU when TensorFlow sees one. TensorFlow and Keras are imported only when a
function here needs them.

Example
-------
>>> import numpy as np
>>> x = np.array([[[0.0, 0.5], [1.0, 2.0]]])
>>> scale = image_scale(x)                      # the maximum pixel, 2.0
>>> bool(np.allclose(unstretch(stretch(x, scale), scale), x))
True
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ...errors import ReproError

__all__ = ["STRETCH_A", "GANError", "stretch", "unstretch", "image_scale", "prepare", "center_weight_map",
           "dihedral", "LR_SCHEDULES", "learning_rate_schedule", "configure_tensorflow", "build_generator", "build_discriminator", "PSFGAN", "remove_point_source"]

STRETCH_A = 50.0
"""The ``a`` of the stretch arcsinh(a x / M) / arcsinh(a)."""


class GANError(ReproError, ValueError):
    """Bad input to the GAN (wrong shapes, non-positive stamp size)."""


# ------------------------------------------------------------------ stretch
def stretch(x, scale):
    """The network's input stretch, ``arcsinh(50 x / scale) / arcsinh(50)``.

    Parameters
    ----------
    x : array_like
        Images in physical units.
    scale : array_like
        Positive scales, broadcast against ``x`` (one per image, see :func:`image_scale`).

    Returns
    -------
    numpy.ndarray
        Stretched values (at most 1 where ``x <= scale``).

    Raises
    ------
    GANError
        A scale that is not positive.
    """
    x = np.asarray(x, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(~(scale > 0)):
        raise GANError("stretch scale must be positive")
    return np.arcsinh(STRETCH_A * x / scale) / np.arcsinh(STRETCH_A)


def unstretch(y, scale):
    """Inverse of :func:`stretch`: ``sinh(y arcsinh(50)) scale / 50``.

    Parameters
    ----------
    y : array_like
        Stretched values.
    scale : array_like
        The scales :func:`stretch` was given.

    Returns
    -------
    numpy.ndarray
        Values in physical units.
    """
    y = np.asarray(y, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    return np.sinh(y * np.arcsinh(STRETCH_A)) * scale / STRETCH_A


def image_scale(inputs: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Per-image stretch scale M: the maximum pixel of each conditional input.

    Parameters
    ----------
    inputs : numpy.ndarray, shape (N, H, W)
        The conditional inputs (galaxy + point source).
    floor : float
        Smallest scale returned (guards empty or negative stamps).

    Returns
    -------
    numpy.ndarray, shape (N, 1, 1)

    Raises
    ------
    GANError
        ``inputs`` is not a stack of 2-D images.
    """
    a = np.asarray(inputs, dtype=np.float64)
    if a.ndim != 3:
        raise GANError(f"expected a stack (N, H, W), got shape {a.shape}")
    return np.maximum(a.reshape(len(a), -1).max(axis=1), floor)[:, None, None]


def prepare(inputs: np.ndarray, targets: np.ndarray | None = None):
    """Stretched float32 network arrays and the scales used.

    Parameters
    ----------
    inputs : numpy.ndarray, shape (N, H, W)
        Conditional inputs in physical units.
    targets : numpy.ndarray, shape (N, H, W), optional
        Hosts in physical units, stretched with the inputs' scales and clipped to [-1, 1].

    Returns
    -------
    x : numpy.ndarray, shape (N, H, W, 1)
    y : numpy.ndarray, shape (N, H, W, 1) or None
    scale : numpy.ndarray, shape (N, 1, 1)

    Raises
    ------
    GANError
        ``inputs`` is not a stack of 2-D images.
    """
    scale = image_scale(inputs)
    x = stretch(inputs, scale).astype(np.float32)[..., None]
    y = None if targets is None else np.clip(stretch(targets, scale), -1, 1).astype(np.float32)[..., None]
    return x, y, scale


def center_weight_map(size: int, radius: float, weight: float) -> np.ndarray:
    """Weights of the L1 loss: ``weight`` within ``radius`` of the centre pixel, 1 elsewhere.

    Parameters
    ----------
    size : int
        Side of the stamps.
    radius : float
        Radius in pixels of the up-weighted disc.
    weight : float
        Relative weight inside the disc.

    Returns
    -------
    numpy.ndarray, shape (size, size), float32
        Normalised to mean 1.
    """
    yy, xx = np.indices((size, size))
    c = size // 2
    w = np.where((yy - c) ** 2 + (xx - c) ** 2 <= radius ** 2, weight, 1.0)
    return (w / w.mean()).astype(np.float32)


def dihedral(a: np.ndarray, t: int) -> np.ndarray:
    """One of the eight symmetries of the square applied to a stack of network images.

    Parameters
    ----------
    a : numpy.ndarray, shape (N, H, W, C)
        Square images (H == W), channels last.
    t : int
        0..7, as in :func:`repro.astro.psfgan.transform` (0 is the identity).

    Returns
    -------
    numpy.ndarray
        The transformed stack.

    Raises
    ------
    GANError
        ``t`` outside 0..7.
    """
    from .psf import transform

    if not 0 <= int(t) < 8:
        raise GANError(f"dihedral transformation index must be in 0..7, got {t}")
    return np.ascontiguousarray(np.moveaxis(transform(np.moveaxis(a, -1, 1), int(t)), 1, -1))


LR_SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules of :func:`learning_rate_schedule`."""


def learning_rate_schedule(lr: float, schedule: str = "constant", decay_steps: int = 0,
                           final_fraction: float = 0.05):
    """The optimisers' learning rate: constant, or cosine decay from ``lr`` to ``final_fraction * lr``.

    Parameters
    ----------
    lr : float
        The initial (or constant) learning rate.
    schedule : {"constant", "cosine"}
        The shape over the steps.
    decay_steps : int
        Steps of the cosine decay (>= 1 for "cosine"); after them the rate stays at its final value.
    final_fraction : float
        The final rate as a fraction of ``lr`` (0..1).

    Returns
    -------
    float or keras.optimizers.schedules.CosineDecay

    Raises
    ------
    GANError
        An unknown schedule, or a cosine schedule without decay steps.
    """
    if schedule == "constant":
        return float(lr)
    if schedule != "cosine":
        raise GANError(f"unknown learning-rate schedule {schedule!r}; known: {', '.join(LR_SCHEDULES)}")
    if int(decay_steps) < 1 or not 0.0 <= final_fraction <= 1.0:
        raise GANError(f"a cosine schedule needs decay_steps >= 1 and final_fraction in [0, 1]; "
                       f"got {decay_steps} and {final_fraction}")
    import keras
    return keras.optimizers.schedules.CosineDecay(float(lr), int(decay_steps), alpha=float(final_fraction))


# ------------------------------------------------------------------ models
def configure_tensorflow(threads: int | None = None, deterministic: bool = True) -> None:
    """Set TensorFlow's thread count and op determinism (same seed, same numbers).

    Call before building models. Sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless already set (quiet
    kernels). Thread settings that TensorFlow refuses because it is already initialised are
    left as they are.

    Parameters
    ----------
    threads : int, optional
        Intra-op threads (inter-op is set to 1); None leaves TensorFlow's defaults.
    deterministic : bool
        Enable op determinism.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised: keep the current setting
            pass
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def build_generator(size: int = 64, base_filters: int = 32, max_filters: int = 256, n_dropout: int = 2,
                    dropout: float = 0.5):
    """The U-Net generator: stretched image in, stretched host out (tanh).

    Parameters
    ----------
    size : int
        Side of the stamps, a power of two >= 4 (the encoder halves it down to 1x1).
    base_filters : int
        Filters of the first layer, doubling per layer.
    max_filters : int
        Cap on the filters per layer.
    n_dropout : int
        Decoder layers with dropout.
    dropout : float
        Dropout rate.

    Returns
    -------
    keras.Model

    Raises
    ------
    GANError
        ``size`` is not a power of two >= 4.
    """
    import keras
    from keras import layers

    if size < 4 or size & (size - 1):
        raise GANError(f"stamp size must be a power of two >= 4, got {size}")
    n_down = int(np.log2(size))
    inp = keras.Input((size, size, 1), name="galaxy_plus_point_source")
    x = inp
    skips = []
    for i in range(n_down):
        f = min(base_filters * 2 ** i, max_filters)
        x = layers.Conv2D(f, 4, strides=2, padding="same", use_bias=i == 0,
                          kernel_initializer=keras.initializers.RandomNormal(0, 0.02), name=f"enc{i}")(x)
        if i > 0 and i < n_down - 1:
            x = layers.BatchNormalization(name=f"enc{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"enc{i}_lrelu")(x)
        skips.append(x)
    skips = skips[:-1][::-1]
    for j, skip in enumerate(skips):
        f = min(base_filters * 2 ** (n_down - 2 - j), max_filters)
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=keras.initializers.RandomNormal(0, 0.02), name=f"dec{j}")(x)
        x = layers.BatchNormalization(name=f"dec{j}_bn")(x)
        if j < n_dropout:
            x = layers.Dropout(dropout, name=f"dec{j}_drop")(x)
        x = layers.ReLU(name=f"dec{j}_relu")(x)
        x = layers.Concatenate(name=f"dec{j}_skip")([x, skip])
    out = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh",
                                 kernel_initializer=keras.initializers.RandomNormal(0, 0.02), name="host")(x)
    return keras.Model(inp, out, name="psfgan_generator")


def build_discriminator(size: int = 64, base_filters: int = 32, n_layers: int = 3):
    """The conditional PatchGAN discriminator: (input, host) pairs to a map of real/fake logits.

    Parameters
    ----------
    size : int
        Side of the stamps.
    base_filters : int
        Filters of the first layer, doubling per layer.
    n_layers : int
        Stride-2 convolution layers.

    Returns
    -------
    keras.Model
        Inputs ``[condition, host]``, each (size, size, 1).
    """
    import keras
    from keras import layers

    cond = keras.Input((size, size, 1), name="condition")
    host = keras.Input((size, size, 1), name="host")
    x = layers.Concatenate()([cond, host])
    for i in range(n_layers):
        x = layers.Conv2D(base_filters * 2 ** i, 4, strides=2, padding="same", use_bias=i == 0,
                          kernel_initializer=keras.initializers.RandomNormal(0, 0.02), name=f"d{i}")(x)
        if i > 0:
            x = layers.BatchNormalization(name=f"d{i}_bn")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(base_filters * 2 ** n_layers, 4, strides=1, padding="same", use_bias=False,
                      kernel_initializer=keras.initializers.RandomNormal(0, 0.02), name="d_last")(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    out = layers.Conv2D(1, 4, strides=1, padding="same",
                        kernel_initializer=keras.initializers.RandomNormal(0, 0.02), name="logits")(x)
    return keras.Model([cond, host], out, name="psfgan_discriminator")


# ------------------------------------------------------------------ training
class PSFGAN:
    """Generator, discriminator, their Adam optimisers and the training step.

    Parameters
    ----------
    size : int
        Side of the stamps (power of two).
    base_filters, max_filters, n_dropout
        As in :func:`build_generator`.
    lr, beta_1 : float
        Adam learning rate and beta_1 of both optimisers.
    l1_weight : float
        Weight of the L1 term against the adversarial term in the generator loss.
    center_weight, center_radius : float
        The L1 weight map (:func:`center_weight_map`).
    seed : int
        ``keras.utils.set_random_seed`` before the networks are built (initial weights,
        dropout).
    lr_schedule, decay_steps, lr_final_fraction
        The learning rate over the steps (:func:`learning_rate_schedule`).

    Attributes
    ----------
    generator, discriminator : keras.Model
    lr : float or keras.optimizers.schedules.LearningRateSchedule
        The learning rate of both optimisers.
    history : list of dict
        One row per evaluation of :meth:`fit`: mean losses since the previous row, and the
        validation metrics when a validation function is given.
    best : dict or None
        The row of the best validation score (the weights :meth:`fit` kept), if validated.
    """

    def __init__(self, size: int = 64, base_filters: int = 32, lr: float = 9e-5, beta_1: float = 0.5,
                 l1_weight: float = 100.0, center_weight: float = 10.0, center_radius: float = 5.0,
                 n_dropout: int = 2, max_filters: int = 256, seed: int = 0, lr_schedule: str = "constant",
                 decay_steps: int = 0, lr_final_fraction: float = 0.05):
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        self.size = size
        self.generator = build_generator(size, base_filters, max_filters, n_dropout=n_dropout)
        self.discriminator = build_discriminator(size, base_filters)
        self.lr = learning_rate_schedule(lr, lr_schedule, decay_steps, lr_final_fraction)
        self.g_opt = keras.optimizers.Adam(self.lr, beta_1=beta_1)
        self.d_opt = keras.optimizers.Adam(self.lr, beta_1=beta_1)
        self.l1_weight = float(l1_weight)
        self.wmap = tf.constant(center_weight_map(size, center_radius, center_weight)[None, :, :, None])
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self._step = tf.function(self._train_step)
        self.history: list[dict] = []
        self.best: dict | None = None

    def current_lr(self, step: int) -> float:
        """The learning rate at optimiser step ``step`` (0-based)."""
        return float(self.lr(step)) if callable(self.lr) else float(self.lr)

    def _train_step(self, x, y):
        import tensorflow as tf

        with tf.GradientTape() as gt, tf.GradientTape() as dt:
            fake = self.generator(x, training=True)
            d_real = self.discriminator([x, y], training=True)
            d_fake = self.discriminator([x, fake], training=True)
            g_adv = self.bce(tf.ones_like(d_fake), d_fake)
            g_l1 = tf.reduce_mean(self.wmap * tf.abs(y - fake))
            g_loss = g_adv + self.l1_weight * g_l1
            d_loss = 0.5 * (self.bce(tf.ones_like(d_real), d_real) + self.bce(tf.zeros_like(d_fake), d_fake))
        g_grad = gt.gradient(g_loss, self.generator.trainable_variables)
        d_grad = dt.gradient(d_loss, self.discriminator.trainable_variables)
        self.g_opt.apply_gradients(zip(g_grad, self.generator.trainable_variables))
        self.d_opt.apply_gradients(zip(d_grad, self.discriminator.trainable_variables))
        return g_adv, g_l1, d_loss

    def fit(self, inputs: np.ndarray, targets: np.ndarray, *, steps: int, batch_size: int = 16, seed: int = 0,
            augment: bool = False, validate=None, eval_every: int = 0, checkpoint_dir=None, progress: bool = True,
            desc: str = "PSFGAN") -> list[dict]:
        """Train on stacks in physical units, validating every ``eval_every`` steps.

        Pairs are drawn in epochs (a new permutation of all pairs each pass; a last incomplete
        batch is skipped). Every ``eval_every`` steps and after the last one a row is added to
        :attr:`history`; with ``validate`` given, the generator is scored on held-out pairs and,
        when ``checkpoint_dir`` is given, the weights of the best score so far are kept there
        (``generator.weights.h5``, ``discriminator.weights.h5``). Without ``validate`` the weights
        of every row are written (the last ones remain).

        Parameters
        ----------
        inputs, targets : numpy.ndarray, shape (N, size, size)
            Host + point source, and host.
        steps : int
            Optimiser steps (>= 1).
        batch_size : int
            Pairs per step (at most N).
        seed : int
            Seed of the order of the pairs and of the augmentations.
        augment : bool
            Apply one of the eight dihedral transformations (rotations by 90 degrees, flips),
            drawn per batch, to inputs and targets alike. The point source sits in the centre and
            the L1 weight map is symmetric, so this changes neither the task nor the loss.
        validate : callable, optional
            ``validate(generator) -> dict`` with a float ``score`` (lower is better) and any
            other metrics, all of which go into the history row.
        eval_every : int
            Steps between rows (0: one row at the end).
        checkpoint_dir : path-like, optional
            Where to write the weights.
        progress : bool
            Show a progress bar.
        desc : str
            Label of the progress bar.

        Returns
        -------
        list of dict
            :attr:`history`: per row ``step``, ``epoch`` (passes over the pairs, fractional),
            ``lr``, the mean ``g_adv``, ``g_l1``, ``d_loss`` since the previous row,
            ``train_seconds`` (cumulative, validation excluded) and the validation metrics.

        Raises
        ------
        GANError
            ``inputs`` and ``targets`` are not both (N, size, size), ``steps`` < 1, or
            ``batch_size`` outside 1..N.
        """
        from tqdm import tqdm

        if inputs.shape != targets.shape or inputs.ndim != 3 or inputs.shape[1:] != (self.size, self.size):
            raise GANError(f"inputs and targets must both be (N, {self.size}, {self.size}); "
                           f"got {inputs.shape} and {targets.shape}")
        n = len(inputs)
        if int(steps) < 1:
            raise GANError(f"steps must be >= 1, got {steps}")
        if not 1 <= batch_size <= n:
            raise GANError(f"batch_size must be in 1..{n} (the number of pairs), got {batch_size}")
        x, y, _ = prepare(inputs, targets)
        rng = np.random.default_rng(seed)
        per_epoch = n // batch_size
        every = int(eval_every) if eval_every and eval_every > 0 else int(steps)
        acc, k, train_s = np.zeros(3), 0, 0.0
        order, pos = rng.permutation(n), 0
        best_score = np.inf
        bar = tqdm(total=int(steps), desc=desc, disable=not progress)
        for step in range(1, int(steps) + 1):
            if pos + batch_size > n:
                order, pos = rng.permutation(n), 0
            idx = np.sort(order[pos:pos + batch_size])
            pos += batch_size
            xb, yb = x[idx], y[idx]
            if augment:
                t = int(rng.integers(8))
                xb, yb = dihedral(xb, t), dihedral(yb, t)
            t0 = time.perf_counter()
            out = self._step(xb, yb)
            acc += [float(v) for v in out]
            train_s += time.perf_counter() - t0
            k += 1
            bar.update(1)
            if step % every and step != steps:
                continue
            row = dict(step=step, epoch=step / per_epoch, lr=self.current_lr(step - 1), g_adv=acc[0] / k,
                       g_l1=acc[1] / k, d_loss=acc[2] / k, train_seconds=train_s)
            acc, k = np.zeros(3), 0
            if validate is not None:
                metrics = dict(validate(self.generator))
                score = float(metrics["score"])
                row.update(metrics)
                row["best"] = bool(score < best_score)
                if row["best"]:
                    best_score = score
                    self.best = row
                    if checkpoint_dir is not None:
                        self.save(checkpoint_dir)
                bar.set_postfix(l1=f"{row['g_l1']:.4f}", val=f"{score:.4f}")
            else:
                bar.set_postfix(l1=f"{row['g_l1']:.4f}", d=f"{row['d_loss']:.3f}")
                if checkpoint_dir is not None:
                    self.save(checkpoint_dir)
            self.history.append(row)
        bar.close()
        return self.history

    def save(self, folder) -> None:
        """Write both networks' weights to ``folder`` (atomically, file by file).

        Parameters
        ----------
        folder : path-like
            Created if missing; receives ``generator.weights.h5`` and ``discriminator.weights.h5``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for model, name in ((self.generator, "generator"), (self.discriminator, "discriminator")):
            tmp = folder / f".{name}.tmp.weights.h5"
            model.save_weights(tmp)
            os.replace(tmp, folder / f"{name}.weights.h5")

    def load(self, folder) -> None:
        """Read both networks' weights written by :meth:`save`.

        Parameters
        ----------
        folder : path-like
            The checkpoint folder.

        Raises
        ------
        GANError
            A weights file is missing.
        """
        folder = Path(folder)
        for model, name in ((self.generator, "generator"), (self.discriminator, "discriminator")):
            p = folder / f"{name}.weights.h5"
            if not p.exists():
                raise GANError(f"no checkpoint {p}: train the GAN first (notebook 03_train)")
            model.load_weights(p)


def remove_point_source(generator, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The generator's host image in physical units for each input stamp.

    Parameters
    ----------
    generator : keras.Model
        A trained generator (:attr:`PSFGAN.generator`).
    inputs : numpy.ndarray, shape (N, H, W) or (H, W)
        Host + point source in physical units.
    batch_size : int
        Stamps per generator call.

    Returns
    -------
    numpy.ndarray
        Same shape as ``inputs``: the recovered hosts (run in inference mode, no dropout).
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim == 2:
        return remove_point_source(generator, inputs[None], batch_size)[0]
    x, _, scale = prepare(inputs)
    out = np.concatenate([np.asarray(generator(x[i:i + batch_size], training=False))
                          for i in range(0, len(x), batch_size)], axis=0)[..., 0]
    return unstretch(out.astype(np.float64), scale)

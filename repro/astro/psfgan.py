"""PSFGAN (Stark et al. 2018) in Keras 3: a conditional GAN that removes an AGN point source.

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
the defaults); uses a GPU when TensorFlow sees one.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..errors import ReproError

STRETCH_A = 50.0


class GANError(ReproError, ValueError):
    """Bad input to the GAN (wrong shapes, non-positive stamp size)."""


# ------------------------------------------------------------------ stretch
def stretch(x, scale):
    """arcsinh(50 x / scale) / arcsinh(50); ``scale`` broadcasts (one value per image)."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(~(scale > 0)):
        raise GANError("stretch scale must be positive")
    return np.arcsinh(STRETCH_A * x / scale) / np.arcsinh(STRETCH_A)


def unstretch(y, scale):
    """Inverse of :func:`stretch`."""
    y = np.asarray(y, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    return np.sinh(y * np.arcsinh(STRETCH_A)) * scale / STRETCH_A


def image_scale(inputs: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Per-image stretch scale M: the maximum pixel of each conditional input, shape (N, 1, 1)."""
    a = np.asarray(inputs, dtype=np.float64)
    if a.ndim != 3:
        raise GANError(f"expected a stack (N, H, W), got shape {a.shape}")
    return np.maximum(a.reshape(len(a), -1).max(axis=1), floor)[:, None, None]


def prepare(inputs: np.ndarray, targets: np.ndarray | None = None):
    """Stretched float32 network arrays (N, H, W, 1) and the scales used."""
    scale = image_scale(inputs)
    x = stretch(inputs, scale).astype(np.float32)[..., None]
    y = None if targets is None else np.clip(stretch(targets, scale), -1, 1).astype(np.float32)[..., None]
    return x, y, scale


def center_weight_map(size: int, radius: float, weight: float) -> np.ndarray:
    """L1 weights: ``weight`` within ``radius`` of the centre pixel, 1 elsewhere; mean 1 normalised."""
    yy, xx = np.indices((size, size))
    c = size // 2
    w = np.where((yy - c) ** 2 + (xx - c) ** 2 <= radius ** 2, weight, 1.0)
    return (w / w.mean()).astype(np.float32)


# ------------------------------------------------------------------ models
def configure_tensorflow(threads: int | None = None, deterministic: bool = True) -> None:
    """Thread count and op determinism (same seed => same numbers). Call before building models."""
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
    """U-Net generator, stretched image in, stretched host out (tanh)."""
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
    """Conditional PatchGAN: (input, host) pairs -> a map of real/fake logits."""
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
    """Generator, discriminator, their optimisers and the training step."""

    def __init__(self, size: int = 64, base_filters: int = 32, lr: float = 9e-5, beta_1: float = 0.5,
                 l1_weight: float = 100.0, center_weight: float = 10.0, center_radius: float = 5.0,
                 n_dropout: int = 2, max_filters: int = 256, seed: int = 0):
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        self.size = size
        self.generator = build_generator(size, base_filters, max_filters, n_dropout=n_dropout)
        self.discriminator = build_discriminator(size, base_filters)
        self.g_opt = keras.optimizers.Adam(lr, beta_1=beta_1)
        self.d_opt = keras.optimizers.Adam(lr, beta_1=beta_1)
        self.l1_weight = float(l1_weight)
        self.wmap = tf.constant(center_weight_map(size, center_radius, center_weight)[None, :, :, None])
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self._step = tf.function(self._train_step)
        self.history: list[dict] = []

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

    def fit(self, inputs: np.ndarray, targets: np.ndarray, *, epochs: int = 1, batch_size: int = 16,
            max_steps: int | None = None, seed: int = 0, checkpoint_dir=None, progress: bool = True,
            desc: str = "PSFGAN") -> list[dict]:
        """Train on physical-unit stacks (N, H, W); returns per-epoch mean losses.

        After every epoch the generator and discriminator weights are written to
        ``checkpoint_dir`` (if given) as ``generator.weights.h5`` / ``discriminator.weights.h5``.
        ``max_steps`` caps the total number of steps (smoke runs).
        """
        from tqdm.auto import tqdm

        if inputs.shape != targets.shape or inputs.ndim != 3 or inputs.shape[1:] != (self.size, self.size):
            raise GANError(f"inputs and targets must both be (N, {self.size}, {self.size}); "
                           f"got {inputs.shape} and {targets.shape}")
        x, y, _ = prepare(inputs, targets)
        rng = np.random.default_rng(seed)
        n = len(x)
        steps_per_epoch = max(n // batch_size, 1)
        total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
        done = 0
        bar = tqdm(total=total, desc=desc, disable=not progress)
        for ep in range(epochs):
            order = rng.permutation(n)
            acc = np.zeros(3)
            k = 0
            t0 = time.perf_counter()
            for s in range(steps_per_epoch):
                if done >= total:
                    break
                idx = np.sort(order[s * batch_size:(s + 1) * batch_size])
                out = self._step(x[idx], y[idx])
                acc += [float(v) for v in out]
                k += 1
                done += 1
                bar.update(1)
            if k:
                rec = dict(epoch=ep + 1, steps=done, g_adv=acc[0] / k, g_l1=acc[1] / k, d_loss=acc[2] / k,
                           seconds=time.perf_counter() - t0)
                self.history.append(rec)
                bar.set_postfix(l1=f"{rec['g_l1']:.4f}", d=f"{rec['d_loss']:.3f}")
                if checkpoint_dir is not None:
                    self.save(checkpoint_dir)
            if done >= total:
                break
        bar.close()
        return self.history

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for model, name in ((self.generator, "generator"), (self.discriminator, "discriminator")):
            tmp = folder / f".{name}.tmp.weights.h5"
            model.save_weights(tmp)
            os.replace(tmp, folder / f"{name}.weights.h5")

    def load(self, folder) -> None:
        folder = Path(folder)
        for model, name in ((self.generator, "generator"), (self.discriminator, "discriminator")):
            p = folder / f"{name}.weights.h5"
            if not p.exists():
                raise GANError(f"no checkpoint {p}: train the GAN first (notebook 03_train)")
            model.load_weights(p)


def remove_point_source(generator, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The generator's host image in physical units for each input stamp (N, H, W)."""
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim == 2:
        return remove_point_source(generator, inputs[None], batch_size)[0]
    x, _, scale = prepare(inputs)
    out = np.concatenate([np.asarray(generator(x[i:i + batch_size], training=False))
                          for i in range(0, len(x), batch_size)], axis=0)[..., 0]
    return unstretch(out.astype(np.float64), scale)


def time_against_fit(generator, inputs: np.ndarray, psfs: np.ndarray, psf_index, sky_sigma, gain, *,
                     aperture_radius: float, ftol: float) -> dict:
    """Per-image time of GAN inference against a two-component parametric fit, measured in one run.

    For each image in turn the GAN removes the point source (batch of one) and
    :func:`repro.astro.parametric.fit_two_component` fits it with the image's own PSF; then
    the GAN processes all images as one batch. The GAN's graph is traced once before timing.
    Returns the medians, the batched per-image GAN time and the two ratios fit/GAN.
    """
    from .parametric import fit_two_component

    n = len(inputs)
    if n < 1:
        raise ValueError("time_against_fit needs at least one image")
    remove_point_source(generator, inputs[:1])  # warm-up (graph tracing)
    t_gan, t_fit = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        remove_point_source(generator, inputs[i:i + 1])
        t_gan[i] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_two_component(inputs[i], psfs[psf_index[i]], float(sky_sigma[i]), float(gain[i]),
                          aperture_radius=aperture_radius, ftol=ftol)
        t_fit[i] = time.perf_counter() - t0
    t0 = time.perf_counter()
    remove_point_source(generator, inputs)
    t_batch = (time.perf_counter() - t0) / n
    return {"images": n, "gan_median_s": float(np.median(t_gan)), "gan_batched_per_image_s": t_batch,
            "fit_median_s": float(np.median(t_fit)), "ratio_median": float(np.median(t_fit) / np.median(t_gan)),
            "ratio_batched": float(np.median(t_fit) / t_batch), "gan_s": t_gan.tolist(), "fit_s": t_fit.tolist()}

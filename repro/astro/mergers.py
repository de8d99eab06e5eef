"""Galaxy-merger detection with CNNs and transfer learning (Ackermann et al. 2018, arXiv:1805.10289).

The pieces of the ``mergers`` chain that involve images and networks:

- data: :func:`load_labels`, :func:`select_sample`, :func:`decode_jpeg`, :func:`load_images`
  (JPEG -> uint8 arrays through ``tf.io.decode_jpeg``; area-averaged downsampling) and
  :func:`cached_images` (an ``.npz`` cache in the run folder);
- the model: :func:`build_model` — MobileNet v1 (alpha 0.25) with the ImageNet weights of the
  data snapshot or a random initialisation, global average pooling, a dense layer and a
  softmax; the model takes pixel values in [0, 255] (scaling is its first layer);
- training: :func:`augment_batch` (rotations, flips, zoom, shifts), :func:`make_dataset`, :func:`balanced_batches`
  (every batch half mergers, half non-mergers), :func:`train` (two phases for transfer
  learning: the head with the base frozen, Adam; then everything but the batch-norm
  statistics unfrozen, SGD with momentum; one Adam phase for the random-init network;
  early stopping on the class-balanced validation loss);
- cross-validation: :func:`cv_splits`, :func:`train_val_split`, :func:`subsample`,
  :func:`run_cv`;
- evaluation: :func:`confusion`, :func:`error_rate`, :func:`balanced_error`, :func:`roc_auc`,
  :func:`bootstrap_ci`, :func:`summarize`, :func:`fold_metrics`, :func:`mcnemar_test`,
  :func:`paired_tests` (Wilcoxon, paired t and the Nadeau–Bengio corrected t over folds x seeds);
- robustness: :func:`perturb` (Gaussian noise, Gaussian blur of the native images);
- use: :func:`predict` and the command line
  ``python -m repro.astro.mergers predict MODEL IMAGES_DIR [--out CSV]``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import data
from ..errors import ReproError
from ..io import read_json, read_npz, write_json, write_npz

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATASET = "galaxyzoo1-sdss-mergers"
WEIGHTS_DATASET = "keras-mobilenet-v1-0.25-imagenet"
WEIGHTS_FILE = "mobilenet_2_5_224_tf_no_top.h5"
ARMS = ("transfer", "scratch")
ARM_LABELS = {"transfer": "CNN, ImageNet transfer", "scratch": "CNN, random init"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class ImageError(ReproError, ValueError):
    """An image file is missing, unreadable or not an RGB/grey image."""


class WeightsError(ReproError):
    """The pretrained weights file is missing or does not fit the model."""


class ModelError(ReproError):
    """A saved model cannot be loaded or used."""


# ------------------------------------------------------------------------------ threads
def configure_threads(n: int) -> None:
    """Limit TensorFlow to ``n`` intra-op threads (call before the first TF operation)."""
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already initialised: the first setting stays
        pass


# --------------------------------------------------------------------------------- data
def load_labels() -> pd.DataFrame:
    """``labels.csv`` of the data set: objid, gz1_class, is_merger, filename (one row per image)."""
    path = data.locate(DATASET, "labels.csv")
    df = pd.read_csv(path, dtype={"objid": str})
    need = {"objid", "gz1_class", "is_merger", "filename"}
    if not need <= set(df.columns):
        raise data.DataError(f"{path}: expected columns {sorted(need)}, got {list(df.columns)}")
    df["is_merger"] = df["is_merger"].astype(int)
    return df


def select_sample(labels: pd.DataFrame, n_mergers: int | None = None, n_nonmergers: int | None = None,
                  seed: int = 0) -> pd.DataFrame:
    """All (or ``n_mergers``) mergers plus ``n_nonmergers`` non-mergers drawn at random, in file order.

    ``None`` takes every image of that class.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for cls, n in ((1, n_mergers), (0, n_nonmergers)):
        idx = np.flatnonzero(labels["is_merger"].to_numpy() == cls)
        if n is not None:
            if n > len(idx):
                raise ValueError(f"asked for {n} {'mergers' if cls else 'non-mergers'}, the data set has {len(idx)}")
            idx = np.sort(rng.choice(idx, size=n, replace=False))
        parts.append(idx)
    keep = np.sort(np.concatenate(parts))
    return labels.iloc[keep].reset_index(drop=True)


def decode_jpeg(path) -> np.ndarray:
    """Decode one image file (JPEG or PNG) into a ``(H, W, 3)`` uint8 array.

    Raises
    ------
    ImageError
        The file is missing, empty, not a decodable image, or has an unusual number of channels.
    """
    import tensorflow as tf
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"image {path} does not exist")
    raw = path.read_bytes()
    if not raw:
        raise ImageError(f"image {path} is empty (0 bytes)")
    try:
        img = tf.io.decode_image(raw, channels=0, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImageError(f"image {path} is corrupt or not a JPEG/PNG image ({msg[:160]})") from None
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ImageError(f"image {path} has shape {img.shape}; expected an RGB or grey image")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Area-average ``(n, H, W, 3)`` images to ``size`` x ``size``; returns uint8."""
    import tensorflow as tf
    x = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
    if x.shape[1] == size and x.shape[2] == size:
        out = x.numpy()
    else:
        out = tf.image.resize(x, (size, size), method="area", antialias=True).numpy()
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def center_crop(image: np.ndarray, crop: float) -> np.ndarray:
    """The central ``crop`` fraction (by side) of an ``(H, W, C)`` or ``(n, H, W, C)`` image."""
    crop = float(crop)
    if not 0 < crop <= 1:
        raise ValueError(f"crop must be in (0, 1], got {crop}")
    if crop == 1:
        return image
    h, w = image.shape[-3], image.shape[-2]
    kh, kw = max(1, int(round(h * crop))), max(1, int(round(w * crop)))
    oh, ow = (h - kh) // 2, (w - kw) // 2
    return image[..., oh:oh + kh, ow:ow + kw, :]


def cnn_view(image: np.ndarray, size: int, crop: float = 1.0) -> np.ndarray:
    """What the CNN sees of one native ``(H, W, 3)`` image: its central ``crop`` fraction,
    area-averaged to ``size`` x ``size`` (uint8).

    The Galaxy Zoo cutouts are 423 px with the galaxy in the middle third or so; cropping
    before downsampling keeps more pixels on the galaxy for the same network cost.
    """
    return resize(center_crop(np.asarray(image), crop)[None], size)[0]


def load_images(paths: Sequence, size: int | None = None, progress: bool = False,
                crop: float = 1.0) -> np.ndarray:
    """Decode ``paths`` and (if ``size``) take the central ``crop`` and downsample each to
    ``size`` x ``size``: ``(n, s, s, 3)`` uint8."""
    out = []
    it = paths
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(paths, desc="decode", unit="img")
    for p in it:
        img = decode_jpeg(p)
        out.append(cnn_view(img, size, crop) if size else center_crop(img, crop))
    if not out:
        return np.zeros((0, size or 0, size or 0, 3), np.uint8)
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise ImageError(f"images have different shapes {sorted(shapes)[:3]}; pass size= to resize them")
    return np.stack(out)


def image_paths(sample: pd.DataFrame) -> list[Path]:
    """Paths of the sample's images in the (verified) data set."""
    folder = data.verify(DATASET)
    return [folder / f for f in sample["filename"]]


def cached_images(cache: Path, sample: pd.DataFrame, sizes: dict[str, int | Callable], progress: bool = True) -> dict:
    """Decoded images of ``sample`` in several representations, cached in one ``.npz``.

    ``sizes`` maps a name to a size (RGB, area-averaged) or to a function of the native
    ``(H, W, 3)`` uint8 image. The cache is reused only when it holds exactly the same objids
    and names.
    """
    cache = Path(cache)
    objids = np.asarray(sample["objid"].astype(str).to_numpy(), dtype=str)
    if cache.exists():
        got = read_npz(cache)
        if "objid" in got and np.array_equal(got["objid"].astype(str), objids) and set(sizes) <= set(got):
            return {k: got[k] for k in sizes}
    paths = image_paths(sample)
    out: dict[str, list] = {k: [] for k in sizes}
    it = paths
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(paths, desc="decode + downsample", unit="img")
    for p in it:
        img = decode_jpeg(p)
        for k, s in sizes.items():
            out[k].append(s(img) if callable(s) else resize(img[None], s)[0])
    arrays = {k: np.stack(v) for k, v in out.items()}
    write_npz(cache, objid=objids, **arrays)
    return arrays


def perturb(image: np.ndarray, kind: str, level: float, seed: int) -> np.ndarray:
    """A degraded copy of one native ``(H, W, 3)`` uint8 image (float in [0, 255]).

    ``kind`` "noise": add Gaussian noise of standard deviation ``level`` (8-bit counts) per
    pixel and channel, then clip; "blur": Gaussian blur of ``level`` pixels (native scale);
    "none": unchanged.
    """
    from scipy.ndimage import gaussian_filter
    x = np.asarray(image, dtype=np.float32)
    if kind == "none" or level == 0:
        return x
    if kind == "noise":
        rng = np.random.default_rng(seed)
        return np.clip(x + rng.normal(0.0, level, size=x.shape).astype(np.float32), 0, 255)
    if kind == "blur":
        return gaussian_filter(x, sigma=(level, level, 0), mode="nearest")
    raise ValueError(f"unknown perturbation kind {kind!r}; allowed: none, noise, blur")


# -------------------------------------------------------------------------------- model
def weights_path() -> Path:
    """The ImageNet MobileNet v1 (alpha 0.25, no top) weights file of the data snapshot."""
    return data.locate(WEIGHTS_DATASET, WEIGHTS_FILE)


def build_model(image_size: int, weights: str | None = "imagenet", *, weights_file=None,
                dense_units: int = 32, dropout: float = 0.2, seed: int = 0, bn_momentum: float = 0.99):
    """MobileNet v1 (alpha 0.25) base + global average pooling + dense + 2-way softmax.

    Parameters
    ----------
    image_size : int
        Input side in pixels (>= 32); the model takes ``(size, size, 3)`` pixel values in [0, 255].
    weights : {"imagenet", None}
        ImageNet weights from ``weights_file`` (default: the registered file) or random init.
    dense_units, dropout : the head.
    bn_momentum : float
        Momentum of the base's batch-norm moving averages (Keras default 0.99). The inference
        statistics of a randomly initialised network trained for only a few hundred steps lag
        far behind the weights at 0.99 (the network then predicts a constant); 0.9 follows
        them ten times faster. Irrelevant while the statistics are frozen (transfer arm).
    seed : int
        Seed of the random initialisation (head, and the base when ``weights`` is None).

    Raises
    ------
    WeightsError
        The weights file is missing or its layers do not fit the architecture.
    """
    import keras
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 for MobileNet, got {image_size}")
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    if not 0 <= bn_momentum < 1:
        raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum}")
    path = None
    if weights == "imagenet":
        path = Path(weights_file) if weights_file is not None else weights_path()
        if not path.is_file():
            raise WeightsError(f"pretrained weights file {path} does not exist (data set '{WEIGHTS_DATASET}', "
                               f"see its SOURCE.md); use weights=None for a random initialisation")
    keras.utils.set_random_seed(int(seed))
    base = keras.applications.MobileNet(input_shape=(image_size, image_size, 3), alpha=0.25,
                                        include_top=False, weights=None)
    base.name = "mobilenet_base"
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(bn_momentum)
    if path is not None:
        try:
            base.load_weights(str(path))
        except Exception as exc:  # h5py/keras raise many types for a bad file
            raise WeightsError(f"cannot load pretrained weights from {path}: {type(exc).__name__}: "
                               f"{str(exc)[:200]}") from None
    inp = keras.Input((image_size, image_size, 3), name="pixels")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inp)
    x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(dropout, seed=int(seed), name="dropout")(x)
    out = keras.layers.Dense(2, activation="softmax", name="softmax")(x)
    return keras.Model(inp, out, name=f"mobilenet025_{weights or 'scratch'}")


def h5_layer_weights(path, layer: str) -> list[np.ndarray]:
    """The arrays stored for ``layer`` in a Keras-2 HDF5 weights file, in file order."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            g = f[layer]
            return [np.asarray(g[n.decode() if isinstance(n, bytes) else n]) for n in g.attrs["weight_names"]]
    except (OSError, KeyError) as exc:
        raise WeightsError(f"{path}: cannot read layer '{layer}' ({exc})") from None


def augment_batch(x, seed, *, rotate: bool = True, flip: bool = True, zoom: float = 0.1, shift: float = 0.05):
    """Randomly rotate (0-360 degrees), mirror, zoom and shift a batch ``(n, s, s, 3)`` of images.

    One affine map per image (bilinear, reflecting borders), drawn with stateless random
    numbers from ``seed`` (a pair of ints), so the same seed gives the same batch. A mirror
    followed by a free rotation covers both horizontal and vertical flips. ``zoom`` = 0.1
    scales by a factor in [0.9, 1.1]; ``shift`` = 0.05 moves by up to 5 % of the side.
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
    """``(n_steps, batch_size)`` row indices: every batch holds equal numbers of both classes.

    Each class is walked through in fresh random orders (all of a class before any repeats).
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
    """A ``tf.data`` pipeline over the in-memory images: gather each batch, augment it.

    The batches are prepared in parallel and prefetched while the model trains; the order and
    the pixels do not depend on the thread timing.

    ``augment``: keyword arguments of :func:`augment_batch`, or None for no augmentation.
    Batch ``k`` is augmented with the seed pair ``(seed, k)``.
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
    # Batches are gathered and augmented on tf.data's own threads, ahead of the model
    # (deterministic order; each batch's randomness comes from its own seed pair).
    return ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Per-sample weights that give both classes the same total weight (mean weight 1)."""
    y = np.asarray(y)
    w = np.zeros(len(y), np.float32)
    for cls in (0, 1):
        m = y == cls
        if m.any():
            w[m] = len(y) / (2.0 * m.sum())
    return w


@dataclass(frozen=True)
class TrainConfig:
    """How one network is trained (see :func:`train`)."""

    arm: str = "transfer"
    image_size: int = 96
    crop: float = 1.0          # the central share of the cutout the images were made from (metadata)
    batch_size: int = 32
    steps_per_epoch: int = 40
    head_epochs: int = 2
    finetune_epochs: int = 6
    head_lr: float = 1e-3
    finetune_lr: float = 1e-3
    scratch_lr: float = 1e-3
    bn_momentum: float = 0.99
    momentum: float = 0.9
    patience: int = 2
    dense_units: int = 32
    dropout: float = 0.2
    augment: bool = True
    zoom: float = 0.1
    shift: float = 0.05
    seed: int = 0

    def __post_init__(self):
        if self.arm not in ARMS:
            raise ValueError(f"arm must be one of {ARMS}, got {self.arm!r}")


class _BestWeights:
    """Early stopping on validation loss that always restores the best epoch's weights."""

    def __new__(cls, patience: int):
        import keras

        class BestWeights(keras.callbacks.Callback):
            def __init__(self, patience):
                super().__init__()
                self.patience, self.best, self.weights, self.wait, self.best_epoch = patience, np.inf, None, 0, -1

            def on_epoch_end(self, epoch, logs=None):
                v = float((logs or {}).get("val_loss", np.inf))
                if v < self.best:
                    self.best, self.weights, self.wait, self.best_epoch = v, self.model.get_weights(), 0, epoch
                else:
                    self.wait += 1
                    if self.wait > self.patience:
                        self.model.stop_training = True

            def on_train_end(self, logs=None):
                if self.weights is not None:
                    self.model.set_weights(self.weights)
        return BestWeights(patience)


def _set_base_trainable(model, trainable: bool, bn_trainable: bool) -> None:
    import keras
    base = model.get_layer("mobilenet_base")
    base.trainable = True
    for layer in base.layers:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable and (bn_trainable or not is_bn)
    if not trainable:
        base.trainable = False


def train(X: np.ndarray, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray, cfg: TrainConfig):
    """Train one network; returns ``(model, history)``.

    ``transfer``: ImageNet base, phase 1 trains the head with the base frozen (Adam,
    ``head_lr``, ``head_epochs``), phase 2 unfreezes the base except its batch-norm statistics
    (SGD, ``finetune_lr``, momentum, ``finetune_epochs``). ``scratch``: random base, all layers
    (batch norm included) trained with Adam (``scratch_lr``) for ``head_epochs + finetune_epochs``
    epochs — the same number of gradient steps. Batches are class-balanced and augmented;
    each phase stops early on the class-balanced validation loss and keeps its best weights.
    ``history`` lists per-epoch losses with the phase.
    """
    import keras
    model = build_model(cfg.image_size, "imagenet" if cfg.arm == "transfer" else None,
                        dense_units=cfg.dense_units, dropout=cfg.dropout, seed=cfg.seed,
                        bn_momentum=cfg.bn_momentum)
    rng = np.random.default_rng(cfg.seed)
    aug = {"zoom": cfg.zoom, "shift": cfg.shift} if cfg.augment else None
    val = (np.asarray(Xv, np.float32), np.asarray(yv, np.int32), class_weights(yv))
    history: list[dict] = []
    if cfg.arm == "transfer":
        phases = [("head", cfg.head_epochs, False, keras.optimizers.Adam(cfg.head_lr)),
                  ("finetune", cfg.finetune_epochs, True,
                   keras.optimizers.SGD(cfg.finetune_lr, momentum=cfg.momentum))]
    else:
        phases = [("scratch", cfg.head_epochs + cfg.finetune_epochs, True, keras.optimizers.Adam(cfg.scratch_lr))]
    for name, epochs, unfrozen, opt in phases:
        if epochs <= 0:
            continue
        if cfg.arm == "transfer":
            _set_base_trainable(model, unfrozen, bn_trainable=False)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        batches = balanced_batches(y, cfg.batch_size, epochs * cfg.steps_per_epoch, rng)
        ds = make_dataset(X, y, batches, cfg.seed * 7 + len(history), aug)
        cb = _BestWeights(cfg.patience)
        h = model.fit(ds, epochs=epochs, steps_per_epoch=cfg.steps_per_epoch, validation_data=val,
                      callbacks=[cb], verbose=0, shuffle=False)
        for e, (lt, lv) in enumerate(zip(h.history["loss"], h.history["val_loss"])):
            history.append({"phase": name, "epoch": len(history) + 1, "loss": float(lt), "val_loss": float(lv),
                            "best": e == cb.best_epoch})
    return model, history


def predict_proba(model, X: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Merger probability of each ``(n, s, s, 3)`` image (pixel values in [0, 255])."""
    if len(X) == 0:
        return np.zeros(0)
    return model.predict(np.asarray(X, np.float32), batch_size=batch_size, verbose=0)[:, 1].astype(float)


# ----------------------------------------------------------------------- cross-validation
def cv_splits(y: np.ndarray, n_folds: int, n_repeats: int, seed: int) -> list[dict]:
    """Repeated stratified k-fold: ``[{"repeat", "fold", "train", "test"}]`` (index arrays)."""
    from sklearn.model_selection import StratifiedKFold
    y = np.asarray(y)
    if np.bincount(y, minlength=2).min() < n_folds:
        raise ValueError(f"{n_folds} folds need at least {n_folds} images of each class; got {np.bincount(y).tolist()}")
    out = []
    for r in range(n_repeats):
        skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed + 1000 * r)
        for f, (tr, te) in enumerate(skf.split(np.zeros(len(y)), y)):
            out.append({"repeat": r, "fold": f, "train": tr, "test": te})
    return out


def train_val_split(idx: np.ndarray, y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training indices ``idx`` into (train, validation), stratified by ``y[idx]``."""
    from sklearn.model_selection import train_test_split
    tr, va = train_test_split(idx, test_size=val_fraction, stratify=np.asarray(y)[idx], random_state=seed)
    return np.sort(tr), np.sort(va)


def subsample(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int, min_per_class: int = 2) -> np.ndarray:
    """A stratified ``fraction`` of ``idx`` (at least ``min_per_class`` of each class)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return np.sort(idx)
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    keep = []
    for cls in (0, 1):
        c = idx[y[idx] == cls]
        k = min(len(c), max(min_per_class, int(round(fraction * len(c)))))
        keep.append(rng.choice(c, size=k, replace=False))
    return np.sort(np.concatenate(keep))


def run_cv(X: np.ndarray, y: np.ndarray, splits: list[dict], arms: Sequence[str], cfg: TrainConfig, *,
           val_fraction: float, fractions: Sequence[float] = (1.0,), model_dir: Path | None = None,
           progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every arm on every split (and training-set fraction); predict the test fold.

    Returns ``(predictions, runs)``: one row per (repeat, fold, arm, fraction, test image) with
    ``index`` (row of X), ``y`` and ``p_merger``; and one row per trained network with sizes,
    epochs, best validation loss and seconds. Models at fraction 1 are saved to ``model_dir``
    as ``<arm>_r<repeat>_f<fold>.keras`` when given. The training seed of a split is
    ``cfg.seed + 100 * repeat + fold`` — the same for both arms (paired).
    """
    from tqdm.auto import tqdm
    jobs = [(s, a, fr) for s in splits for fr in fractions for a in arms]
    preds, runs = [], []
    bar = tqdm(jobs, desc="train", unit="net", disable=not progress)
    for s, arm, fr in bar:
        seed = cfg.seed + 100 * s["repeat"] + s["fold"]
        tr, va = train_val_split(s["train"], y, val_fraction, seed)
        tr = subsample(tr, y, fr, seed)
        bar.set_postfix(arm=arm, repeat=s["repeat"], fold=s["fold"], fraction=fr)
        t0 = time.perf_counter()
        model, hist = train(X[tr], y[tr], X[va], y[va], replace(cfg, arm=arm, seed=seed))
        p = predict_proba(model, X[s["test"]])
        secs = time.perf_counter() - t0
        if model_dir is not None and fr == 1.0:
            save_model(model, Path(model_dir) / f"{arm}_r{s['repeat']}_f{s['fold']}.keras", cfg.crop)
        preds.append(pd.DataFrame({"repeat": s["repeat"], "fold": s["fold"], "arm": arm, "fraction": fr,
                                   "index": s["test"], "y": y[s["test"]], "p_merger": p}))
        runs.append({"repeat": s["repeat"], "fold": s["fold"], "arm": arm, "fraction": fr, "seed": seed,
                     "n_train": len(tr), "n_train_mergers": int(y[tr].sum()), "n_val": len(va),
                     "epochs": len(hist), "best_val_loss": float(min(h["val_loss"] for h in hist)),
                     "seconds": secs})
        import keras
        keras.backend.clear_session()
    return pd.concat(preds, ignore_index=True), pd.DataFrame(runs)


# ------------------------------------------------------------------------------ metrics
def confusion(y, pred) -> np.ndarray:
    """2x2 confusion matrix: rows true (non-merger, merger), columns predicted."""
    y = np.asarray(y, int)
    pred = np.asarray(pred, int)
    m = np.zeros((2, 2), int)
    np.add.at(m, (y, pred), 1)
    return m


def error_rate(y, pred) -> float:
    """Share of wrong predictions."""
    y, pred = np.asarray(y), np.asarray(pred)
    return float(np.mean(y != pred)) if len(y) else float("nan")


def balanced_error(y, pred) -> float:
    """Mean of the two per-class error rates (1 - balanced accuracy); NaN if a class is absent."""
    m = confusion(y, pred)
    n = m.sum(axis=1)
    if (n == 0).any():
        return float("nan")
    return float(0.5 * (m[0, 1] / n[0] + m[1, 0] / n[1]))


def roc_auc(y, score) -> float:
    """Area under the ROC curve (Mann–Whitney form, ties count half)."""
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


def bootstrap_ci(y, score, metric: str | Callable = "balanced_error", n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95, groups=None) -> tuple[float, float, float]:
    """``(value, low, high)``: the metric and a percentile bootstrap interval.

    Images are resampled with replacement within each class (the class counts stay fixed).
    ``score`` is a merger probability; the label is ``score > 0.5``. ``groups`` (e.g. the image
    index when the predictions of several repeats are pooled) makes it a cluster bootstrap:
    whole groups are resampled, so an image scored in every repeat is not counted as several
    independent test images.
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
    """Pooled test metrics with bootstrap CIs per group.

    The predictions of every repeat are pooled (each image counts once per repeat); when an
    ``index`` column names the image, the bootstrap resamples images with all their repeats
    (a cluster bootstrap). Returns error, balanced error and AUC with ``_lo``/``_hi`` bounds,
    the confusion counts and n.
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
    """Balanced error, error and AUC of every (group, repeat, fold) — the units of paired tests."""
    rows = []
    keys = list(by) + ["repeat", "fold"]
    for key, g in preds.groupby(keys, sort=True):
        row = dict(zip(keys, key))
        row.update({m: f(g["y"].to_numpy(), g["p_merger"].to_numpy()) for m, f in METRICS.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def mcnemar_test(correct_a, correct_b) -> dict:
    """McNemar's test on paired per-image correctness (exact binomial when discordant pairs < 25)."""
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
    """Is ``a`` lower than ``b``? Paired one-sided tests over matched units (folds x seeds).

    Returns the mean difference ``a - b``, its standard error, how often a < b, and one-sided
    p-values: Wilcoxon signed-rank, paired t, and (with ``test_train_ratio`` = n_test / n_train)
    the Nadeau & Bengio (2003) corrected resampled t-test, which accounts for the overlap of
    training sets across folds and repeats.
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


# -------------------------------------------------------------------------------- predict
def save_model(model, path, crop: float = 1.0) -> Path:
    """Save ``model`` to ``path`` (``.keras``) with a ``.json`` beside it that records how
    images must be prepared for it (input size and central crop), for :func:`predict`.

    The model is written to a temporary name first and renamed, so an interrupted save never
    leaves a half-written file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    model.save(tmp)
    write_json(path.with_suffix(".json"), {"image_size": int(model.input_shape[1]), "crop": float(crop)})
    os.replace(tmp, path)
    return path


def model_view(path) -> dict:
    """The ``{"image_size", "crop"}`` recorded beside a saved model (crop 1.0 when none was recorded)."""
    side = Path(path).with_suffix(".json")
    if not side.is_file():
        return {"crop": 1.0}
    try:
        view = read_json(side)
        crop = float(view["crop"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{side}: cannot read the image preparation of the model ({exc})") from None
    if not 0 < crop <= 1:
        raise ModelError(f"{side}: crop must be in (0, 1], got {crop}")
    return {**view, "crop": crop}


def load_model(path):
    """Load a saved merger classifier (``.keras``)."""
    import keras
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelError(f"cannot load model {path}: {type(exc).__name__}: {str(exc)[:200]}") from None


def predict(model, images_dir, batch_size: int = 64, crop: float | None = None) -> pd.DataFrame:
    """Merger probabilities for every image in ``images_dir`` (``.jpg``, ``.jpeg``, ``.png``).

    ``model`` is a loaded model or the path of a saved one; images are prepared as in
    training: the central ``crop`` of each (default: the crop recorded beside a saved model by
    :func:`save_model`, else the whole image), resized to the model's input size. Returns a
    DataFrame ``file, p_merger, is_merger`` (p > 0.5), sorted by file name.
    """
    if not hasattr(model, "predict"):
        if crop is None:
            crop = model_view(model)["crop"]
        model = load_model(model)
    crop = 1.0 if crop is None else float(crop)
    folder = Path(images_dir)
    if not folder.is_dir():
        raise ImageError(f"images folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ImageError(f"no .jpg/.jpeg/.png images in {folder}")
    size = int(model.input_shape[1])
    X = load_images(files, size, crop=crop)
    p = predict_proba(model, X, batch_size)
    return pd.DataFrame({"file": [f.name for f in files], "p_merger": p, "is_merger": (p > 0.5).astype(int)})


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m repro.astro.mergers predict MODEL IMAGES_DIR [--out CSV]``."""
    ap = argparse.ArgumentParser(prog="python -m repro.astro.mergers",
                                 description="Score galaxy cutouts with a saved merger classifier.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("predict", help="write a CSV of merger probabilities for a folder of images")
    pp.add_argument("model", help="saved model (.keras), e.g. results/mergers/full/models/transfer_r0_f0.keras")
    pp.add_argument("images_dir", help="folder of .jpg/.jpeg/.png cutouts")
    pp.add_argument("--out", default="-", help="CSV to write (default: standard output)")
    pp.add_argument("--batch-size", type=int, default=64)
    pp.add_argument("--crop", type=float, default=None,
                    help="central share of each image to keep before resizing (default: as recorded with the model)")
    args = ap.parse_args(argv)
    try:
        df = predict(args.model, args.images_dir, args.batch_size, crop=args.crop)
    except ReproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out == "-":
        df.to_csv(sys.stdout, index=False)
    else:
        from ..io import write_text
        write_text(Path(args.out), df.to_csv(index=False))
        print(f"wrote {len(df)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# ------------------------------------------------------------------- experiment helpers
def degraded_images(paths: Sequence, conditions: Sequence[tuple[str, float]], transforms: dict[str, Callable],
                    seed: int, progress: bool = True) -> dict[tuple[str, str], np.ndarray]:
    """Degrade every native image under every condition and transform the result.

    ``conditions``: ``[(kind, level)]`` for :func:`perturb`; ``transforms``: name -> function of a
    float ``(H, W, 3)`` image (e.g. resizing for the CNN, the r band for statmorph). Returns
    ``{(condition name, transform name): stacked arrays}``; the noise of image ``i`` is drawn with
    seed ``(seed, i)``, so every method sees the same degraded pixels.
    """
    from tqdm.auto import tqdm
    out: dict[tuple[str, str], list] = {(condition_name(k, l), t): [] for k, l in conditions for t in transforms}
    for i, p in enumerate(tqdm(paths, desc="degrade", unit="img", disable=not progress)):
        img = decode_jpeg(p)
        for kind, level in conditions:
            x = perturb(img, kind, level, seed=int(np.random.SeedSequence([seed, i]).generate_state(1)[0]))
            for t, f in transforms.items():
                out[(condition_name(kind, level), t)].append(f(x))
    return {k: np.stack(v) for k, v in out.items()}


def condition_name(kind: str, level: float) -> str:
    """``"noise 10"``, ``"blur 3"``, ``"clean"``."""
    return "clean" if kind == "none" else f"{kind} {level:g}"


def predict_saved(model_dir, arms: Sequence[str], splits: list[dict], images: dict[str, np.ndarray],
                  rows: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Score test images of each split with that split's saved model, under several conditions.

    ``images``: condition -> ``(len(rows), s, s, 3)`` arrays for the sample rows ``rows``.
    Only rows in a split's test part are scored by its model. Returns rows ``condition, arm,
    repeat, fold, index, y, p_merger``.
    """
    import keras
    rows = np.asarray(rows)
    pos = {r: i for i, r in enumerate(rows)}
    out = []
    for s in splits:
        te = np.array([r for r in s["test"] if r in pos], dtype=int)
        if len(te) == 0:
            continue
        take = np.array([pos[r] for r in te])
        for arm in arms:
            model = load_model(Path(model_dir) / f"{arm}_r{s['repeat']}_f{s['fold']}.keras")
            for cond, X in images.items():
                out.append(pd.DataFrame({"condition": cond, "arm": arm, "repeat": s["repeat"], "fold": s["fold"],
                                         "index": te, "y": np.asarray(y)[te], "p_merger": predict_proba(model, X[take])}))
            keras.backend.clear_session()
    return pd.concat(out, ignore_index=True)


def paired_bootstrap_diff(y, score_a, score_b, metric: str = "balanced_error", n_boot: int = 1000, seed: int = 0,
                          level: float = 0.95) -> tuple[float, float, float, float]:
    """``(diff, low, high, p)``: metric(a) - metric(b) on the same images, with a paired bootstrap CI.

    ``p`` is the one-sided bootstrap share of resamples with diff <= 0 (evidence that a > b).
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


def preds_to_arrays(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """A predictions table as plain arrays for :meth:`RunContext.save_arrays` (strings as unicode)."""
    out = {}
    for c in df.columns:
        a = df[c].to_numpy()
        out[c] = a.astype(str) if a.dtype == object else a
    return out


def chain_inputs(P, run_dir, progress: bool = True) -> dict:
    """The sample, labels, CNN images, r-band images and CV splits of a ``mergers`` run.

    ``P``: the run's parameters. Decoded images are cached in ``run_dir`` (``.npz``).
    """
    from . import morphology
    labels = load_labels()
    sample = select_sample(labels, P.n_mergers, P.n_nonmergers, P.seed)
    y = sample["is_merger"].to_numpy(int)
    cnn_key, r_key = f"cnn{P.image_size}_c{P.crop:g}", f"rband{P.morph_downsample}"
    factor, size, crop = int(P.morph_downsample), int(P.image_size), float(P.crop)
    name = f"images_m{P.n_mergers}_n{P.n_nonmergers}_s{P.seed}.npz"
    arrays = cached_images(Path(run_dir) / name, sample,
                           {cnn_key: lambda img: cnn_view(img, size, crop),
                            r_key: lambda img: morphology.r_band(img, factor).astype(np.float32)},
                           progress=progress)
    splits = cv_splits(y, P.n_folds, P.n_repeats, P.seed)
    return {"sample": sample, "y": y, "cnn": arrays[cnn_key], "rband": arrays[r_key], "splits": splits}


def train_config(P) -> TrainConfig:
    """The :class:`TrainConfig` of a ``mergers`` run's parameters."""
    return TrainConfig(image_size=P.image_size, crop=P.crop, batch_size=P.batch_size,
                       steps_per_epoch=P.steps_per_epoch, head_epochs=P.head_epochs,
                       finetune_epochs=P.finetune_epochs, head_lr=P.head_lr, finetune_lr=P.finetune_lr,
                       scratch_lr=P.scratch_lr, bn_momentum=P.bn_momentum, patience=P.patience,
                       dense_units=P.dense_units, augment=P.augment, seed=P.seed)

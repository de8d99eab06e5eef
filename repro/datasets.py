"""The real image data sets shared by several chains (MNIST, CIFAR-10), read through :mod:`repro.data`.

Used by the decentralized-training chains (``d2``, ``dcd``, ``adpsgd``), the data market
(``databright``) and the PSFGAN chain's non-astronomical training hosts.

* :func:`load_mnist` — the MNIST test set (10,000 handwritten digits, 28x28) from the IDX
  files of the registered data set ``mnist-test-idx`` (the training images are not in the
  snapshot, so the chains split these 10,000 between training and a held-out set);
* :func:`load_cifar10` — the CIFAR-10 test set (10,000 colour images, 32x32) from the
  per-image JPEGs of ``cifar10-test-jpg`` (re-encoded by the origin, so pixel values differ
  slightly from the official binary batches);
* :func:`cifar10_jpegs` — ``n`` of those JPEG files as raw bytes, drawn at random across the
  classes (the PSFGAN chain decodes them itself).

Images are returned as float32 in [0, 1], labels as int64. Files are found and verified
through :mod:`repro.data`; a missing, corrupted or malformed file raises
:class:`repro.errors.DataError` naming it.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from numbers import Integral

from . import data
from .errors import DataError

__all__ = ["MNIST", "CIFAR10", "CIFAR10_CLASSES", "read_idx", "load_mnist", "load_cifar10",
           "holdout_split", "standardize", "cifar10_file", "cifar10_jpegs", "as_rng"]

MNIST = "mnist-test-idx"
CIFAR10 = "cifar10-test-jpg"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")



def as_rng(rng_or_seed) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a Generator or an integer seed (``None`` is refused)."""
    if isinstance(rng_or_seed, np.random.Generator):
        return rng_or_seed
    if isinstance(rng_or_seed, Integral) and not isinstance(rng_or_seed, bool):
        return np.random.default_rng(int(rng_or_seed))
    raise ValueError(f"rng must be a numpy.random.Generator or an integer seed, got {rng_or_seed!r}")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed), checking its header and size.

    The format: two zero bytes, a type code (0x08 uint8 ... 0x0E float64), the number of
    dimensions, one big-endian int32 per dimension, then the data in C order.

    Raises
    ------
    DataError
        If the file cannot be read or decompressed, its magic number is wrong, or its
        length does not match the header.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path}: IDX header announces shape {shape} ({expected} bytes) but the file has "
                        f"{len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images and labels.

    Returns
    -------
    images : (10000, 28, 28) float32 in [0, 1]
    labels : (10000,) int64 in 0..9
    """
    images = read_idx(data.locate(MNIST, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(data.locate(MNIST, "t10k-labels-idx1-ubyte.gz"))
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
        raise DataError(f"data set '{MNIST}': images {images.shape} and labels {labels.shape} do not match "
                        f"the expected (N, 28, 28) and (N,)")
    return (images.astype(np.float32) / 255.0), labels.astype(np.int64)


def load_cifar10(per_class: int | None = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The CIFAR-10 test images (JPEG-decoded) and labels, classes in the official order.

    Parameters
    ----------
    per_class : int, optional
        Only the first ``per_class`` images (by file name) of every class; all 1,000 by default.
    progress : bool
        Show a tqdm progress bar over classes.

    Returns
    -------
    images : (N, 32, 32, 3) float32 in [0, 1]
    labels : (N,) int64, index into :data:`CIFAR10_CLASSES`
    """
    from PIL import Image, UnidentifiedImageError  # pillow: a dependency of matplotlib
    from tqdm import tqdm

    if per_class is not None and (not isinstance(per_class, int) or per_class < 1):
        raise ValueError(f"per_class must be a positive integer or None, got {per_class!r}")
    imgs, labels = [], []
    for k, cls in enumerate(tqdm(CIFAR10_CLASSES, disable=not progress, desc="cifar10")):
        first = data.locate(CIFAR10, f"test/{cls}/0000.jpg")  # verifies the data set once
        files = sorted(first.parent.glob("*.jpg"))
        if not files:
            raise DataError(f"data set '{CIFAR10}': no JPEG files in {first.parent}")
        for f in files[:per_class]:
            try:
                with Image.open(f) as im:
                    a = np.asarray(im.convert("RGB"))
            except (OSError, UnidentifiedImageError) as exc:
                raise DataError(f"data set '{CIFAR10}': cannot decode {f}: {exc}") from None
            if a.shape != (32, 32, 3):
                raise DataError(f"data set '{CIFAR10}': {f} is {a.shape}, expected (32, 32, 3)")
            imgs.append(a)
            labels.append(k)
    return np.stack(imgs).astype(np.float32) / 255.0, np.array(labels, dtype=np.int64)


def cifar10_file(index: int) -> str:
    """Path, inside ``cifar10-test-jpg``, of test image ``index`` (0..9999; 1,000 per class in order)."""
    if not 0 <= int(index) < 10000:
        raise ValueError(f"CIFAR-10 test index must be in 0..9999, got {index!r}")
    return f"test/{CIFAR10_CLASSES[index // 1000]}/{index % 1000:04d}.jpg"


def cifar10_jpegs(n: int, rng: np.random.Generator, exclude=()) -> tuple[list[bytes], list[str]]:
    """``n`` CIFAR-10 test JPEGs as raw bytes, drawn without replacement across the ten classes.

    Parameters
    ----------
    n : int
        Number of images, 1..10000 (minus the excluded ones).
    rng : numpy.random.Generator
        Draws the images (``rng.choice(10000, n, replace=False)``; with ``exclude``, the same
        draw among the remaining images in their order).
    exclude : iterable of str
        Names (as returned) never to draw, e.g. a training set's, for a disjoint held-out set.

    Returns
    -------
    jpegs : list of bytes
        The files' contents, in the order drawn.
    names : list of str
        Their paths inside the data set, e.g. ``"test/cat/0042.jpg"``.
    """
    excluded = set(exclude)
    pool = [k for k in range(10000) if cifar10_file(k) not in excluded] if excluded else None
    size = 10000 if pool is None else len(pool)
    if not isinstance(n, Integral) or not 1 <= n <= size:
        raise ValueError(f"n must be an integer in 1..{size}, got {n!r}")
    pick = rng.choice(size, size=n, replace=False)
    if pool is not None:
        pick = [pool[int(k)] for k in pick]
    names = [cifar10_file(int(k)) for k in pick]
    return [data.locate(CIFAR10, rel).read_bytes() for rel in names], names


def holdout_split(labels, test_fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split into training and held-out indices (each class split in proportion).

    Returns sorted ``(train_idx, test_idx)``.
    """
    y = np.asarray(labels)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = as_rng(rng)
    train, test = [], []
    for cl in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cl))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def standardize(train, *others, eps: float = 1e-8):
    """Flatten images to ``(N, p)`` and scale every feature by the training mean and std.

    Returns the transformed ``train`` followed by each of ``others`` (same statistics).
    """
    flat = [np.asarray(a, dtype=np.float32).reshape(len(a), -1) for a in (train, *others)]
    mu = flat[0].mean(axis=0)
    sd = flat[0].std(axis=0) + eps
    out = tuple((a - mu) / sd for a in flat)
    return out if others else out[0]

"""The images of the ``mergers`` chain: labels, the sample, decoding, the CNN's view, caches, degradations.

The data set ``galaxyzoo1-sdss-mergers`` holds 2,000 SDSS gri colour cutouts (423 x 423 px JPEGs)
with their Galaxy Zoo 1 class in ``labels.csv``; class 5 is a merger. The CNN sees the central
``crop`` share of a cutout (by side), area-averaged to ``size`` x ``size`` pixels:

    view = area_resize(image[c0:c0 + k, c0:c0 + k], size),   k = round(423 * crop),  c0 = (423 - k) // 2.

Example
-------
>>> import numpy as np
>>> from repro.astro.mergers import images
>>> img = np.zeros((100, 100, 3), np.uint8)
>>> images.center_crop(img, 0.2).shape
(20, 20, 3)
>>> images.perturb(img, "noise", 10.0, seed=0).shape        # Gaussian noise, 8-bit counts
(100, 100, 3)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ... import data
from ...errors import ReproError
from ...io import read_npz, write_npz

__all__ = ["DATASET", "IMAGE_SUFFIXES", "ImageError", "load_labels", "select_sample", "decode_jpeg", "resize",
           "center_crop", "cnn_view", "load_images", "image_paths", "cached_images", "perturb"]

DATASET = "galaxyzoo1-sdss-mergers"
"""The registered data set of cutouts and labels."""
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
"""File suffixes that :func:`repro.astro.mergers.predict` scores in a folder."""


class ImageError(ReproError, ValueError):
    """An image file is missing, unreadable or not an RGB/grey image."""


def load_labels() -> pd.DataFrame:
    """The labels of the data set, one row per image.

    Returns
    -------
    pandas.DataFrame
        ``objid`` (str), ``gz1_class``, ``is_merger`` (0/1), ``filename``.

    Raises
    ------
    repro.data.DataError
        The data set is missing, or ``labels.csv`` lacks one of those columns.
    """
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

    Parameters
    ----------
    labels : pandas.DataFrame
        As :func:`load_labels` returns it.
    n_mergers, n_nonmergers : int or None
        Images of each class; None takes every image of that class.
    seed : int
        Seed of the ``numpy.random.default_rng`` that draws mergers, then non-mergers.

    Returns
    -------
    pandas.DataFrame
        The chosen rows of ``labels`` in their original order, with a fresh index.

    Raises
    ------
    ValueError
        More images of a class are asked for than the data set holds.
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

    Grey images are repeated into three channels; an alpha channel is dropped.

    Parameters
    ----------
    path : str or pathlib.Path
        The image file.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8

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
    """Area-average a stack of images to ``size`` x ``size`` pixels.

    Parameters
    ----------
    images : array_like, shape (n, H, W, 3)
        Pixel values in [0, 255] (any dtype).
    size : int
        Output side in pixels; images already of that size are only rounded.

    Returns
    -------
    numpy.ndarray, shape (n, size, size, 3), uint8
    """
    import tensorflow as tf
    x = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
    if x.shape[1] == size and x.shape[2] == size:
        out = x.numpy()
    else:
        out = tf.image.resize(x, (size, size), method="area", antialias=True).numpy()
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def center_crop(image: np.ndarray, crop: float) -> np.ndarray:
    """The central ``crop`` share (by side) of an image or a stack of images.

    Parameters
    ----------
    image : numpy.ndarray, shape (H, W, C) or (n, H, W, C)
    crop : float
        Share of each side kept, in (0, 1]; 1 returns ``image`` itself.

    Returns
    -------
    numpy.ndarray
        A view of ``image``, ``round(H * crop)`` x ``round(W * crop)`` pixels (at least 1).

    Raises
    ------
    ValueError
        ``crop`` is outside (0, 1].
    """
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
    """What the CNN sees of one native image: its central ``crop`` share, area-averaged to ``size`` px.

    The Galaxy Zoo cutouts are 423 px with the galaxy in the middle third or so; cropping
    before downsampling keeps more pixels on the galaxy for the same network cost.

    Parameters
    ----------
    image : array_like, shape (H, W, 3)
        Pixel values in [0, 255].
    size : int
        Side of the CNN input.
    crop : float
        Central share kept (see :func:`center_crop`).

    Returns
    -------
    numpy.ndarray, shape (size, size, 3), uint8
    """
    return resize(center_crop(np.asarray(image), crop)[None], size)[0]


def load_images(paths: Sequence, size: int | None = None, progress: bool = False,
                crop: float = 1.0) -> np.ndarray:
    """Decode image files and take the CNN's view of each (:func:`cnn_view`).

    Parameters
    ----------
    paths : sequence of path-like
        Image files.
    size : int, optional
        Side of the output; None keeps the (cropped) native size, which must then be the same
        for every image.
    progress : bool
        Show a progress bar.
    crop : float
        Central share of each image kept.

    Returns
    -------
    numpy.ndarray, shape (n, s, s, 3), uint8

    Raises
    ------
    ImageError
        An image cannot be decoded (:func:`decode_jpeg`), or the images differ in shape and no
        ``size`` was given.
    """
    out = []
    it = paths
    if progress:
        from tqdm import tqdm
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
    """Paths of the sample's images in the (verified) data set.

    Parameters
    ----------
    sample : pandas.DataFrame
        Rows of :func:`load_labels` (the ``filename`` column is used).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    repro.data.DataError
        The data set is missing or fails its checksums.
    """
    folder = data.verify(DATASET)
    return [folder / f for f in sample["filename"]]


def cached_images(cache: Path, sample: pd.DataFrame, sizes: dict[str, int | Callable], progress: bool = True) -> dict:
    """Decoded images of ``sample`` in several representations, cached in one ``.npz``.

    The cache is reused only when it holds exactly the same objids and at least the names of
    ``sizes``; otherwise every image is decoded again and the cache rewritten.

    Parameters
    ----------
    cache : pathlib.Path
        The ``.npz`` file.
    sample : pandas.DataFrame
        Rows of :func:`load_labels`.
    sizes : dict
        Name -> a size (RGB, area-averaged by :func:`resize`) or a function of the native
        ``(H, W, 3)`` uint8 image.
    progress : bool
        Show a progress bar while decoding.

    Returns
    -------
    dict
        Name -> stacked array, one entry per image of ``sample``.
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
        from tqdm import tqdm
        it = tqdm(paths, desc="decode + downsample", unit="img")
    for p in it:
        img = decode_jpeg(p)
        for k, s in sizes.items():
            out[k].append(s(img) if callable(s) else resize(img[None], s)[0])
    arrays = {k: np.stack(v) for k, v in out.items()}
    write_npz(cache, objid=objids, **arrays)
    return arrays


def perturb(image: np.ndarray, kind: str, level: float, seed: int) -> np.ndarray:
    """A degraded copy of one native image.

    Parameters
    ----------
    image : array_like, shape (H, W, 3)
        Pixel values in [0, 255].
    kind : {"none", "noise", "blur"}
        ``noise``: add Gaussian noise of standard deviation ``level`` (8-bit counts) to every
        pixel and channel, then clip to [0, 255]; ``blur``: Gaussian blur of ``level`` pixels
        (native scale, borders repeated); ``none``: unchanged.
    level : float
        Strength; 0 leaves the image unchanged.
    seed : int
        Seed of the noise (``numpy.random.default_rng``).

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), float32

    Raises
    ------
    ValueError
        Unknown ``kind``.
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

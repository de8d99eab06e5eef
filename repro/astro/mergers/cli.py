"""Scoring new cutouts with a saved merger classifier, from Python and from the command line.

::

    python -m repro.astro.mergers predict MODEL IMAGES_DIR [--out CSV] [--threshold T] [--batch-size N] [--crop C]

scores every ``.jpg``, ``.jpeg`` and ``.png`` in ``IMAGES_DIR`` with ``MODEL`` (a ``.keras`` file
of :func:`repro.astro.mergers.save_model`), preparing each image as in training: the central crop
recorded beside the model, resized to the model's input. The classifier that ships with the
record is ``results/mergers/full/model/merger_classifier.keras``: the transfer-learning network
trained on all images, with a card (the ``.json`` beside it) that gives the threshold of its
operating point and the rates to expect (``07_model``). ``is_merger`` uses the card's threshold
unless ``--threshold`` is given; a model without one (e.g. a fold model of ``03_train``) is
thresholded at 0.5 with a warning. Errors print one ``error:`` line and exit with status 2.

Example
-------
>>> from repro.astro.mergers import predict
>>> df = predict("results/mergers/full/model/merger_classifier.keras", "my_cutouts/")   # doctest: +SKIP
>>> list(df.columns)                                                                     # doctest: +SKIP
['file', 'p_merger', 'is_merger']
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

import pandas as pd

from ...errors import ReproError
from .cnn import ModelError, load_model, model_view, predict_proba
from .images import IMAGE_SUFFIXES, ImageError, load_images

__all__ = ["SHIPPED_MODEL", "predict", "main"]

SHIPPED_MODEL = "results/mergers/full/model/merger_classifier.keras"
"""Where the classifier that ships with the record lies, relative to the repository root."""


def predict(model, images_dir, batch_size: int = 64, crop: float | None = None,
            threshold: float | None = None) -> pd.DataFrame:
    """Merger probabilities for every image in a folder.

    Parameters
    ----------
    model : keras.Model or path-like
        A loaded classifier or the path of a saved one.
    images_dir : path-like
        Folder of ``.jpg``, ``.jpeg`` and ``.png`` images (other files are ignored).
    batch_size : int
        Images per forward pass.
    crop : float, optional
        Central share of each image kept before resizing to the model's input; default the
        crop recorded beside a saved model (:func:`repro.astro.mergers.model_view`), else the
        whole image.
    threshold : float, optional
        ``is_merger`` is ``p_merger > threshold``; default the card's threshold of a saved
        model, else 0.5 (with a ``UserWarning``: such a model has no stated operating point).

    Returns
    -------
    pandas.DataFrame
        ``file, p_merger, is_merger``, sorted by file name; ``.attrs["threshold"]`` holds the
        threshold used.

    Raises
    ------
    repro.astro.mergers.ModelError
        The model cannot be loaded or its record read.
    repro.astro.mergers.ImageError
        The folder is missing, holds no image, or an image cannot be decoded.
    """
    card = {}
    if not hasattr(model, "predict"):
        card = model_view(model)
        if crop is None:
            crop = card["crop"]
        model = load_model(model)
    crop = 1.0 if crop is None else float(crop)
    if threshold is None:
        threshold = card.get("threshold")
        if threshold is None:
            warnings.warn("the model has no card with an operating threshold: is_merger uses p > 0.5, whose "
                          "false-positive rate is unknown (use the shipped model, " + SHIPPED_MODEL + ")",
                          UserWarning, stacklevel=2)
            threshold = 0.5
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ModelError(f"threshold must be a probability in [0, 1], got {threshold}")
    folder = Path(images_dir)
    if not folder.is_dir():
        raise ImageError(f"images folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ImageError(f"no .jpg/.jpeg/.png images in {folder}")
    size = int(model.input_shape[1])
    X = load_images(files, size, crop=crop)
    p = predict_proba(model, X, batch_size)
    df = pd.DataFrame({"file": [f.name for f in files], "p_merger": p, "is_merger": (p > threshold).astype(int)})
    df.attrs["threshold"] = threshold
    return df


def main(argv: Sequence[str] | None = None) -> int:
    """The command line ``python -m repro.astro.mergers predict MODEL IMAGES_DIR [--out CSV]``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0, or 2 after a one-line ``error:`` message on standard error.
    """
    ap = argparse.ArgumentParser(prog="python -m repro.astro.mergers",
                                 description="Score galaxy cutouts with a saved merger classifier.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("predict", help="write a CSV of merger probabilities for a folder of images")
    pp.add_argument("model", help=f"saved model (.keras), e.g. the shipped {SHIPPED_MODEL}")
    pp.add_argument("images_dir", help="folder of .jpg/.jpeg/.png cutouts")
    pp.add_argument("--out", default="-", help="CSV to write (default: standard output)")
    pp.add_argument("--batch-size", type=int, default=64)
    pp.add_argument("--threshold", type=float, default=None,
                    help="is_merger when p_merger > THRESHOLD (default: the model card's operating threshold)")
    pp.add_argument("--crop", type=float, default=None,
                    help="central share of each image to keep before resizing (default: as recorded with the model)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            df = predict(args.model, args.images_dir, args.batch_size, crop=args.crop, threshold=args.threshold)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
    except ReproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out == "-":
        df.to_csv(sys.stdout, index=False)
    else:
        from ...io import write_text
        write_text(Path(args.out), df.to_csv(index=False))
        print(f"wrote {len(df)} rows to {args.out} (threshold {df.attrs['threshold']:g}, "
              f"{int(df.is_merger.sum())} flagged as mergers)", file=sys.stderr)
    return 0

"""FITS input of the PSFGAN chain: SDSS r-band images and PSFs, with checks that give one clear error.

Everything the PSFGAN chain reads from FITS goes through :func:`read_image`, which checks
the number of axes, the shape, finiteness and the header keys the caller needs, and raises
:class:`FitsInputError` (a :class:`repro.errors.ReproError`) naming the file and the problem.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from ...errors import ReproError

__all__ = ["FitsInputError", "read_image", "header_float"]


class FitsInputError(ReproError, ValueError):
    """A FITS file that cannot be used: unreadable, wrong shape, NaNs, missing header keys."""


def read_image(path, *, hdu: int = 0, require_keys: Sequence[str] = (), min_shape: tuple[int, int] = (1, 1),
               square: bool = False, allow_nan: bool = False) -> tuple[np.ndarray, dict]:
    """Read one 2-D image HDU as float64, with its header as a plain dict.

    Parameters
    ----------
    path : path-like
        FITS file (``.bz2``/``.gz`` are read transparently by astropy).
    hdu : int
        Index of the HDU to read.
    require_keys : sequence of str
        Header keys that must be present (e.g. ``GAIN``); a missing one is an error.
    min_shape : (int, int)
        Smallest allowed (rows, cols).
    square : bool
        Require rows == cols (PSF images).
    allow_nan : bool
        If False, any non-finite pixel is an error.

    Returns
    -------
    data : numpy.ndarray
        The image as float64.
    header : dict
        The HDU's header cards (without COMMENT and HISTORY).

    Raises
    ------
    FitsInputError
        The file cannot be read as FITS, lacks the HDU or image data, or fails one of the checks.
    """
    from astropy.io import fits

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SDSS headers carry non-standard cards
            with fits.open(path, memmap=False) as hl:
                if hdu >= len(hl):
                    raise FitsInputError(f"{path.name}: has {len(hl)} HDU(s), HDU {hdu} was asked for")
                data = hl[hdu].data
                header = {k: hl[hdu].header[k] for k in hl[hdu].header.keys() if k not in ("COMMENT", "HISTORY", "")}
    except FitsInputError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise FitsInputError(f"{path}: cannot be read as FITS ({exc})") from exc
    if data is None:
        raise FitsInputError(f"{path.name}[{hdu}]: the HDU holds no image data")
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise FitsInputError(f"{path.name}[{hdu}]: expected a 2-D image, got shape {data.shape}")
    if data.shape[0] < min_shape[0] or data.shape[1] < min_shape[1]:
        raise FitsInputError(f"{path.name}[{hdu}]: image is {data.shape[0]}x{data.shape[1]}, "
                             f"needs at least {min_shape[0]}x{min_shape[1]}")
    if square and data.shape[0] != data.shape[1]:
        raise FitsInputError(f"{path.name}[{hdu}]: expected a square image, got {data.shape[0]}x{data.shape[1]}")
    if not allow_nan:
        bad = int(np.count_nonzero(~np.isfinite(data)))
        if bad:
            raise FitsInputError(f"{path.name}[{hdu}]: {bad} non-finite pixel(s) (NaN or inf)")
    missing = [k for k in require_keys if k not in header]
    if missing:
        raise FitsInputError(f"{path.name}[{hdu}]: missing header key(s) {', '.join(missing)}")
    return data, header


def header_float(header: dict, key: str, where: str = "") -> float:
    """A header value as float.

    Parameters
    ----------
    header : dict
        A header as returned by :func:`read_image`.
    key : str
        The card to read.
    where : str
        Name of the file, for error messages.

    Returns
    -------
    float

    Raises
    ------
    FitsInputError
        The key is missing or its value is not a number.
    """
    if key not in header:
        raise FitsInputError(f"{where}: missing header key {key}")
    try:
        return float(header[key])
    except (TypeError, ValueError) as exc:
        raise FitsInputError(f"{where}: header key {key} = {header[key]!r} is not a number") from exc

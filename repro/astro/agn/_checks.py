"""Private argument checks and constants shared by the modules of :mod:`repro.astro.agn`."""
from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np

_LN10 = math.log(10.0)
# Frequency range (1/yr) used for "integrals over all frequencies": 1e-24/yr is far below
# the inverse Hubble time (~7e-11/yr), 1e16/yr is a period of ~2 ns.
_F_ALL_LO = 1e-24
_F_ALL_HI = 1e16
# Maximal number of float64 values one chunk of simulated long light curves may hold.
_CHUNK_VALUES = 1 << 22


# --------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------
def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def _check_finite(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _check_psd(psd) -> Callable:
    if not callable(psd):
        raise ValueError(f"psd must be a callable psd(freq) -> power, got {type(psd).__name__}")
    return psd


def _eval_psd(psd: Callable, freq: np.ndarray) -> np.ndarray:
    """Evaluate a user PSD on ``freq`` and check the result (finite, >= 0, right shape)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        power = np.asarray(psd(freq), dtype=float)
    if power.shape != np.shape(freq):
        power = np.broadcast_to(power, np.shape(freq)).astype(float)
    if not np.all(np.isfinite(power)) or np.any(power < 0):
        raise ValueError("psd returned negative or non-finite values on the simulated frequencies")
    return power


def _check_erdf(erdf) -> "GridERDF":
    for attr in ("sample", "ppf", "cdf"):
        if not callable(getattr(erdf, attr, None)):
            raise ValueError(f"erdf must provide sample(), ppf() and cdf() (missing {attr})")
    return erdf


def _as_2d(series, name: str) -> np.ndarray:
    arr = np.asarray(series, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 1-D or 2-D array, got {arr.ndim} dimensions")
    if arr.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 samples per light curve, got {arr.shape[1]}")
    return arr

"""Point-source skies on a :class:`~repro.sparse.operators.SkyGrid`: simulate them, and compare
a recovered sky with the truth or with another map.

Example
-------
>>> import numpy as np
>>> from repro.sparse import operators, skies
>>> grid = operators.sky_grid(21)
>>> x = skies.random_sky(grid, 4, np.random.default_rng(0))
>>> int(np.count_nonzero(x)), skies.support_recovered(x, x), skies.relative_error(x, x)
(4, True, 0.0)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .operators import SkyGrid

__all__ = ["random_sky", "add_noise", "relative_error", "support_recovered", "brightest", "same_sources"]


def random_sky(grid: SkyGrid, s: int, rng: np.random.Generator, min_sep_pix: float = 3.0,
               flux_range: tuple[float, float] = (1.0, 10.0)) -> np.ndarray:
    """An ``s``-sparse non-negative sky of point sources.

    Parameters
    ----------
    grid : SkyGrid
        The pixels.
    s : int
        Number of sources, ``1..grid.n_pixels``.
    rng : numpy.random.Generator
        Draws one permutation of the pixels, then ``s`` uniforms for the fluxes.
    min_sep_pix : float
        Sources are at least this many grid pixels apart.
    flux_range : (float, float)
        Fluxes are log-uniform in this range.

    Returns
    -------
    ndarray, shape (grid.n_pixels,)

    Raises
    ------
    ValueError
        If ``s`` is out of range or ``s`` sources cannot be placed with that separation.
    """
    if s < 1 or s > grid.n_pixels:
        raise ValueError(f"s must be in [1, {grid.n_pixels}] for this grid, got {s}")
    step = 2.0 / (grid.npix - 1)
    chosen: list[int] = []
    for idx in rng.permutation(grid.n_pixels):
        if all(np.hypot(grid.l[idx] - grid.l[j], grid.m[idx] - grid.m[j]) >= min_sep_pix * step for j in chosen):
            chosen.append(int(idx))
            if len(chosen) == s:
                break
    if len(chosen) < s:
        raise ValueError(f"cannot place {s} sources {min_sep_pix} pixels apart on a {grid.npix}-pixel grid")
    x = np.zeros(grid.n_pixels)
    lo, hi = np.log(flux_range[0]), np.log(flux_range[1])
    x[chosen] = np.exp(rng.uniform(lo, hi, s))
    return x


def add_noise(clean: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``clean`` plus white Gaussian noise with ``||noise|| = fraction * ||clean||``.

    Parameters
    ----------
    clean : ndarray
        Noiseless measurements.
    fraction : float
        Noise-to-signal ratio of the norms, ``>= 0`` (e.g. the real snapshot's,
        :func:`repro.sparse.station.radiometer_noise_fraction`).
    rng : numpy.random.Generator
        Draws ``clean.size`` standard normals.

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        If ``fraction < 0``.
    """
    if fraction < 0:
        raise ValueError(f"noise fraction must be >= 0, got {fraction}")
    noise = rng.standard_normal(clean.shape)
    return clean + noise * (fraction * np.linalg.norm(clean) / np.linalg.norm(noise))


def relative_error(x_hat: np.ndarray, x: np.ndarray) -> float:
    """``||x_hat - x|| / ||x||``.

    Parameters
    ----------
    x_hat, x : ndarray
        Estimate and reference (non-zero).

    Returns
    -------
    float
    """
    return float(np.linalg.norm(x_hat - x) / np.linalg.norm(x))


def support_recovered(x_hat: np.ndarray, x: np.ndarray) -> bool:
    """Whether the non-zero pixels of ``x_hat`` are exactly those of ``x``.

    Parameters
    ----------
    x_hat, x : ndarray
        Estimate and truth.

    Returns
    -------
    bool
    """
    return bool(np.array_equal(np.flatnonzero(x_hat), np.flatnonzero(x)))


def brightest(x: np.ndarray, grid: SkyGrid, k: int) -> pd.DataFrame:
    """The ``k`` brightest pixels of a sky.

    Parameters
    ----------
    x : ndarray, shape (grid.n_pixels,)
        The sky.
    grid : SkyGrid
        Its pixels.
    k : int
        How many.

    Returns
    -------
    pandas.DataFrame
        Columns ``pixel, l, m, flux``, brightest first.
    """
    idx = np.argsort(x)[::-1][:k]
    return pd.DataFrame({"pixel": idx, "l": grid.l[idx], "m": grid.m[idx], "flux": x[idx]})


def same_sources(a: pd.DataFrame, b: pd.DataFrame, tol: float) -> bool:
    """Whether every source of ``a`` has one in ``b`` within ``tol`` in (l, m).

    Parameters
    ----------
    a, b : pandas.DataFrame
        Sources with columns ``l`` and ``m`` (:func:`brightest`).
    tol : float
        Largest distance in direction cosines.

    Returns
    -------
    bool
    """
    d = np.hypot(a["l"].to_numpy()[:, None] - b["l"].to_numpy()[None, :],
                 a["m"].to_numpy()[:, None] - b["m"].to_numpy()[None, :])
    return bool(np.all(d.min(axis=1) <= tol))

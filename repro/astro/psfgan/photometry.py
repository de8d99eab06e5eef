"""Photometry in SDSS nanomaggies: magnitudes and circular-aperture fluxes.

Every image of the PSFGAN chain is in SDSS nanomaggies per pixel, sky subtracted, at the SDSS
pixel scale of 0.396" per pixel. A flux ``f`` in nanomaggies has the magnitude

    m = 22.5 - 2.5 log10(f),

and fluxes are measured in a circular aperture with exact pixel overlap (photutils), the same
aperture for the true host, the GAN's output and the fitted Sérsic component.

Example
-------
>>> round(float(flux_to_mag(100.0)), 6)
17.5
>>> round(float(mag_to_flux(17.5)), 6)
100.0
"""
from __future__ import annotations

import numpy as np

__all__ = ["ZP_NMGY", "PIXEL_SCALE", "flux_to_mag", "mag_to_flux", "aperture_flux"]

ZP_NMGY = 22.5
"""Magnitude of a flux of one nanomaggy."""
PIXEL_SCALE = 0.396
"""SDSS pixel scale in arcseconds per pixel."""


def flux_to_mag(flux):
    """Nanomaggies to AB-like magnitudes, ``22.5 - 2.5 log10(flux)``.

    Parameters
    ----------
    flux : float or array_like
        Flux in nanomaggies.

    Returns
    -------
    numpy.ndarray
        Magnitudes (a 0-d array for a scalar); NaN where ``flux <= 0``.
    """
    f = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = ZP_NMGY - 2.5 * np.log10(f)
    return np.where(f > 0, m, np.nan)


def mag_to_flux(mag):
    """Magnitudes to nanomaggies, the inverse of :func:`flux_to_mag`.

    Parameters
    ----------
    mag : float or array_like
        AB-like magnitudes.

    Returns
    -------
    numpy.ndarray
        Flux in nanomaggies, ``10 ** (-0.4 (mag - 22.5))``.
    """
    return 10 ** (-0.4 * (np.asarray(mag, dtype=np.float64) - ZP_NMGY))


def aperture_flux(images, radius: float, centre: tuple[float, float] | None = None):
    """Flux in a circular aperture (photutils, exact pixel overlap) for one image or a stack.

    Parameters
    ----------
    images : array_like, shape (H, W) or (N, H, W)
        One image or a stack of images of equal shape.
    radius : float
        Aperture radius in pixels.
    centre : (float, float), optional
        Aperture centre as (row, col); default the centre pixel ``(H // 2, H // 2)``.

    Returns
    -------
    float or numpy.ndarray
        The aperture sum for one image, or an array of N sums for a stack.
    """
    from photutils.aperture import CircularAperture, aperture_photometry

    arr = np.asarray(images, dtype=np.float64)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    n = arr.shape[1]
    c = (n // 2, n // 2) if centre is None else centre
    ap = CircularAperture([(c[1], c[0])], r=radius)  # photutils uses (x, y)
    out = np.array([float(aperture_photometry(a, ap, method="exact")["aperture_sum"][0]) for a in arr])
    return out[0] if single else out

"""Point-spread functions: loading, normalising, centring, resizing, dihedral views, and a
concentric Gaussian-mixture model whose widths can be scaled (the ±50 % PSF-mismatch test).

A PSF here is a 2-D float64 array of odd size whose pixels sum to 1 and whose centroid is at
the centre pixel ``(n // 2, n // 2)``. The mixture model is

    P(r) = sum_k w_k / (2 pi s_k²) exp(-r² / (2 s_k²)),    sum_k w_k = 1,

integrated over pixels on an oversampled grid; multiplying every ``s_k`` by a factor makes the
PSF that much wider (or narrower) without the aliasing a resampling of the pixels would bring.

Example
-------
>>> gm = GaussianMixturePSF(weights=(1.0,), sigmas=(2.0,))
>>> round(moment_fwhm(gm.render(41)), 1)      # 2.3548 sigma, widened a little by the pixels
4.8
>>> round(moment_fwhm(gm.render(41, width_factor=1.5)), 1)
7.1
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from ...errors import ReproError
from .fits_io import FitsInputError, read_image

__all__ = ["PSFError", "GaussianMixturePSF", "normalize", "centroid", "fit_size", "recentre", "load_psf",
           "moment_fwhm", "transform", "fit_gaussian_mixture"]


class PSFError(ReproError, ValueError):
    """A PSF that cannot be used (non-positive sum, bad size, failed fit)."""


def normalize(psf: np.ndarray, clip_negative: bool = True) -> np.ndarray:
    """Clip negative pixels (SDSS read_PSF outputs have small ones) and scale to sum 1.

    Parameters
    ----------
    psf : numpy.ndarray
        A 2-D PSF image.
    clip_negative : bool
        Set negative pixels to 0 first.

    Returns
    -------
    numpy.ndarray
        A float64 copy that sums to 1.

    Raises
    ------
    PSFError
        Not 2-D, non-finite pixels, or no positive flux.
    """
    p = np.asarray(psf, dtype=np.float64).copy()
    if p.ndim != 2:
        raise PSFError(f"a PSF must be 2-D, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise PSFError("the PSF has non-finite pixels")
    if clip_negative:
        p[p < 0] = 0.0
    s = p.sum()
    if not s > 0:
        raise PSFError("the PSF has no positive flux")
    return p / s


def centroid(img: np.ndarray) -> tuple[float, float]:
    """First-moment centroid of the positive part of an image.

    Parameters
    ----------
    img : numpy.ndarray
        A 2-D image with some positive flux.

    Returns
    -------
    (float, float)
        Row and column of the centroid.
    """
    w = np.clip(img, 0, None)
    yy, xx = np.indices(img.shape)
    s = w.sum()
    return float((w * yy).sum() / s), float((w * xx).sum() / s)


def fit_size(psf: np.ndarray, size: int) -> np.ndarray:
    """Crop or zero-pad a centred square PSF to ``size`` x ``size``, keeping the centre pixel.

    Parameters
    ----------
    psf : numpy.ndarray
        A square PSF with its centre on pixel ``(n // 2, n // 2)``.
    size : int
        The new side (odd).

    Returns
    -------
    numpy.ndarray, shape (size, size)
        Not renormalised.

    Raises
    ------
    PSFError
        ``size`` is even.
    """
    if size % 2 == 0:
        raise PSFError(f"PSF size must be odd, got {size}")
    n = psf.shape[0]
    c = n // 2
    h = size // 2
    out = np.zeros((size, size))
    lo = max(c - h, 0)
    hi = min(c + h + 1, n)
    out[h - (c - lo):h + (hi - c), h - (c - lo):h + (hi - c)] = psf[lo:hi, lo:hi]
    return out


def recentre(psf: np.ndarray, size: int | None = None) -> np.ndarray:
    """Shift a PSF (Fourier shift, sub-pixel) so its centroid sits on the centre pixel.

    An even-sized PSF is first padded by one row and column of zeros to odd size; the
    shift is iterated up to three times, since the positive-part centroid moves a little
    after each shift.

    Parameters
    ----------
    psf : numpy.ndarray
        A square PSF image.
    size : int, optional
        Crop or pad the result to this odd side (:func:`fit_size`) and renormalise.

    Returns
    -------
    numpy.ndarray
        The centred PSF, sum 1.

    Raises
    ------
    PSFError
        Not square, not 2-D, non-finite, no positive flux, or an even ``size``.
    """
    p = normalize(psf)
    if p.shape[0] != p.shape[1]:
        raise PSFError(f"a PSF must be square, got {p.shape}")
    if p.shape[0] % 2 == 0:  # make odd by padding one row/col of zeros
        p = np.pad(p, ((0, 1), (0, 1)))
    n = p.shape[0]
    c = n // 2
    for _ in range(3):
        cy, cx = centroid(p)
        dy, dx = c - cy, c - cx
        if abs(dy) < 1e-3 and abs(dx) < 1e-3:
            break
        p = np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(p), (dy, dx))))
        p = normalize(p)
    if size is not None:
        p = normalize(fit_size(p, size))
    return p


def load_psf(path, hdu: int = 0, size: int = 51) -> np.ndarray:
    """Read a PSF image from FITS, remove its pedestal, normalise, centre and resize it.

    SDSS PSF images may sit on a soft bias (1000) or a small pedestal: the median of the
    border pixels is subtracted first.

    Parameters
    ----------
    path : path-like
        FITS file.
    hdu : int
        HDU holding the image.
    size : int
        Side of the returned PSF (odd).

    Returns
    -------
    numpy.ndarray, shape (size, size)
        The PSF, sum 1, centred.

    Raises
    ------
    FitsInputError
        The file cannot be read, is not a square image of at least 5x5 pixels, or is not a
        usable PSF.
    """
    data, _ = read_image(path, hdu=hdu, min_shape=(5, 5), square=True)
    border = np.concatenate([data[0], data[-1], data[1:-1, 0], data[1:-1, -1]])
    data = data - np.median(border)
    try:
        return recentre(data, size)
    except PSFError as exc:
        raise FitsInputError(f"{path}: not a usable PSF ({exc})") from exc


def moment_fwhm(psf: np.ndarray) -> float:
    """FWHM in pixels of the circular Gaussian with the same second moments.

    Parameters
    ----------
    psf : numpy.ndarray
        A 2-D image (negative pixels are ignored).

    Returns
    -------
    float
        ``2.3548 sqrt((var_row + var_col) / 2)``.
    """
    p = np.clip(psf, 0, None)
    cy, cx = centroid(p)
    yy, xx = np.indices(p.shape)
    s = p.sum()
    var = (((yy - cy) ** 2 + (xx - cx) ** 2) * p).sum() / s / 2.0
    return float(2.3548200450309493 * np.sqrt(var))


def transform(img: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 dihedral views: rotation by ``k`` x 90°, mirrored for ``k >= 4``.

    An odd-sized image keeps its centre pixel in every view.

    Parameters
    ----------
    img : numpy.ndarray
        A 2-D image, or a stack whose last two axes are the image's.
    k : int
        View index, 0..7 (0 is the image itself).

    Returns
    -------
    numpy.ndarray
        A contiguous copy.

    Raises
    ------
    ValueError
        ``k`` outside 0..7.
    """
    if not 0 <= k < 8:
        raise ValueError(f"view index must be in 0..7, got {k}")
    out = np.rot90(img, k % 4, axes=(-2, -1))
    if k >= 4:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


# ------------------------------------------------------------------ Gaussian mixture
@dataclass(frozen=True)
class GaussianMixturePSF:
    """Concentric circular Gaussians (see the module docstring).

    Attributes
    ----------
    weights : tuple of float
        Weights of the components, summing to 1.
    sigmas : tuple of float
        Their standard deviations in pixels.
    """

    weights: tuple[float, ...]
    sigmas: tuple[float, ...]

    def render(self, size: int = 51, width_factor: float = 1.0, oversample: int = 5) -> np.ndarray:
        """Pixel-integrated image of the mixture with every sigma multiplied by ``width_factor``.

        Parameters
        ----------
        size : int
            Side of the image (odd); the mixture is centred on the centre pixel.
        width_factor : float
            Factor on every sigma (1 = the fitted PSF, 1.5 = 50 % wider).
        oversample : int
            Sub-pixels per pixel side for the pixel integration.

        Returns
        -------
        numpy.ndarray, shape (size, size)
            Sum 1.

        Raises
        ------
        PSFError
            ``width_factor <= 0``.
        """
        if width_factor <= 0:
            raise PSFError(f"width_factor must be positive, got {width_factor}")
        return _render_mixture(np.asarray(self.weights), np.asarray(self.sigmas) * width_factor, size, oversample)


def _render_mixture(w: np.ndarray, s: np.ndarray, size: int, oversample: int) -> np.ndarray:
    c = size // 2
    sub = (np.arange(size * oversample) + 0.5) / oversample - 0.5 - c
    r2 = sub[:, None] ** 2 + sub[None, :] ** 2
    img = np.zeros_like(r2)
    for wi, si in zip(w, s):
        img += wi / (2 * np.pi * si ** 2) * np.exp(-0.5 * r2 / si ** 2)
    img = img.reshape(size, oversample, size, oversample).mean(axis=(1, 3))
    return img / img.sum()


def fit_gaussian_mixture(psf: np.ndarray, n_components: int = 3, oversample: int = 3) -> GaussianMixturePSF:
    """Least-squares fit of concentric circular Gaussians to a centred PSF.

    The model is pixel-integrated (``oversample`` sub-pixels per side) so that narrow cores
    are represented fairly; the start values spread the sigmas geometrically from 0.7 to 2.5
    times the PSF's moment sigma.

    Parameters
    ----------
    psf : numpy.ndarray
        A centred PSF.
    n_components : int
        Number of Gaussians.
    oversample : int
        Sub-pixels per pixel side in the fit.

    Returns
    -------
    GaussianMixturePSF
        Components sorted by increasing sigma.

    Raises
    ------
    PSFError
        A PSF that :func:`normalize` rejects, or an optimiser failure.
    """
    p = normalize(psf)
    size = p.shape[0]
    fw = max(moment_fwhm(p), 1.0)
    s0 = fw / 2.3548 * np.geomspace(0.7, 2.5, n_components)
    x0 = np.concatenate([np.zeros(n_components), np.log(s0)])

    def model(x):
        w = np.exp(x[:n_components])
        w = w / w.sum()
        return _render_mixture(w, np.exp(x[n_components:]), size, oversample)

    res = optimize.least_squares(lambda x: (model(x) - p).ravel(), x0, method="trf", max_nfev=400)
    if not res.success and res.status <= 0:
        raise PSFError(f"Gaussian-mixture fit failed: {res.message}")
    w = np.exp(res.x[:n_components])
    w = w / w.sum()
    s = np.exp(res.x[n_components:])
    order = np.argsort(s)
    return GaussianMixturePSF(tuple(float(v) for v in w[order]), tuple(float(v) for v in s[order]))

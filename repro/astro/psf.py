"""Point-spread functions for the PSFGAN chain: loading, normalising, centring, resizing,
a concentric Gaussian-mixture fit, and width scaling (the ±50 % PSF-mismatch test).

A PSF here is a 2-D float64 array of odd size whose pixels sum to 1 and whose centroid is at
the centre pixel ``(n // 2, n // 2)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from ..errors import ReproError
from .fits_io import FitsInputError, read_image


class PSFError(ReproError, ValueError):
    """A PSF that cannot be used (non-positive sum, bad size, failed fit)."""


def normalize(psf: np.ndarray, clip_negative: bool = True) -> np.ndarray:
    """Clip small negative pixels (SDSS read_PSF outputs have them) and scale to sum 1."""
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
    """First-moment centroid (row, col) of the positive part of ``img``."""
    w = np.clip(img, 0, None)
    yy, xx = np.indices(img.shape)
    s = w.sum()
    return float((w * yy).sum() / s), float((w * xx).sum() / s)


def fit_size(psf: np.ndarray, size: int) -> np.ndarray:
    """Crop or zero-pad a centred PSF to ``size`` x ``size`` (odd), keeping the centre pixel."""
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
    """Shift a PSF (Fourier shift, sub-pixel) so its centroid sits on the centre pixel; odd size."""
    p = normalize(psf)
    if p.shape[0] != p.shape[1]:
        raise PSFError(f"a PSF must be square, got {p.shape}")
    if p.shape[0] % 2 == 0:  # make odd by padding one row/col of zeros
        p = np.pad(p, ((0, 1), (0, 1)))
    n = p.shape[0]
    c = n // 2
    # iterate: the positive-part centroid moves a little after a shift
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
    """Read a PSF image from FITS, normalise it, centre it and crop/pad it to ``size``."""
    data, _ = read_image(path, hdu=hdu, min_shape=(5, 5), square=True)
    # SDSS PSF images may sit on a soft bias (1000) or a small pedestal: remove the border median
    border = np.concatenate([data[0], data[-1], data[1:-1, 0], data[1:-1, -1]])
    data = data - np.median(border)
    try:
        return recentre(data, size)
    except PSFError as exc:
        raise FitsInputError(f"{path}: not a usable PSF ({exc})") from exc


def moment_fwhm(psf: np.ndarray) -> float:
    """FWHM in pixels of the Gaussian with the same second moments (circularised)."""
    p = np.clip(psf, 0, None)
    cy, cx = centroid(p)
    yy, xx = np.indices(p.shape)
    s = p.sum()
    var = (((yy - cy) ** 2 + (xx - cx) ** 2) * p).sum() / s / 2.0
    return float(2.3548200450309493 * np.sqrt(var))


def transform(img: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 dihedral views (k in 0..7): rotation by k*90 deg, mirrored for k >= 4."""
    if not 0 <= k < 8:
        raise ValueError(f"view index must be in 0..7, got {k}")
    out = np.rot90(img, k % 4)
    if k >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


# ------------------------------------------------------------------ Gaussian mixture
@dataclass(frozen=True)
class GaussianMixturePSF:
    """Concentric circular Gaussians: weights (sum 1) and sigmas in pixels."""

    weights: tuple[float, ...]
    sigmas: tuple[float, ...]

    def render(self, size: int = 51, width_factor: float = 1.0, oversample: int = 5) -> np.ndarray:
        """Pixel-integrated image (sum 1) with every sigma multiplied by ``width_factor``."""
        if width_factor <= 0:
            raise PSFError(f"width_factor must be positive, got {width_factor}")
        return _render_mixture(np.asarray(self.weights), np.asarray(self.sigmas) * width_factor, size, oversample)

    @property
    def fwhm(self) -> float:
        return moment_fwhm(self.render())


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
    """Least-squares fit of ``n_components`` concentric circular Gaussians to a centred PSF.

    The model is pixel-integrated (``oversample`` sub-pixels per side) so that narrow
    cores are represented fairly. Raises :class:`PSFError` when the optimiser fails.
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


def scale_width(psf: np.ndarray, factor: float, n_components: int = 3) -> np.ndarray:
    """A PSF ``factor`` times as wide: the Gaussian-mixture fit rendered with scaled sigmas.

    Going through the mixture keeps narrowed PSFs correctly pixel-integrated (a plain
    resampling of the pixels would alias when ``factor`` < 1).
    """
    gm = fit_gaussian_mixture(psf, n_components)
    return gm.render(psf.shape[0], width_factor=factor)

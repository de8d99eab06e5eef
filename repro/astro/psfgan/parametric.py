"""The parametric baseline of PSFGAN: a two-component fit (GALFIT's role in the paper) with
pyimfit, the Python binding of the open Imfit engine.

Model: a Sérsic host convolved with the PSF plus a point source (the PSF scaled by I_tot), both
at one free centre. The host flux is the convolved Sérsic component summed in the same
photometry aperture as the truth; the point-source flux is I_tot. Fits that fail (solver error,
no convergence, parameters on their limits, non-positive fluxes) are FLAGGED in the result,
never dropped: the caller decides how to count them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import special

from ...errors import ReproError
from .photometry import aperture_flux

__all__ = ["FitError", "TwoComponentFit", "model_lines", "fit_two_component", "fit_many", "fits_to_arrays"]


class FitError(ReproError, ValueError):
    """Bad input to the two-component fit (shapes, non-finite pixels, bad PSF)."""


@dataclass
class TwoComponentFit:
    """The result of one two-component fit; a failed fit has ``ok`` False and says why.

    Attributes
    ----------
    ok : bool
        Converged, positive fluxes, no shape parameter (n, r_e, ell) on a limit.
    status : str
        ``"ok"``, or why not (``"fit error: ..."``, ``"not converged"``, ``"non-positive flux"``,
        ``"on limit: ..."``).
    host_flux : float
        The convolved Sérsic component in the photometry aperture (nanomaggies).
    ps_flux : float
        Total flux of the point source (nanomaggies).
    sersic_total : float
        Total flux of the Sérsic component to infinity (nanomaggies).
    n, r_e, ell : float
        Sérsic index, effective radius (pixels) and ellipticity.
    x0, y0 : float
        Fitted centre (0-based pixel coordinates).
    chi2_red : float
        Reduced chi².
    seconds : float
        Wall time of the fit.
    """

    ok: bool
    status: str
    host_flux: float
    ps_flux: float
    sersic_total: float
    n: float
    r_e: float
    ell: float
    x0: float
    y0: float
    chi2_red: float
    seconds: float


def _sersic_ie(total: float, n: float, r_e: float, q: float) -> float:
    bn = float(special.gammaincinv(2 * n, 0.5))
    return total / (2 * np.pi * n * r_e ** 2 * q * np.exp(bn) * bn ** (-2 * n) * special.gamma(2 * n))


def model_lines(size: int, total_flux: float, n0: float = 2.0, re0: float = 6.0,
                ps_share: float = 0.5, centre_box: float = 3.0) -> list[str]:
    """Imfit configuration of the two-component model, with initial values and limits.

    Parameters
    ----------
    size : int
        Side of the stamp; the centre starts on its centre pixel.
    total_flux : float
        Total flux of the stamp, split between the components for the start values.
    n0, re0 : float
        Start Sérsic index and effective radius (pixels).
    ps_share : float
        Share of ``total_flux`` the point source starts with.
    centre_box : float
        Half-width in pixels of the box the centre may move in.

    Returns
    -------
    list of str
        Lines for :func:`pyimfit.parse_config`.
    """
    c = size // 2 + 1.0  # Imfit pixel coordinates are 1-based
    tot = max(float(total_flux), 1e-6)
    ie = _sersic_ie((1 - ps_share) * tot, n0, re0, 0.8)
    return [
        f"X0   {c}   {c - centre_box},{c + centre_box}",
        f"Y0   {c}   {c - centre_box},{c + centre_box}",
        "FUNCTION PointSource",
        f"I_tot   {ps_share * tot:.6g}   0,{20 * tot:.6g}",
        "FUNCTION Sersic",
        "PA   0   -360,360",
        "ell   0.2   0,0.9",
        f"n   {n0}   0.3,8",
        f"I_e   {ie:.6g}   0,{1e4 * ie:.6g}",
        f"r_e   {re0}   0.5,{size:.1f}",
    ]


def fit_two_component(image: np.ndarray, psf: np.ndarray, noise_sigma: float, gain: float, *,
                      aperture_radius: float = 28.0, threads: int = 1, ftol: float = 1e-5) -> TwoComponentFit:
    """Fit Sérsic*PSF + point source to one stamp centred on its nucleus.

    The error image is ``sqrt(noise_sigma² + max(image, 0) / gain)``.

    Parameters
    ----------
    image : numpy.ndarray, shape (N, N)
        Nanomaggies, sky subtracted.
    psf : numpy.ndarray, shape (M, M)
        The PSF the fitter is GIVEN (normalised by Imfit).
    noise_sigma : float
        Background 1-sigma per pixel (nanomaggies).
    gain : float
        Electrons per nanomaggy, for the source Poisson term of the error image.
    aperture_radius : float
        Radius in pixels of the aperture of the host flux.
    threads : int
        Imfit's threads.
    ftol : float
        Relative chi² tolerance of the Levenberg-Marquardt solver (1e-5 stops like GALFIT's
        default criterion; 1e-8 made some fits run into the 1000-iteration cap).

    Returns
    -------
    TwoComponentFit
        Always: an error inside the engine gives a result with ``ok`` False.

    Raises
    ------
    FitError
        A non-square or non-finite image, a bad PSF, or non-positive ``noise_sigma``/``gain``.
    """
    import pyimfit

    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or img.shape[0] != img.shape[1]:
        raise FitError(f"image must be square 2-D, got {img.shape}")
    if not np.all(np.isfinite(img)):
        raise FitError("image has non-finite pixels")
    p = np.asarray(psf, dtype=np.float64)
    if p.ndim != 2 or not np.all(np.isfinite(p)) or not p.sum() > 0:
        raise FitError("PSF must be a finite 2-D image with positive sum")
    if not (noise_sigma > 0 and gain > 0):
        raise FitError(f"noise_sigma and gain must be positive, got {noise_sigma}, {gain}")
    size = img.shape[0]
    err = np.sqrt(noise_sigma ** 2 + np.clip(img, 0, None) / gain)
    total = aperture_flux(img, aperture_radius)
    t0 = time.perf_counter()
    status = "ok"
    try:
        model = pyimfit.parse_config(model_lines(size, total))
        fitter = pyimfit.Imfit(model, psf=p, maxThreads=threads)
        fitter.fit(img, error=err, solver="LM", ftol=ftol)
        params = np.array(fitter.getRawParameters(), dtype=np.float64)
        names = fitter.numberedParameterNames
        converged = bool(fitter.fitConverged)
        chi2 = float(fitter.reducedFitStatistic)
        host_params = params.copy()
        i_tot = names.index("I_tot_1")
        host_params[i_tot] = 0.0
        host_img = fitter.getModelImage(newParameters=host_params)
        _, comp = fitter.getModelFluxes()
    except Exception as exc:  # the engine's errors are plain RuntimeError/ValueError
        return TwoComponentFit(False, f"fit error: {exc}", np.nan, np.nan, np.nan, np.nan, np.nan, np.nan,
                               np.nan, np.nan, np.nan, time.perf_counter() - t0)
    secs = time.perf_counter() - t0
    val = dict(zip(names, params))
    host_flux = float(aperture_flux(host_img, aperture_radius))
    ps_flux = float(val["I_tot_1"])
    if not converged:
        status = "not converged"
    elif not (ps_flux > 0 and host_flux > 0):
        status = "non-positive flux"
    else:
        lims = fitter.getParameterLimits()
        at = [nm for nm, v, lim in zip(names, params, lims)
              if lim is not None and nm.split("_")[0] in ("n", "r", "ell") and
              (abs(v - lim[0]) < 1e-6 * max(1, abs(lim[0])) or abs(v - lim[1]) < 1e-6 * max(1, abs(lim[1])))]
        if at:
            status = "on limit: " + ", ".join(at)
    return TwoComponentFit(status == "ok", status, host_flux, ps_flux, float(comp[1]), float(val["n_2"]),
                           float(val["r_e_2"]), float(val["ell_2"]), float(val["X0_1"]) - 1, float(val["Y0_1"]) - 1,
                           chi2, secs)


def fit_many(images: np.ndarray, psfs, psf_index, noise_sigma, gain, *, aperture_radius: float = 28.0,
             ftol: float = 1e-5, threads: int = 1, progress: bool = True,
             desc: str = "pyimfit") -> list[TwoComponentFit]:
    """:func:`fit_two_component` on every stamp; one result per stamp, failures flagged.

    Parameters
    ----------
    images : numpy.ndarray, shape (K, N, N)
        The stamps.
    psfs : sequence of numpy.ndarray
        PSFs; stamp ``i`` is fitted with ``psfs[psf_index[i]]``.
    psf_index : sequence of int
        One PSF index per stamp.
    noise_sigma, gain : float or array_like, shape (K,)
        As in :func:`fit_two_component`, one per stamp or one for all.
    aperture_radius, ftol, threads
        As in :func:`fit_two_component`.
    progress : bool
        Show a progress bar.
    desc : str
        Label of the progress bar.

    Returns
    -------
    list of TwoComponentFit
    """
    from tqdm.auto import tqdm

    n = len(images)
    noise_sigma = np.broadcast_to(np.asarray(noise_sigma, dtype=np.float64), (n,))
    gain = np.broadcast_to(np.asarray(gain, dtype=np.float64), (n,))
    return [fit_two_component(images[i], psfs[psf_index[i]], float(noise_sigma[i]), float(gain[i]),
                              aperture_radius=aperture_radius, ftol=ftol, threads=threads)
            for i in tqdm(range(n), desc=desc, disable=not progress)]


def fits_to_arrays(fits: list[TwoComponentFit]) -> dict:
    """Column arrays of a list of fits (for ``run.save_arrays``).

    Parameters
    ----------
    fits : list of TwoComponentFit

    Returns
    -------
    dict
        One float64 array per numeric field, ``ok`` (bool) and ``status`` (str).
    """
    cols = ("host_flux", "ps_flux", "sersic_total", "n", "r_e", "ell", "x0", "y0", "chi2_red", "seconds")
    out = {c: np.array([getattr(f, c) for f in fits], dtype=np.float64) for c in cols}
    out["ok"] = np.array([f.ok for f in fits], dtype=bool)
    out["status"] = np.array([f.status for f in fits], dtype=str)
    return out

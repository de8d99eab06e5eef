r"""Structure functions: of unevenly and evenly sampled light curves, of a DRW, of a PSD.

The structure function (SF) is the rms change of a light curve over a time lag
:math:`\Delta t`. Measured: :func:`structure_function` (one uneven light curve, noise
corrected), :func:`structure_function_ensemble` and :func:`structure_function_robust` (pooled
over several, the latter outlier resistant), :func:`structure_function_even` (evenly sampled
simulations, :math:`O(n)` per lag). Models: :func:`drw_structure_function` and
:func:`ensemble_drw_sf` (damped random walks, [M10]_), :func:`analytic_sf` (a stationary
Gaussian process with a given PSD). Magnitudes are :math:`m = -2.5\log_{10}\lambda + {\rm
const}`, so an SF in magnitudes is 2.5 times that of :math:`\log_{10}\lambda`. The references
are listed in :mod:`repro.astro.agn`.

Example
-------
>>> import numpy as np
>>> from repro.astro.agn import structure_functions as sfm
>>> x = np.random.default_rng(0).standard_normal((4, 4096))       # white noise, variance 1
>>> np.round(sfm.structure_function_even(x, 1.0, [1.0, 100.0], scale=1.0), 1)   # sqrt(2)
array([1.4, 1.4])
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._checks import _CHUNK_VALUES, _F_ALL_HI, _as_2d, _check_positive, _check_psd
from .psd import _cut_psd, _psd_total, psd_integral

__all__ = ["structure_function", "structure_function_ensemble", "structure_function_robust",
           "structure_function_even", "drw_structure_function", "ensemble_drw_sf", "analytic_sf"]


def _check_bins(bins) -> np.ndarray:
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError("bins must be a 1-D array of at least 2 bin edges")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be finite and strictly increasing")
    return edges


def _check_curve(t, mag, mag_err):
    t = np.asarray(t, dtype=float)
    mag = np.asarray(mag, dtype=float)
    if t.ndim != 1 or mag.shape != t.shape:
        raise ValueError(
            f"t and mag must be 1-D arrays of the same length, got {t.shape}, {mag.shape}"
        )
    if t.size < 2:
        raise ValueError(f"a light curve needs at least 2 epochs, got {t.size}")
    if mag_err is not None:
        mag_err = np.asarray(mag_err, dtype=float)
        if mag_err.shape != t.shape:
            raise ValueError(f"mag_err must have the shape of t, got {mag_err.shape}")
    good = np.isfinite(t) & np.isfinite(mag)
    if mag_err is not None:
        good &= np.isfinite(mag_err)
    return t[good], mag[good], (None if mag_err is None else mag_err[good])


def _check_curves(curves) -> list:
    """``curves`` as checked ``(t, mag, mag_err)`` of at least 2 epochs each (shorter ones dropped)."""
    if isinstance(curves, np.ndarray) or not isinstance(curves, Sequence) or len(curves) == 0:
        raise ValueError("curves must be a non-empty list of (t, mag, mag_err) tuples")
    out = []
    for k, curve in enumerate(curves):
        if len(curve) not in (2, 3):
            raise ValueError(f"curves[{k}] must be (t, mag) or (t, mag, mag_err)")
        t, mag, err = _check_curve(curve[0], curve[1], curve[2] if len(curve) == 3 else None)
        if t.size >= 2:
            out.append((t, mag, err))
    return out


def _binned_pairs(t, edges):
    """All pairs ``i < j`` whose lag falls in a bin: ``i``, ``j``, bin index and lag."""
    nb = edges.size - 1
    i, j = np.triu_indices(t.size, k=1)
    dtp = np.abs(t[j] - t[i])
    b = np.searchsorted(edges, dtp, side="right") - 1
    # the last edge is inclusive
    b[dtp == edges[-1]] = nb - 1
    keep = (b >= 0) & (b < nb)
    return i[keep], j[keep], b[keep], dtp[keep]


def _pair_sums(t, mag, mag_err, edges):
    """Per-bin number of pairs, sum of dm^2, sum of err_i^2 + err_j^2 and sum of dt."""
    nb = edges.size - 1
    i, j, b, dtp = _binned_pairs(t, edges)
    dm2 = (mag[j] - mag[i]) ** 2
    cnt = np.bincount(b, minlength=nb).astype(float)
    s_dm2 = np.bincount(b, weights=dm2, minlength=nb)
    s_dt = np.bincount(b, weights=dtp, minlength=nb)
    if mag_err is None:
        s_err = np.zeros(nb)
    else:
        e2 = mag_err**2
        s_err = np.bincount(b, weights=e2[i] + e2[j], minlength=nb)
    return cnt, s_dm2, s_err, s_dt


def _sf_from_sums(edges, cnt, s_dm2, s_err, s_dt):
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_dm2 = s_dm2 / cnt
        mean_err = s_err / cnt
        sf = np.sqrt(np.maximum(0.0, mean_dm2 - mean_err))
        dt_mean = s_dt / cnt
    empty = cnt == 0
    sf[empty] = np.nan
    if edges[0] > 0:
        centre = np.sqrt(edges[1:] * edges[:-1])
    else:
        centre = 0.5 * (edges[1:] + edges[:-1])
    return {
        "dt_center": centre,
        "sf": sf,
        "n_pairs": cnt.astype(np.int64),
        "dt_mean": dt_mean,
        "sf_raw": np.where(empty, np.nan, np.sqrt(mean_dm2)),
    }


def structure_function(t, mag, bins, mag_err=None):
    r"""Noise-corrected structure function of an unevenly sampled light curve.

    For all pairs :math:`i<j` the time lag :math:`\Delta t = |t_j - t_i|` is binned with
    ``bins``; in each bin

    .. math:: {\rm SF} = \sqrt{\max\left(0,\ \langle(\Delta m)^2\rangle
              - \langle\sigma_i^2 + \sigma_j^2\rangle\right)},

    the rms magnitude difference with the photometric noise subtracted (e.g. [M10]_).

    Parameters
    ----------
    t : array_like
        Epochs (any unit; ``bins`` in the same unit).
    mag : array_like
        Magnitudes.
    bins : array_like
        Bin edges of :math:`\Delta t`, strictly increasing (last edge inclusive).
    mag_err : array_like or None, optional
        1-sigma photometric errors; ``None`` for no noise correction.

    Returns
    -------
    dict
        ``dt_center`` (geometric bin centres if all edges > 0, else arithmetic),
        ``sf`` (NaN for empty bins), ``n_pairs``, ``dt_mean`` (mean lag of the pairs in
        each bin) and ``sf_raw`` (without noise correction).

    Raises
    ------
    ValueError
        If ``bins`` are not strictly increasing and finite, or ``t``, ``mag`` and ``mag_err``
        do not have one shape.
    """
    edges = _check_bins(bins)
    t, mag, mag_err = _check_curve(t, mag, mag_err)
    return _sf_from_sums(edges, *_pair_sums(t, mag, mag_err, edges))


def structure_function_ensemble(curves, bins):
    r"""Structure function pooled over several unevenly sampled light curves.

    Pairs are formed within each light curve only and pooled over all curves (every pair
    has equal weight), then treated as in :func:`structure_function`.

    Parameters
    ----------
    curves : sequence of tuple
        ``(t, mag, mag_err)`` per light curve (``mag_err`` may be ``None``; a 2-tuple
        ``(t, mag)`` also works).
    bins : array_like
        Bin edges of :math:`\Delta t`.

    Returns
    -------
    dict
        As :func:`structure_function`, plus ``n_curves``.

    Raises
    ------
    ValueError
        If ``curves`` is empty or not a list of 2- or 3-tuples, or as :func:`structure_function`.
    """
    edges = _check_bins(bins)
    nb = edges.size - 1
    tot = [np.zeros(nb) for _ in range(4)]
    for t, mag, err in _check_curves(curves):
        for acc, part in zip(tot, _pair_sums(t, mag, err, edges)):
            acc += part
    out = _sf_from_sums(edges, *tot)
    out["n_curves"] = len(curves)
    return out


def structure_function_robust(curves, bins, noise_floor=None):
    r"""Outlier-resistant structure function pooled over unevenly sampled light curves.

    Survey photometry (e.g. CRTS) has outliers that the quoted errors do not describe, so
    the rms of :math:`\Delta m` over-estimates the variability. As is common in quasar
    variability work, the width of the :math:`\Delta m` distribution in each bin is taken
    from its inter-quartile range, :math:`\sigma_{\Delta m} = 0.7413\,{\rm IQR}` (exact for
    a Gaussian), and the mean photometric noise is subtracted:

    .. math:: {\rm SF} = \sqrt{\max(0,\ \sigma_{\Delta m}^2 - \langle\sigma_i^2 + \sigma_j^2\rangle)}.

    Parameters
    ----------
    curves : sequence of tuple
        ``(t, mag, mag_err)`` per light curve (``mag_err`` may be ``None``).
    bins : array_like
        Bin edges of :math:`\Delta t`.
    noise_floor : float, optional
        Width of :math:`\Delta m` due to noise alone (e.g. measured from pairs taken the same
        night, when the quasar cannot vary); subtracted in quadrature instead of the quoted
        errors, which surveys often under-estimate.

    Returns
    -------
    dict
        ``dt_center``, ``sf`` (NaN for bins with fewer than 4 pairs), ``n_pairs``,
        ``sf_raw`` (without noise correction), ``n_curves``.

    Raises
    ------
    ValueError
        As :func:`structure_function_ensemble`.
    """
    edges = _check_bins(bins)
    nb = edges.size - 1
    dms, errs, bs = [], [], []
    for t, mag, err in _check_curves(curves):
        i, j, b, _ = _binned_pairs(t, edges)
        dms.append(mag[j] - mag[i])
        errs.append(np.zeros(b.size) if err is None else err[i] ** 2 + err[j] ** 2)
        bs.append(b)
    dm, e2, b = (np.concatenate(x) if x else np.zeros(0) for x in (dms, errs, bs))
    b = b.astype(np.int64)
    sf = np.full(nb, np.nan)
    sf_raw = np.full(nb, np.nan)
    cnt = np.bincount(b, minlength=nb)
    for k in np.nonzero(cnt >= 4)[0]:
        m = b == k
        q75, q25 = np.percentile(dm[m], [75, 25])
        width2 = (0.7413 * (q75 - q25)) ** 2
        sf_raw[k] = math.sqrt(width2)
        noise2 = float(np.mean(e2[m])) if noise_floor is None else float(noise_floor) ** 2
        sf[k] = math.sqrt(max(0.0, width2 - noise2))
    centre = np.sqrt(edges[1:] * edges[:-1]) if edges[0] > 0 else 0.5 * (edges[1:] + edges[:-1])
    return {"dt_center": centre, "sf": sf, "n_pairs": cnt.astype(np.int64), "sf_raw": sf_raw,
            "n_curves": len(curves)}


def structure_function_even(series, dt, lags, scale=2.5, return_info=False):
    r"""Structure function of evenly sampled :math:`\log_{10}\lambda` light curves.

    .. math:: {\rm SF}(k\Delta t) = 2.5\sqrt{\langle (x_{t+k} - x_t)^2\rangle}

    pooled over all times and light curves, in magnitudes (``scale=2.5``; ``scale=1``
    gives the SF of :math:`\log_{10}\lambda` itself).  Cost :math:`O(n)` per curve and lag.

    Parameters
    ----------
    series : array_like
        1-D light curve or 2-D array ``(n_lightcurves, n)`` of :math:`\log_{10}\lambda`.
    dt : float
        Sampling interval (yr).
    lags : array_like
        Lags (yr); rounded to the nearest multiple of ``dt`` (at least ``dt``).
    scale : float, optional
        Multiplier of the rms difference (2.5 converts :math:`\log_{10}\lambda` to mag).
    return_info : bool, optional
        Also return ``{"lag": lags actually used (yr), "n_pairs": pairs per lag}``.

    Returns
    -------
    numpy.ndarray
        SF per lag (same order as ``lags``); with ``return_info`` a tuple ``(sf, info)``.

    Raises
    ------
    ValueError
        If a lag rounds to 0 or to ``n`` samples or more (the largest possible lag is
        ``(n - 1) * dt``).
    """
    x = _as_2d(series, "series")
    dt = _check_positive(dt, "dt")
    lags = np.atleast_1d(np.asarray(lags, dtype=float))
    if lags.ndim != 1 or lags.size == 0 or not np.all(np.isfinite(lags)):
        raise ValueError("lags must be a non-empty 1-D array of finite values")
    m, n = x.shape
    k = np.rint(lags / dt).astype(np.int64)
    if np.any(k < 1):
        raise ValueError(
            f"lags must be >= dt/2 = {dt / 2} (a lag of 0 samples), got min {lags.min()}"
        )
    if np.any(k >= n):
        raise ValueError(
            f"lags must be < n*dt; the largest lag of this series is (n-1)*dt = {(n - 1) * dt}, "
            f"got {lags.max()}"
        )
    x = x - x.mean(axis=1, keepdims=True)
    uniq, inv = np.unique(k, return_inverse=True)
    msd = np.empty(uniq.size)
    rows = max(1, _CHUNK_VALUES // n)
    for u, kk in enumerate(uniq):
        s = 0.0
        for r0 in range(0, m, rows):
            d = x[r0:r0 + rows, kk:] - x[r0:r0 + rows, :-kk]
            s += float(np.einsum("ij,ij->", d, d))
        msd[u] = s / (m * (n - kk))
    sf = scale * np.sqrt(msd)[inv]
    if return_info:
        return sf, {"lag": k * dt, "n_pairs": m * (n - k)}
    return sf


def drw_structure_function(dt, sf_inf, tau):
    r"""Damped-random-walk structure function, :math:`{\rm SF}_\infty\sqrt{1-e^{-\Delta t/\tau}}`.

    ([M10]_ eq. 4.)  Limits: :math:`{\rm SF}_\infty\sqrt{\Delta t/\tau}` for
    :math:`\Delta t \ll \tau`, :math:`{\rm SF}_\infty` for :math:`\Delta t \gg \tau`.

    Parameters
    ----------
    dt : array_like
        Time lags (>= 0, same unit as ``tau``).
    sf_inf : array_like
        Asymptotic SF (:math:`\sqrt2\,\sigma`).
    tau : array_like
        Damping time-scale (> 0).

    Returns
    -------
    numpy.ndarray
        Broadcast over the three arguments.

    Raises
    ------
    ValueError
        If a ``tau`` is <= 0 or a ``dt`` < 0.
    """
    dt = np.asarray(dt, dtype=float)
    sf_inf = np.asarray(sf_inf, dtype=float)
    tau = np.asarray(tau, dtype=float)
    if np.any(tau <= 0):
        raise ValueError("tau must be > 0")
    if np.any(dt < 0):
        raise ValueError("dt must be >= 0")
    return sf_inf * np.sqrt(-np.expm1(-dt / tau))


def ensemble_drw_sf(dt, sigma, tau, quantiles=(0.16, 0.5, 0.84)):
    r"""Quantiles over a quasar sample of DRW structure functions.

    Each quasar has :math:`{\rm SF}_\infty = \sqrt2\,\sigma` and damping time
    :math:`\tau` (e.g. the S82 fits of [M10]_, :math:`\sigma` in mag, :math:`\tau` in
    days); its SF is :func:`drw_structure_function`, and the quantiles are taken across
    quasars at each lag.  ``tau`` must be in the same unit as ``dt`` (convert days to
    years with ``tau / 365.25`` when ``dt`` is in years).  Quasars with non-finite or
    non-positive ``sigma``/``tau`` are ignored.

    Parameters
    ----------
    dt : array_like
        Lags (1-D).
    sigma : array_like
        DRW amplitudes (mag), one per quasar.
    tau : array_like
        DRW time-scales, one per quasar, in the unit of ``dt``.
    quantiles : sequence of float, optional
        Quantiles in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape ``(len(quantiles), len(dt))``, SF in mag.

    Raises
    ------
    ValueError
        If ``dt`` is not 1-D, finite and >= 0, ``sigma`` and ``tau`` differ in length, a
        quantile is outside [0, 1], or no quasar has finite ``sigma`` > 0 and ``tau`` > 0.
    """
    dt = np.atleast_1d(np.asarray(dt, dtype=float))
    sigma = np.asarray(sigma, dtype=float).ravel()
    tau = np.asarray(tau, dtype=float).ravel()
    q = np.atleast_1d(np.asarray(quantiles, dtype=float))
    if dt.ndim != 1 or np.any(dt < 0) or not np.all(np.isfinite(dt)):
        raise ValueError("dt must be a 1-D array of finite lags >= 0")
    if sigma.shape != tau.shape:
        raise ValueError(
            f"sigma and tau must have the same length, got {sigma.size} and {tau.size}"
        )
    if np.any((q < 0) | (q > 1)):
        raise ValueError("quantiles must be in [0, 1]")
    good = np.isfinite(sigma) & np.isfinite(tau) & (sigma > 0) & (tau > 0)
    if not np.any(good):
        raise ValueError("no quasar with finite sigma > 0 and tau > 0")
    sf = drw_structure_function(dt[None, :], math.sqrt(2.0) * sigma[good, None], tau[good, None])
    return np.quantile(sf, q, axis=0)


def analytic_sf(lags, psd, var_total, f_min=None):
    r"""Structure function of a stationary Gaussian process with a given PSD shape.

    .. math:: {\rm SF}^2(\Delta t) = 2\int_0^\infty P(f)\,[1-\cos(2\pi f\Delta t)]\,{\rm d}f
              = 2\,[C(0) - C(\Delta t)]

    with :math:`P` the PSD shape rescaled to total power ``var_total``.  The integral is
    computed on a grid in :math:`u = f\Delta t`: log-spaced up to :math:`u=1`, linear
    (20 points per oscillation) for :math:`1<u<50`, and for :math:`u>50` the oscillating
    term is dropped (Riemann–Lebesgue), leaving :math:`\int P\,{\rm d}f`.

    Parameters
    ----------
    lags : array_like
        Lags (yr), > 0.
    psd : callable
        PSD shape, ``psd(freq)`` (1/yr).
    var_total : float
        Total variance of the process, in the units of the series (e.g.
        ``erdf.var()`` for :math:`\log_{10}\lambda`; multiply the SF by 2.5 for mag).
    f_min : float or None, optional
        Low-frequency cut-off (PSD taken as zero below it), needed for PSDs that are not
        integrable at low frequencies.

    Returns
    -------
    numpy.ndarray
        SF at ``lags``, in the units of the series.

    Raises
    ------
    ValueError
        If ``lags`` are not finite and > 0, ``var_total`` or ``f_min`` is not > 0, or the PSD is
        not integrable (pass ``f_min`` when ``alpha_low >= 1``).
    """
    _check_psd(psd)
    var_total = _check_positive(var_total, "var_total")
    lags = np.atleast_1d(np.asarray(lags, dtype=float))
    if lags.ndim != 1 or np.any(lags <= 0) or not np.all(np.isfinite(lags)):
        raise ValueError("lags must be a 1-D array of finite values > 0")
    if f_min is not None:
        f_min = _check_positive(f_min, "f_min")
    total, _ = _psd_total(psd, f_min)
    p = _cut_psd(psd, f_min, var_total / total)
    u_cut = 50.0
    u_log = np.logspace(-12, 0, 2401)
    u_lin = np.linspace(1.0, u_cut, int(20 * u_cut) + 1)[1:]
    u = np.concatenate([u_log, u_lin])
    f = u[None, :] / lags[:, None]
    integrand = p(f) * (1.0 - np.cos(2.0 * np.pi * u))[None, :]
    low = np.trapezoid(integrand, f, axis=1)
    # tiny-u end: 1 - cos ~ (2 pi u)^2 / 2 makes the integrand vanish; above u_cut keep P
    tail = np.array(
        [psd_integral(p, u_cut / lag, max(_F_ALL_HI, 10 * u_cut / lag)) for lag in lags]
    )
    return np.sqrt(2.0 * (low + tail))

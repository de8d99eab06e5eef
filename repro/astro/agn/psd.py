r"""Power spectral densities of :math:`\log_{10}\lambda` light curves: model, integrals, estimates.

The model is the bending power law of Sartori et al. (2018, eq. 3),

.. math:: P(f) = A\,\frac{f^{-\alpha_{\rm low}}}{1 + (f/f_{\rm bend})^{\alpha_{\rm high}-\alpha_{\rm low}}},

and PSDs are **one-sided**: for a stationary series of variance :math:`\sigma^2`,
:math:`\int_0^\infty P(f)\,{\rm d}f = \sigma^2`. :func:`periodogram` estimates a PSD with
this normalisation (``E[periodogram] = psd`` up to leakage and aliasing) and
:func:`fit_psd_slope` measures its power-law index. Time is in years, frequency in 1/yr;
references ([S18]_, [E13]_, [PL93]_, [V03]_) are listed in :mod:`repro.astro.agn`.

Example
-------
>>> import numpy as np
>>> from repro.astro.agn import psd
>>> f = np.array([1e-4, 1e-2, 1.0])
>>> p = psd.bending_power_law(f, f_bend=1e-2, alpha_low=1, alpha_high=2)
>>> np.round(f * p, 2)            # f P(f): flat well below the bend, half at it, falls as 1/f above
array([0.99, 0.5 , 0.01])
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import _F_ALL_HI, _F_ALL_LO, _as_2d, _check_finite, _check_int, _check_positive, _check_psd, _eval_psd

__all__ = ["bending_power_law", "psd_integral", "periodogram", "fit_psd_slope"]


def bending_power_law(freq, f_bend, alpha_low, alpha_high, amplitude=1.0):
    r"""Bending power-law PSD.

    .. math:: P(f) = A\,\frac{f^{-\alpha_{\rm low}}}
                        {1 + (f/f_{\rm bend})^{\alpha_{\rm high}-\alpha_{\rm low}}}

    i.e. :math:`P \propto f^{-\alpha_{\rm low}}` well below and
    :math:`\propto f^{-\alpha_{\rm high}}` well above the bend, with
    :math:`P(f_{\rm bend}) = A f_{\rm bend}^{-\alpha_{\rm low}}/2` ([S18]_ eq. 3, [E13]_).
    The special case ``alpha_low=0, alpha_high=2`` is a Lorentzian, the PSD of a damped
    random walk with :math:`\tau = 1/(2\pi f_{\rm bend})`.

    Parameters
    ----------
    freq : array_like
        Frequencies (1/yr), > 0.
    f_bend : float
        Bend frequency (same unit as ``freq``), > 0.
    alpha_low, alpha_high : float
        Power-law indices below / above the bend (positive numbers mean falling power).
    amplitude : float, optional
        Normalisation ``A`` (> 0).

    Returns
    -------
    numpy.ndarray
        PSD values, same shape as ``freq``.  Evaluated in log space, so it neither
        overflows nor underflows for frequencies spanning many decades.

    Raises
    ------
    ValueError
        If ``f_bend`` or ``amplitude`` is not finite and > 0, or an index is not finite.
    """
    f_bend = _check_positive(f_bend, "f_bend")
    alpha_low = _check_finite(alpha_low, "alpha_low")
    alpha_high = _check_finite(alpha_high, "alpha_high")
    amplitude = _check_positive(amplitude, "amplitude")
    freq = np.asarray(freq, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lnf = np.log(freq)
        # (0 * -inf would give NaN at f = 0: drop terms with a zero index explicitly)
        low = 0.0 if alpha_low == 0 else -alpha_low * lnf
        d_alpha = alpha_high - alpha_low
        if d_alpha == 0:
            bend = math.log(2.0)
        else:
            bend = np.logaddexp(0.0, d_alpha * (lnf - math.log(f_bend)))
        out = np.exp(math.log(amplitude) + low - bend)
    return out


def psd_integral(psd, f_lo, f_hi, n_per_decade=100):
    r"""Numerical :math:`\int_{f_{\rm lo}}^{f_{\rm hi}} P(f)\,{\rm d}f` on a log grid.

    Uses the trapezoidal rule in :math:`\ln f` on :math:`f\,P(f)`, which is accurate for
    power-law-like PSDs spanning many decades.

    Parameters
    ----------
    psd : callable
        ``psd(freq) -> power``.
    f_lo, f_hi : float
        Integration limits, ``0 < f_lo <= f_hi``.
    n_per_decade : int, optional
        Grid points per decade of frequency.

    Returns
    -------
    float
        The integral (0 when ``f_lo == f_hi``).

    Raises
    ------
    ValueError
        If ``psd`` is not callable, the limits are not ``0 < f_lo <= f_hi``, or ``psd`` returns
        negative or non-finite values.
    """
    _check_psd(psd)
    f_lo = _check_positive(f_lo, "f_lo")
    f_hi = _check_positive(f_hi, "f_hi")
    if f_hi < f_lo:
        raise ValueError(f"f_hi must be >= f_lo, got f_lo={f_lo}, f_hi={f_hi}")
    if f_hi == f_lo:
        return 0.0
    n = max(3, int(math.ceil(math.log10(f_hi / f_lo) * n_per_decade)) + 1)
    lnf = np.linspace(math.log(f_lo), math.log(f_hi), n)
    f = np.exp(lnf)
    return float(np.trapezoid(f * _eval_psd(psd, f), lnf))


def _psd_total(psd, f_min=None, n_per_decade=200):
    """Total power above ``f_min`` (or over all frequencies); checks convergence.

    The PSD is integrated on a log grid from ``f_min`` (default 1e-24/yr) to 1e16/yr; the
    power beyond the grid ends is estimated by extrapolating the local power law of
    ``f P(f)`` and added.  If that extrapolated power exceeds 1 per cent of the total
    (the PSD is not, or only barely, integrable) a ValueError is raised.

    Returns ``(total, f_lo)`` with ``f_lo`` the lower integration limit used.
    """
    f_lo = _F_ALL_LO if f_min is None else _check_positive(f_min, "f_min")
    if f_lo >= _F_ALL_HI:
        raise ValueError(f"f_min={f_min} is above the largest supported frequency {_F_ALL_HI}")
    n = int(math.ceil(math.log10(_F_ALL_HI / f_lo) * n_per_decade)) + 1
    lnf = np.linspace(math.log(f_lo), math.log(_F_ALL_HI), n)
    f = np.exp(lnf)
    integrand = f * _eval_psd(psd, f)
    if not integrand.max() > 0:
        raise ValueError("psd has no power on (f_min, infinity)")
    core = float(np.trapezoid(integrand, lnf))
    step = lnf[1] - lnf[0]

    def tail(a, b):
        # power beyond the grid end a (b: its neighbour inside), for f P ~ f^s
        if a == 0:
            return 0.0
        if b == 0:
            return math.inf
        s = abs(math.log(b / a)) / step
        return a / s if math.log(b / a) > 1e-3 * step else math.inf

    tail_hi = tail(integrand[-1], integrand[-2])
    tail_lo = 0.0 if f_min is not None else tail(integrand[0], integrand[1])
    total = core + tail_hi + tail_lo
    if not tail_hi <= 0.01 * total or math.isinf(tail_hi):
        raise ValueError(
            "psd is not integrable at high frequency (f*P(f) does not fall off fast enough); "
            "use a steeper high-frequency slope"
        )
    if not tail_lo <= 0.01 * total or math.isinf(tail_lo):
        raise ValueError(
            "psd is not integrable at low frequency (alpha_low >= 1, or close to it): pass "
            "f_min, the low-frequency cut-off below which the PSD is taken as zero"
        )
    return total, f_lo


def _cut_psd(psd, f_min, scale):
    """PSD ``scale * psd(f)`` for ``f >= f_min`` and 0 below (``f_min=None``: no cut)."""

    def cut(freq):
        freq = np.asarray(freq, dtype=float)
        p = _eval_psd(psd, freq) * scale
        if f_min is not None:
            p = np.where(freq >= f_min, p, 0.0)
        return p

    return cut


def periodogram(series, dt):
    r"""One-sided periodogram, normalised like :func:`timmer_koenig`.

    For a series :math:`x_t` of length :math:`n` (mean subtracted per light curve) with
    DFT :math:`X_k`, the periodogram at :math:`f_k = k/(n\Delta t)`,
    :math:`k = 1 \dots \lfloor n/2\rfloor`, is :math:`2\Delta t\,|X_k|^2/n`; its expectation
    for a TK series (no leakage) is ``psd(f_k)`` and
    :math:`\sum_k {\rm power}_k/(n\Delta t)` equals the sample variance (the Nyquist term
    counted half), i.e. the rms-squared normalisation of [V03]_.

    Parameters
    ----------
    series : array_like
        1-D light curve or 2-D array ``(n_lightcurves, n)``.
    dt : float
        Sampling interval (yr).

    Returns
    -------
    freq : numpy.ndarray
        Frequencies (1/yr), ``n // 2`` values.
    power : numpy.ndarray
        Periodogram (averaged over light curves for 2-D input).

    Raises
    ------
    ValueError
        If ``series`` is not 1-D or 2-D with at least 2 samples, or ``dt`` is not > 0.
    """
    x = _as_2d(series, "series")
    dt = _check_positive(dt, "dt")
    n = x.shape[1]
    x = x - x.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(x, axis=-1)[:, 1:]
    power = (2.0 * dt / n) * (spec.real**2 + spec.imag**2)
    freq = np.fft.rfftfreq(n, d=dt)[1:]
    return freq, power.mean(axis=0)


def fit_psd_slope(freq, power, fmin, fmax, n_bins=20):
    r"""Power-law index of a periodogram between ``fmin`` and ``fmax``.

    The periodogram is averaged in ``n_bins`` log-spaced frequency bins (mean power and
    mean :math:`\log_{10} f` per non-empty bin), and :math:`\log_{10}` of the binned mean
    is fitted linearly against :math:`\log_{10} f` by ordinary least squares
    (``statsmodels.OLS``).  Taking the log *after* averaging avoids the bias of the log
    of a :math:`\chi^2_2` periodogram ordinate; if logs were averaged instead, each
    ordinate would need the correction :math:`+0.253` dex ([PL93]_), a constant that does
    not change the slope.

    Parameters
    ----------
    freq, power : array_like
        Periodogram (e.g. from :func:`periodogram`).
    fmin, fmax : float
        Frequency range of the fit (inclusive), ``0 < fmin < fmax``.
    n_bins : int, optional
        Number of log-spaced bins.

    Returns
    -------
    dict
        ``slope`` (the positive index :math:`\alpha` of :math:`P\propto f^{-\alpha}`),
        ``stderr`` (its OLS standard error), ``n`` (number of bins fitted),
        ``intercept`` (of :math:`\log_{10}P` at :math:`\log_{10}f = 0`).

    Raises
    ------
    ValueError
        If ``freq`` and ``power`` are not 1-D of the same length, the range is not
        ``0 < fmin < fmax``, or fewer than 3 points or non-empty bins fall in it.
    """
    import statsmodels.api as sm

    freq = np.asarray(freq, dtype=float)
    power = np.asarray(power, dtype=float)
    if freq.ndim != 1 or power.shape != freq.shape:
        raise ValueError("freq and power must be 1-D arrays of the same length")
    fmin = _check_positive(fmin, "fmin")
    fmax = _check_positive(fmax, "fmax")
    if fmin >= fmax:
        raise ValueError(f"fmin must be < fmax, got fmin={fmin}, fmax={fmax}")
    n_bins = _check_int(n_bins, "n_bins", 2)
    sel = (freq >= fmin) & (freq <= fmax) & (power > 0) & np.isfinite(power)
    if np.count_nonzero(sel) < 3:
        raise ValueError(f"fewer than 3 periodogram points between fmin={fmin} and fmax={fmax}")
    lf, p = np.log10(freq[sel]), power[sel]
    edges = np.linspace(math.log10(fmin), math.log10(fmax), n_bins + 1)
    idx = np.clip(np.searchsorted(edges, lf, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    ok = counts > 0
    mean_lf = np.bincount(idx, weights=lf, minlength=n_bins)[ok] / counts[ok]
    mean_p = np.bincount(idx, weights=p, minlength=n_bins)[ok] / counts[ok]
    if mean_lf.size < 3:
        raise ValueError(
            "fewer than 3 non-empty frequency bins: widen [fmin, fmax] or use fewer bins"
        )
    res = sm.OLS(np.log10(mean_p), sm.add_constant(mean_lf)).fit()
    return {
        "slope": float(-res.params[1]),
        "stderr": float(res.bse[1]),
        "n": int(mean_lf.size),
        "intercept": float(res.params[0]),
    }

r"""AGN variability on multiple time-scales (Sartori et al. 2018).

Simulate light curves of the Eddington ratio :math:`\lambda = L/L_{\rm Edd}` whose
one-point distribution is an Eddington-ratio distribution function (ERDF) and whose power
spectral density (PSD) is a bending power law, and measure them with periodograms and
structure functions (SF) from days to Gyr.

Conventions used throughout the module
--------------------------------------
* **Time** is in years and **frequency** in 1/yr (any consistent pair of units works).
* Light curves are series of :math:`\log_{10}\lambda`.  Magnitudes are
  :math:`m = -2.5\log_{10}\lambda + {\rm const}`, so an SF in magnitudes is 2.5 times the SF
  of :math:`\log_{10}\lambda`.
* PSDs are **one-sided**: for a stationary series :math:`x(t)` with variance
  :math:`\sigma^2`, :math:`\int_0^\infty P(f)\,{\rm d}f = \sigma^2`.  :func:`timmer_koenig`
  simulates with this normalisation and :func:`periodogram` estimates it, so that
  ``E[periodogram] = psd`` (up to leakage and aliasing).
* Randomness only enters through an explicit :class:`numpy.random.Generator` (``rng``) or an
  integer ``seed``; there is no global random state.

References
----------
.. [S18] Sartori, L. F., Schawinski, K., Trakhtenbrot, B., et al. 2018, MNRAS 476, L34,
   "A model for AGN variability on multiple time-scales" (arXiv:1802.05717).
.. [E13] Emmanoulopoulos, D., McHardy, I. M., Papadakis, I. E. 2013, MNRAS 433, 907,
   "Generating artificial light curves: revisited and updated".
.. [TK95] Timmer, J., Koenig, M. 1995, A&A 300, 707, "On generating power law noise".
.. [W17] Weigel, A. K., Schawinski, K., Caplar, N., et al. 2017, ApJ 845, 134.
.. [M10] MacLeod, C. L., Ivezic, Z., Kochanek, C. S., et al. 2010, ApJ 721, 1014.
.. [PL93] Papadakis, I. E., Lawrence, A. 1993, MNRAS 261, 612.
.. [V03] Vaughan, S., Edelson, R., Warwick, R. S., Uttley, P. 2003, MNRAS 345, 1271.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np
from scipy.special import ndtr

__all__ = [
    "bending_power_law",
    "GridERDF",
    "BrokenPowerLawERDF",
    "SchechterERDF",
    "psd_integral",
    "timmer_koenig",
    "emmanoulopoulos",
    "translation_process",
    "periodogram",
    "fit_psd_slope",
    "structure_function",
    "structure_function_ensemble",
    "structure_function_robust",
    "structure_function_even",
    "drw_structure_function",
    "ensemble_drw_sf",
    "analytic_sf",
    "episode_durations",
    "fraction_above",
    "simulate_multiscale",
    "flicker_statistics",
    "multiscale_structure_functions",
]

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


# --------------------------------------------------------------------------------------
# PSD model
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# Eddington-ratio distribution functions
# --------------------------------------------------------------------------------------
class GridERDF:
    r"""Distribution of :math:`\log_{10}\lambda` tabulated on a fine grid.

    Base class of the ERDF models: the (unnormalised) density per unit
    :math:`\log_{10}\lambda` is evaluated on ``n_grid`` equally spaced points of
    :math:`[\log\lambda_{\min}, \log\lambda_{\max}]`, normalised with the trapezoidal rule,
    and cumulated into a CDF; :meth:`ppf` inverts the CDF by linear interpolation, so
    :meth:`sample` is inverse-transform sampling.

    Parameters
    ----------
    log_density : callable
        ``log_density(log_lambda) -> ln(unnormalised dN/dlog10(lambda))`` (natural log, so
        that densities spanning many decades stay finite).
    log_lambda_min, log_lambda_max : float
        Truncation limits in :math:`\log_{10}\lambda` (min < max).
    n_grid : int, optional
        Number of grid points (default 20001).

    Attributes
    ----------
    grid : numpy.ndarray
        The :math:`\log_{10}\lambda` grid.
    density : numpy.ndarray
        The normalised density on ``grid``.
    cdf_grid : numpy.ndarray
        The CDF on ``grid`` (0 at the first, 1 at the last point).
    """

    def __init__(self, log_density, log_lambda_min, log_lambda_max, n_grid=20001):
        if not callable(log_density):
            raise ValueError("log_density must be callable")
        lo = _check_finite(log_lambda_min, "log_lambda_min")
        hi = _check_finite(log_lambda_max, "log_lambda_max")
        if lo >= hi:
            raise ValueError(
                f"log_lambda_min must be < log_lambda_max, got {lo} >= {hi}"
            )
        n_grid = _check_int(n_grid, "n_grid", 101)
        self.log_lambda_min = lo
        self.log_lambda_max = hi
        self.grid = np.linspace(lo, hi, n_grid)
        with np.errstate(over="ignore", under="ignore"):
            logd = np.asarray(log_density(self.grid), dtype=float)
        if logd.shape != self.grid.shape or np.any(np.isnan(logd)) or np.any(logd == np.inf):
            raise ValueError("log_density must return finite values (or -inf) on the grid")
        if not np.any(np.isfinite(logd)):
            raise ValueError("the density is zero everywhere on [log_lambda_min, log_lambda_max]")
        dens = np.exp(logd - logd[np.isfinite(logd)].max())
        steps = 0.5 * (dens[1:] + dens[:-1]) * np.diff(self.grid)
        norm = steps.sum()
        self.density = dens / norm
        cdf = np.concatenate([[0.0], np.cumsum(steps) / norm])
        cdf[-1] = 1.0
        self.cdf_grid = cdf
        # strictly increasing part of the CDF, for the inverse (flat tails, where the
        # density underflows, would make the inverse ambiguous)
        keep = np.concatenate([[True], np.diff(cdf) > 0])
        self._ppf_q = cdf[keep]
        self._ppf_x = self.grid[keep]
        self._log_density = log_density
        self._log_norm = logd[np.isfinite(logd)].max() + math.log(norm)

    def pdf(self, log_lambda):
        r"""Density per unit :math:`\log_{10}\lambda` (0 outside the truncation limits).

        Parameters
        ----------
        log_lambda : array_like
            Values of :math:`\log_{10}\lambda`.

        Returns
        -------
        numpy.ndarray
        """
        x = np.asarray(log_lambda, dtype=float)
        inside = (x >= self.log_lambda_min) & (x <= self.log_lambda_max)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            val = np.exp(np.asarray(self._log_density(np.where(inside, x, self.log_lambda_min)))
                         - self._log_norm)
        return np.where(inside, val, 0.0)

    def cdf(self, log_lambda):
        r"""Cumulative distribution :math:`P(\log_{10}\lambda' \le \log_{10}\lambda)`.

        Parameters
        ----------
        log_lambda : array_like

        Returns
        -------
        numpy.ndarray
            Values in [0, 1] (0 below, 1 above the truncation limits).
        """
        x = np.asarray(log_lambda, dtype=float)
        return np.interp(x, self.grid, self.cdf_grid, left=0.0, right=1.0)

    def ppf(self, q):
        r"""Inverse CDF (quantile function), by linear interpolation of the tabulated CDF.

        Parameters
        ----------
        q : array_like
            Probabilities in [0, 1]; values outside give NaN.

        Returns
        -------
        numpy.ndarray
            :math:`\log_{10}\lambda` quantiles.
        """
        q = np.asarray(q, dtype=float)
        out = np.interp(q, self._ppf_q, self._ppf_x)
        return np.where((q >= 0) & (q <= 1), out, np.nan)

    def sample(self, n, rng):
        r"""Draw iid values of :math:`\log_{10}\lambda` by inverse-transform sampling.

        Parameters
        ----------
        n : int or tuple of int
            Number (or shape) of draws.
        rng : numpy.random.Generator

        Returns
        -------
        numpy.ndarray
        """
        _check_rng(rng)
        if isinstance(n, tuple):
            size = tuple(_check_int(k, "n", 0) for k in n)
        else:
            size = _check_int(n, "n", 0)
        return self.ppf(rng.random(size))

    def mean(self):
        r"""Mean of :math:`\log_{10}\lambda` (trapezoidal integral on the grid)."""
        return float(np.trapezoid(self.grid * self.density, self.grid))

    def var(self):
        r"""Variance of :math:`\log_{10}\lambda` (trapezoidal integral on the grid)."""
        mu = self.mean()
        return float(np.trapezoid((self.grid - mu) ** 2 * self.density, self.grid))

    def std(self):
        r"""Standard deviation of :math:`\log_{10}\lambda`."""
        return math.sqrt(self.var())


class BrokenPowerLawERDF(GridERDF):
    r"""Broken power-law ERDF (the form of [W17]_, used by [S18]_).

    .. math:: \frac{{\rm d}N}{{\rm d}\log_{10}\lambda} \propto
              \left[\left(\frac{\lambda}{\lambda_*}\right)^{\delta_1}
              + \left(\frac{\lambda}{\lambda_*}\right)^{\delta_2}\right]^{-1}

    truncated to ``[log_lambda_min, log_lambda_max]`` and normalised numerically.  For
    :math:`\delta_1 < \delta_2` the density falls as :math:`\lambda^{-\delta_1}` below and
    :math:`\lambda^{-\delta_2}` above the break :math:`\lambda_*`.

    Parameters
    ----------
    log_lambda_break : float
        :math:`\log_{10}\lambda_*`.
    slope_low : float
        :math:`\delta_1`, the low-:math:`\lambda` slope.
    slope_high : float
        :math:`\delta_2`, the high-:math:`\lambda` slope.
    log_lambda_min, log_lambda_max : float, optional
        Truncation limits in :math:`\log_{10}\lambda` (defaults -8 and 1).
    n_grid : int, optional
        Grid size for the numerical normalisation / CDF.
    """

    def __init__(self, log_lambda_break, slope_low, slope_high, log_lambda_min=-8.0,
                 log_lambda_max=1.0, n_grid=20001):
        self.log_lambda_break = _check_finite(log_lambda_break, "log_lambda_break")
        self.slope_low = _check_finite(slope_low, "slope_low")
        self.slope_high = _check_finite(slope_high, "slope_high")
        xb, d1, d2 = self.log_lambda_break, self.slope_low, self.slope_high

        def log_density(x):
            u = (np.asarray(x, dtype=float) - xb) * _LN10
            return -np.logaddexp(d1 * u, d2 * u)

        super().__init__(log_density, log_lambda_min, log_lambda_max, n_grid=n_grid)

    def __repr__(self):
        return (f"BrokenPowerLawERDF(log_lambda_break={self.log_lambda_break}, "
                f"slope_low={self.slope_low}, slope_high={self.slope_high}, "
                f"log_lambda_min={self.log_lambda_min}, log_lambda_max={self.log_lambda_max})")


class SchechterERDF(GridERDF):
    r"""Schechter-function ERDF.

    .. math:: \frac{{\rm d}N}{{\rm d}\log_{10}\lambda} \propto
              \left(\frac{\lambda}{\lambda_*}\right)^{\alpha} e^{-\lambda/\lambda_*}

    truncated to ``[log_lambda_min, log_lambda_max]`` and normalised numerically.

    Parameters
    ----------
    log_lambda_star : float
        :math:`\log_{10}\lambda_*`.
    alpha : float
        Low-:math:`\lambda` power-law index of :math:`{\rm d}N/{\rm d}\log\lambda`.
    log_lambda_min, log_lambda_max : float, optional
        Truncation limits (defaults -8 and 1).
    n_grid : int, optional
        Grid size.
    """

    def __init__(self, log_lambda_star, alpha, log_lambda_min=-8.0, log_lambda_max=1.0,
                 n_grid=20001):
        self.log_lambda_star = _check_finite(log_lambda_star, "log_lambda_star")
        self.alpha = _check_finite(alpha, "alpha")
        xs, a = self.log_lambda_star, self.alpha

        def log_density(x):
            u = (np.asarray(x, dtype=float) - xs) * _LN10
            with np.errstate(over="ignore"):
                return a * u - np.exp(u)

        super().__init__(log_density, log_lambda_min, log_lambda_max, n_grid=n_grid)

    def __repr__(self):
        return (f"SchechterERDF(log_lambda_star={self.log_lambda_star}, alpha={self.alpha}, "
                f"log_lambda_min={self.log_lambda_min}, log_lambda_max={self.log_lambda_max})")


# --------------------------------------------------------------------------------------
# Timmer & Koenig
# --------------------------------------------------------------------------------------
def _tk_weights(n_long: int, dt: float, psd) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies k/(N dt), k=0..N//2, and the per-component Gaussian std of Re/Im parts."""
    freq = np.fft.rfftfreq(n_long, d=dt)
    power = np.zeros_like(freq)
    power[1:] = _eval_psd(psd, freq[1:])
    # Re, Im ~ N(0, N P / (4 dt)) so that E|X_k|^2 = N P / (2 dt) and the variance of
    # x = irfft(X) gets P(f_k) * df from each 0 < f_k < Nyquist (df = 1/(N dt)).
    std_re = np.sqrt(n_long * power / (4.0 * dt))
    return freq, std_re


def _tk_variance(n_long: int, dt: float, psd) -> float:
    """Expected variance of a TK series of length ``n_long`` (exact discrete sum)."""
    freq = np.fft.rfftfreq(n_long, d=dt)
    power = _eval_psd(psd, freq[1:])
    df = 1.0 / (n_long * dt)
    w = np.ones_like(power)
    if n_long % 2 == 0:
        w[-1] = 0.5  # the Nyquist term is real: half weight
    return float(np.sum(w * power) * df)


def timmer_koenig(n, dt, psd, rng, leak=8, n_lightcurves=None):
    r"""Gaussian light curve(s) with a given PSD, after Timmer & Koenig (1995).

    A series of length :math:`N = n \times` ``leak`` is built in the Fourier domain: for
    every positive frequency :math:`f_k = k/(N\,\Delta t)` below the Nyquist frequency the
    real and imaginary parts of the (unnormalised, numpy-convention) DFT coefficient
    :math:`X_k` are independent :math:`\mathcal{N}(0, N P(f_k)/(4\Delta t))` variables,
    i.e. TK95's Gaussian parts scaled by :math:`\sqrt{P/2}` times the constant
    :math:`\sqrt{N/(2\Delta t)}`; at the Nyquist frequency (even :math:`N`) :math:`X_k` is real
    with variance :math:`N P/(2\Delta t)`; :math:`X_0 = 0`.  ``numpy.fft.irfft`` gives the
    series, and a contiguous segment of ``n`` points is returned, so that power at
    frequencies below :math:`1/(n\Delta t)` leaks into the segment (red-noise leakage) as in
    a real observation.

    Normalisation: one-sided PSD, :math:`\int_0^\infty P(f)\,{\rm d}f` = variance.  The
    long series has expected variance

    .. math:: \sum_{0<f_k<f_{\rm Nyq}} P(f_k)\,\delta f + \tfrac12 P(f_{\rm Nyq})\,\delta f,
              \qquad \delta f = 1/(N\Delta t),

    the midpoint-rule estimate of :math:`\int_{\delta f/2}^{f_{\rm Nyq}} P\,{\rm d}f`, and
    :func:`periodogram` of it has expectation :math:`P(f_k)`.  Power above the Nyquist
    frequency and below :math:`\delta f/2` is not simulated.

    Parameters
    ----------
    n : int
        Length of each returned light curve (>= 2).
    dt : float
        Sampling interval (yr), > 0.
    psd : callable
        ``psd(freq) -> power`` with ``freq`` in 1/yr (one-sided, in units of
        variance per unit frequency).
    rng : numpy.random.Generator
        Source of randomness.
    leak : int, optional
        The series is simulated ``leak`` times longer than ``n`` (1 = no leakage).
    n_lightcurves : int or None, optional
        ``None`` returns one light curve as a 1-D array; an integer returns a 2-D array of
        independent light curves, shape ``(n_lightcurves, n)``.

    Returns
    -------
    numpy.ndarray
        Zero-mean (in expectation) Gaussian series, shape ``(n,)`` or ``(n_lightcurves, n)``.
    """
    n = _check_int(n, "n", 2)
    dt = _check_positive(dt, "dt")
    _check_psd(psd)
    _check_rng(rng)
    leak = _check_int(leak, "leak", 1)
    m = 1 if n_lightcurves is None else _check_int(n_lightcurves, "n_lightcurves", 1)
    n_long = n * leak
    _, std = _tk_weights(n_long, dt, psd)
    nf = std.size
    nyquist = n_long % 2 == 0
    out = np.empty((m, n))
    chunk = max(1, _CHUNK_VALUES // n_long)
    for start in range(0, m, chunk):
        c = min(chunk, m - start)
        re = rng.standard_normal((c, nf))
        im = rng.standard_normal((c, nf))
        im[:, 0] = 0.0
        if nyquist:
            # real Nyquist coefficient with variance N P / (2 dt) = 2 * std^2
            re[:, -1] *= math.sqrt(2.0)
            im[:, -1] = 0.0
        coef = (re + 1j * im) * std
        out[start:start + c] = np.fft.irfft(coef, n=n_long, axis=-1)[:, :n]
    return out[0] if n_lightcurves is None else out


# --------------------------------------------------------------------------------------
# Emmanoulopoulos et al. (2013)
# --------------------------------------------------------------------------------------
def _e13_chunk(n, dt, psd, erdf, rng, leak, max_iter, tol, m):
    """E13 iterations for ``m`` light curves at once (see :func:`emmanoulopoulos`)."""
    gauss = timmer_koenig(n, dt, psd, rng, leak=leak, n_lightcurves=m)
    amp = np.abs(np.fft.rfft(gauss, axis=-1))
    amp[:, 0] = 0.0
    del gauss
    draws = np.sort(erdf.sample((m, n), rng), axis=-1)
    # initial series: the iid draws in random order
    x = rng.permuted(draws, axis=-1)
    order_prev = np.argsort(x, axis=-1)
    n_iter = np.zeros(m, dtype=int)
    n_changed = np.full(m, n, dtype=int)
    converged = np.zeros(m, dtype=bool)
    active = np.arange(m)
    max_changed = int(math.floor(tol * n))
    for it in range(1, max_iter + 1):
        xa = x[active]
        spec = np.fft.rfft(xa, axis=-1)
        # spectral adjustment: phases of the current series, amplitudes of the TK series
        adjusted = np.fft.irfft(amp[active] * np.exp(1j * np.angle(spec)), n=n, axis=-1)
        # amplitude adjustment: the ERDF draws in the rank order of the adjusted series
        order = np.argsort(adjusted, axis=-1)
        np.put_along_axis(xa, order, draws[active], axis=-1)
        x[active] = xa
        n_iter[active] = it
        changed = np.count_nonzero(order != order_prev[active], axis=-1)
        n_changed[active] = changed
        order_prev[active] = order
        done = changed <= max_changed
        converged[active[done]] = True
        active = active[~done]
        if active.size == 0:
            break
    return x, n_iter, n_changed, converged


def emmanoulopoulos(n, dt, psd, erdf, rng, leak=8, max_iter=300, tol=0.0,
                    n_lightcurves=None):
    r"""Light curves with a given PSD *and* one-point PDF (Emmanoulopoulos et al. 2013).

    The iterative amplitude-adjusted algorithm of [E13]_ (their Section 2), as used by
    [S18]_:

    1. simulate a Gaussian light curve with the target PSD (:func:`timmer_koenig`, with
       red-noise leakage) and keep the amplitudes :math:`A_k = |{\rm DFT}_k|` of its
       ``n``-point segment;
    2. draw ``n`` iid values from the ERDF (``erdf.sample``): the initial series;
    3. iterate: DFT of the current series, keep its phases, replace its amplitudes by
       :math:`A_k` (spectral adjustment), inverse DFT, then replace the values by the ERDF
       draws in the same rank order (amplitude adjustment);
    4. stop when the rank order (hence the series) no longer changes, or after
       ``max_iter`` iterations.

    The mean/variance conventions of E13 (their step ii scales the TK amplitudes to the
    variance of the PDF and sets the mean) only shift and scale the spectrally adjusted
    series by a positive affine map, which does not change its rank order; so the
    zero-frequency term is simply set to 0 and the amplitudes are used unscaled.  The
    output values are *exactly* the iid ERDF draws, reordered: a KS test of one light
    curve's values against ``erdf.cdf`` is legitimate.

    Parameters
    ----------
    n : int
        Length of each light curve (>= 2).
    dt : float
        Sampling interval (yr), > 0.
    psd : callable
        Target PSD, ``psd(freq)`` with ``freq`` in 1/yr.  Only its shape matters: the
        variance is set by the ERDF.
    erdf : GridERDF
        Target one-point distribution of :math:`\log_{10}\lambda`.
    rng : numpy.random.Generator
    leak : int, optional
        Red-noise-leakage factor passed to :func:`timmer_koenig`.
    max_iter : int, optional
        Maximum number of iterations.
    tol : float, optional
        Convergence threshold on the fraction of points whose rank changed in the last
        iteration (0 = exact fixed point, E13's criterion).
    n_lightcurves : int or None, optional
        ``None``: one light curve, 1-D output; an integer: that many independent light
        curves, simulated together (vectorised), 2-D output ``(n_lightcurves, n)``.

    Returns
    -------
    series : numpy.ndarray
        :math:`\log_{10}\lambda` light curve(s), shape ``(n,)`` or ``(n_lightcurves, n)``.
    info : dict
        ``n_iter`` (int, largest number of iterations over the light curves),
        ``converged`` (bool, all light curves converged), ``n_iter_per_curve`` and
        ``converged_per_curve`` and ``n_changed_last`` (number of points whose rank changed
        in the last iteration) (arrays, one entry per light curve).  Steep PSDs converge
        more slowly: for ``n = 2**14`` and a bend ~100 samples long a few per cent of the
        curves need more than 300 iterations, with only a handful of ranks still changing.
    """
    n = _check_int(n, "n", 2)
    dt = _check_positive(dt, "dt")
    _check_psd(psd)
    _check_erdf(erdf)
    _check_rng(rng)
    leak = _check_int(leak, "leak", 1)
    max_iter = _check_int(max_iter, "max_iter", 1)
    tol = float(tol)
    if not (0.0 <= tol < 1.0):
        raise ValueError(f"tol must be in [0, 1), got {tol}")
    m = 1 if n_lightcurves is None else _check_int(n_lightcurves, "n_lightcurves", 1)

    # Curves are processed in chunks (same results for any machine; memory stays bounded).
    x = np.empty((m, n))
    n_iter = np.zeros(m, dtype=int)
    n_changed = np.zeros(m, dtype=int)
    converged = np.zeros(m, dtype=bool)
    chunk = max(1, _CHUNK_VALUES // (n * leak))
    for r0 in range(0, m, chunk):
        sl = slice(r0, min(m, r0 + chunk))
        x[sl], n_iter[sl], n_changed[sl], converged[sl] = _e13_chunk(
            n, dt, psd, erdf, rng, leak, max_iter, tol, sl.stop - sl.start)
    info = {
        "n_iter": int(n_iter.max()),
        "converged": bool(converged.all()),
        "n_iter_per_curve": n_iter,
        "converged_per_curve": converged,
        "n_changed_last": n_changed,
    }
    return (x[0] if n_lightcurves is None else x), info


# --------------------------------------------------------------------------------------
# Translation (Gaussian-copula) process
# --------------------------------------------------------------------------------------
def translation_process(n, dt, psd, erdf, rng, leak=8, n_lightcurves=1, f_min=None,
                        return_info=False):
    r"""Segments of a stationary Gaussian-copula ("translation") process with ERDF marginal.

    Why not E13 here: the E13 algorithm (:func:`emmanoulopoulos`) forces the values of
    *each run* to be a full sample of the ERDF.  That is right when a run spans many bend
    time-scales (coarse time resolution, Myr–Gyr runs), but for fine resolutions (days to
    decades), where a run is much shorter than :math:`1/f_{\rm bend}`, a real AGN explores
    only a small part of the ERDF during the run; forcing the whole ERDF into a short
    segment would create huge artificial short-time-scale variability.  Instead each
    segment is a piece of one global stationary process:

    1. normalise the PSD to unit total power, :math:`\tilde P = P/\int_{f_{\min}}^\infty P`
       (numerically on a log grid from ``f_min``, or from 1e-24/yr, to 1e16/yr);
    2. simulate a Gaussian TK segment ``g`` with :math:`\tilde P` (:func:`timmer_koenig`,
       length ``n`` out of ``n * leak``);
    3. add to each segment a constant offset :math:`\mathcal{N}(0, \sigma^2_{\rm low})`
       standing for the power at frequencies below the lowest simulated one,
       :math:`1/(n\,{\rm leak}\,\Delta t)` (periods longer than ``leak`` segment lengths
       are nearly constant over a segment), and independent white noise of variance
       :math:`\sigma^2_{\rm high} = \int_{f_{\rm Nyq}}^\infty\tilde P` standing for the
       (aliased) power above the Nyquist frequency; :math:`\sigma^2_{\rm low}` is
       :math:`1 - \sigma^2_{\rm TK} - \sigma^2_{\rm high}`, with :math:`\sigma^2_{\rm TK}`
       the exact expected variance of the TK part, so ``g`` is exactly
       :math:`\mathcal{N}(0, 1)` at every time;
    4. map through the Gaussian copula: :math:`\log\lambda = F^{-1}_{\rm ERDF}(\Phi(g))`.

    Every value therefore has exactly the ERDF as its (ensemble) distribution.  The
    monotone map changes the correlation function somewhat (the PSD of
    :math:`\log\lambda` is not exactly :math:`P`, see e.g. Grigoriu 1995, *Applied
    non-Gaussian processes*), but the copula, hence every rank-based measure of the
    time-scale structure, is that of the Gaussian process (e.g. Spearman's
    :math:`\rho_S = (6/\pi)\arcsin(\rho/2)` with :math:`\rho` its correlation).

    Parameters
    ----------
    n : int
        Length of each segment (>= 2).
    dt : float
        Sampling interval (yr), > 0.
    psd : callable
        Target PSD shape, ``psd(freq)`` with ``freq`` in 1/yr.
    erdf : GridERDF
        Marginal distribution of :math:`\log_{10}\lambda`.
    rng : numpy.random.Generator
    leak : int, optional
        Red-noise-leakage factor for the TK part.
    n_lightcurves : int, optional
        Number of independent segments.
    f_min : float or None, optional
        Low-frequency cut-off (1/yr): the PSD is taken as zero below it.  Required when
        the PSD is not integrable at low frequencies (``alpha_low >= 1``); a natural
        choice is the inverse duration of the longest (E13) simulation, whose values span
        the whole ERDF.
    return_info : bool, optional
        Also return a dict with the variance budget (``var_low``, ``var_tk``,
        ``var_high``, ``psd_norm``, ``f_min``).

    Returns
    -------
    numpy.ndarray
        :math:`\log_{10}\lambda`, shape ``(n_lightcurves, n)``; with ``return_info`` a
        tuple ``(series, info)``.
    """
    n = _check_int(n, "n", 2)
    dt = _check_positive(dt, "dt")
    _check_psd(psd)
    _check_erdf(erdf)
    _check_rng(rng)
    leak = _check_int(leak, "leak", 1)
    m = _check_int(n_lightcurves, "n_lightcurves", 1)
    if f_min is not None:
        f_min = _check_positive(f_min, "f_min")
    total, _ = _psd_total(psd, f_min)
    unit_psd = _cut_psd(psd, f_min, 1.0 / total)
    n_long = n * leak
    var_tk = _tk_variance(n_long, dt, unit_psd)
    f_nyq = 0.5 / dt
    var_high = psd_integral(unit_psd, f_nyq, _F_ALL_HI) if f_nyq < _F_ALL_HI else 0.0
    scale = 1.0
    if var_tk + var_high > 1.0:  # discretisation overshoot: rescale, no low-f offset
        scale = 1.0 / math.sqrt(var_tk + var_high)
        var_low = 0.0
    else:
        var_low = 1.0 - var_tk - var_high
    g = timmer_koenig(n, dt, unit_psd, rng, leak=leak, n_lightcurves=m)
    g += math.sqrt(var_low) * rng.standard_normal((m, 1))
    if var_high > 0:
        g += math.sqrt(var_high) * rng.standard_normal((m, n))
    if scale != 1.0:
        g *= scale
    series = erdf.ppf(ndtr(g))
    if return_info:
        info = {"var_low": var_low, "var_tk": var_tk * scale**2,
                "var_high": var_high * scale**2, "psd_norm": total, "f_min": f_min}
        return series, info
    return series


# --------------------------------------------------------------------------------------
# periodogram and PSD slope
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# structure functions
# --------------------------------------------------------------------------------------
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


def _pair_sums(t, mag, mag_err, edges):
    """Per-bin number of pairs, sum of dm^2, sum of err_i^2 + err_j^2 and sum of dt."""
    nb = edges.size - 1
    i, j = np.triu_indices(t.size, k=1)
    dtp = np.abs(t[j] - t[i])
    b = np.searchsorted(edges, dtp, side="right") - 1
    # the last edge is inclusive
    b[dtp == edges[-1]] = nb - 1
    keep = (b >= 0) & (b < nb)
    b, i, j, dtp = b[keep], i[keep], j[keep], dtp[keep]
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
    """
    edges = _check_bins(bins)
    if isinstance(curves, np.ndarray) or not isinstance(curves, Sequence) or len(curves) == 0:
        raise ValueError("curves must be a non-empty list of (t, mag, mag_err) tuples")
    nb = edges.size - 1
    tot = [np.zeros(nb) for _ in range(4)]
    for k, curve in enumerate(curves):
        if len(curve) == 2:
            t, mag = curve
            err = None
        elif len(curve) == 3:
            t, mag, err = curve
        else:
            raise ValueError(f"curves[{k}] must be (t, mag) or (t, mag, mag_err)")
        t, mag, err = _check_curve(t, mag, err)
        if t.size < 2:
            continue
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
    """
    edges = _check_bins(bins)
    if isinstance(curves, np.ndarray) or not isinstance(curves, Sequence) or len(curves) == 0:
        raise ValueError("curves must be a non-empty list of (t, mag, mag_err) tuples")
    nb = edges.size - 1
    dms, errs, bs = [], [], []
    for k, curve in enumerate(curves):
        if len(curve) not in (2, 3):
            raise ValueError(f"curves[{k}] must be (t, mag) or (t, mag, mag_err)")
        t, mag, err = _check_curve(curve[0], curve[1], curve[2] if len(curve) == 3 else None)
        if t.size < 2:
            continue
        i, j = np.triu_indices(t.size, k=1)
        dtp = np.abs(t[j] - t[i])
        b = np.searchsorted(edges, dtp, side="right") - 1
        b[dtp == edges[-1]] = nb - 1
        keep = (b >= 0) & (b < nb)
        i, j, b = i[keep], j[keep], b[keep]
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


# --------------------------------------------------------------------------------------
# episodes
# --------------------------------------------------------------------------------------
def episode_durations(series, dt, threshold):
    r"""Durations of the episodes during which a light curve stays above a threshold.

    An episode is a maximal run of consecutive samples with ``series > threshold``; runs
    that touch the first or last sample are ignored (their duration is unknown).

    Parameters
    ----------
    series : array_like
        1-D light curve or 2-D array ``(n_lightcurves, n)`` (runs never join curves).
    dt : float
        Sampling interval (yr).
    threshold : float
        Threshold in the units of ``series`` (e.g. :math:`\log_{10}\lambda = -2`).

    Returns
    -------
    numpy.ndarray
        Durations (number of samples times ``dt``), in order of appearance.
    """
    x = _as_2d(series, "series")
    dt = _check_positive(dt, "dt")
    threshold = _check_finite(threshold, "threshold")
    above = x > threshold
    m, n = above.shape
    pad = np.zeros((m, n + 2), dtype=np.int8)
    pad[:, 1:-1] = above
    d = np.diff(pad, axis=1)
    r_s, c_s = np.nonzero(d == 1)   # run starts (column index into series)
    r_e, c_e = np.nonzero(d == -1)  # run ends (exclusive)
    # nonzero returns row-major order, so starts and ends pair up
    interior = (c_s > 0) & (c_e < n)
    return (c_e - c_s)[interior] * dt


def fraction_above(series, threshold):
    r"""Fraction of samples above ``threshold`` (the duty cycle).

    Parameters
    ----------
    series : array_like
        Light curve(s), any shape.
    threshold : float

    Returns
    -------
    float
    """
    x = np.asarray(series, dtype=float)
    if x.size == 0:
        raise ValueError("series is empty")
    threshold = _check_finite(threshold, "threshold")
    return float(np.mean(x > threshold))


# --------------------------------------------------------------------------------------
# multi-scale driver
# --------------------------------------------------------------------------------------
def simulate_multiscale(levels, psd, erdf, n_lightcurves, seed, leak=8, f_min="auto",
                        progress=False):
    r"""Simulate light curves at several time resolutions ([S18]_ Section 3).

    Each level is a dict ``{"dt": yr, "n": samples, "method": "e13" | "translation"}``
    (optional per-level keys: ``"n_lightcurves"``, ``"leak"``, ``"max_iter"``).  Coarse
    levels, whose runs span many bend time-scales, use :func:`emmanoulopoulos`; fine
    levels use :func:`translation_process` (see its docstring for why).  Each level gets
    its own generator from ``np.random.SeedSequence(seed).spawn(len(levels))``, so the
    result is deterministic given ``seed`` and a level does not depend on the others.

    Parameters
    ----------
    levels : sequence of dict
    psd : callable
        PSD shape ``psd(freq)``, freq in 1/yr.
    erdf : GridERDF
    n_lightcurves : int
        Light curves per level (unless overridden by the level).
    seed : int
        Master seed.
    leak : int, optional
        Red-noise-leakage factor (unless overridden by the level).
    f_min : float, None or "auto", optional
        Low-frequency cut-off for the translation levels.  ``"auto"`` (default): no cut
        if the PSD is integrable at low frequencies (e.g. ``alpha_low < 1``); otherwise
        :math:`1/T_{\max}`, :math:`T_{\max} = \max(n\,\Delta t)` over the levels (an E13
        run of that length contains the whole ERDF, so no power below its inverse
        duration is represented).  ``None`` means no cut (the PSD must be integrable).
    progress : bool, optional
        Show a tqdm progress bar over the levels.

    Returns
    -------
    list of dict
        One dict per level: ``dt``, ``n``, ``method``, ``series`` (2-D array of
        :math:`\log_{10}\lambda`), ``info`` (E13 convergence info, or the translation
        variance budget).
    """
    from tqdm.auto import tqdm

    _check_psd(psd)
    _check_erdf(erdf)
    n_lightcurves = _check_int(n_lightcurves, "n_lightcurves", 1)
    seed = _check_int(seed, "seed", 0)
    leak = _check_int(leak, "leak", 1)
    if isinstance(levels, dict) or not isinstance(levels, Sequence) or len(levels) == 0:
        raise ValueError("levels must be a non-empty list of dicts {dt, n, method}")
    parsed = []
    for i, lev in enumerate(levels):
        if not isinstance(lev, dict):
            raise ValueError(f"levels[{i}] must be a dict, got {type(lev).__name__}")
        missing = {"dt", "n", "method"} - set(lev)
        if missing:
            raise ValueError(f"levels[{i}] is missing {sorted(missing)}")
        method = lev["method"]
        if method not in ("e13", "translation"):
            raise ValueError(
                f"levels[{i}]['method'] must be 'e13' or 'translation', got {method!r}"
            )
        parsed.append({
            "dt": _check_positive(lev["dt"], f"levels[{i}]['dt']"),
            "n": _check_int(lev["n"], f"levels[{i}]['n']", 2),
            "method": method,
            "n_lightcurves": _check_int(lev.get("n_lightcurves", n_lightcurves),
                                        f"levels[{i}]['n_lightcurves']", 1),
            "leak": _check_int(lev.get("leak", leak), f"levels[{i}]['leak']", 1),
            "max_iter": _check_int(lev.get("max_iter", 300), f"levels[{i}]['max_iter']", 1),
        })
    if isinstance(f_min, str):
        if f_min != "auto":
            raise ValueError(f"f_min must be a float, None or 'auto', got {f_min!r}")
        try:
            _psd_total(psd, None)
            f_min = None  # integrable PSD: the stationary process needs no cut-off
        except ValueError:
            f_min = 1.0 / max(p["n"] * p["dt"] for p in parsed)
    elif f_min is not None:
        f_min = _check_positive(f_min, "f_min")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(parsed))]
    out = []
    for p, rng in tqdm(list(zip(parsed, rngs)), disable=not progress, desc="levels"):
        if p["method"] == "e13":
            series, info = emmanoulopoulos(p["n"], p["dt"], psd, erdf, rng, leak=p["leak"],
                                           max_iter=p["max_iter"],
                                           n_lightcurves=p["n_lightcurves"])
        else:
            series, info = translation_process(p["n"], p["dt"], psd, erdf, rng, leak=p["leak"],
                                               n_lightcurves=p["n_lightcurves"], f_min=f_min,
                                               return_info=True)
        out.append({"dt": p["dt"], "n": p["n"], "method": p["method"], "series": series,
                    "info": info})
    return out


def flicker_statistics(series, dt, threshold):
    """Duty cycle and "on"-episode lengths of light curves above ``threshold`` (log10 λ).

    Returns
    -------
    dict
        ``duty_cycle`` (fraction of time above), ``n_episodes`` (complete episodes, not
        touching the ends of a curve), ``median_episode_yr`` and ``mean_episode_yr`` (NaN when
        there is no complete episode).
    """
    durations = episode_durations(series, dt, threshold)
    return {
        "duty_cycle": float(fraction_above(series, threshold)),
        "n_episodes": int(durations.size),
        "median_episode_yr": float(np.median(durations)) if durations.size else float("nan"),
        "mean_episode_yr": float(np.mean(durations)) if durations.size else float("nan"),
    }


def multiscale_structure_functions(sims, n_lags=24, max_fraction=0.1):
    """SF (mag) of each level of :func:`simulate_multiscale` over the lags it resolves.

    Each level is measured at ``n_lags`` log-spaced lags from its sampling interval to
    ``max_fraction`` of its length (longer lags have too few independent pairs).

    Returns
    -------
    list of dict
        ``dt``, ``lags`` (the lags actually used, whole samples) and ``sf`` per level.
    """
    n_lags = _check_int(n_lags, "n_lags", 2)
    if not 0 < max_fraction <= 1:
        raise ValueError(f"max_fraction must be in (0, 1], got {max_fraction}")
    out = []
    for sim in sims:
        dt, n = float(sim["dt"]), int(sim["n"])
        hi = max(dt * n * max_fraction, 2 * dt)
        lags = np.logspace(np.log10(dt), np.log10(hi), n_lags)
        sf, used = structure_function_even(sim["series"], dt, lags, return_info=True)
        out.append({"dt": dt, "lags": used["lag"], "sf": sf})
    return out

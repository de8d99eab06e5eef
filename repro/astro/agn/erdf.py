r"""Eddington-ratio distribution functions (ERDFs): distributions of :math:`\log_{10}\lambda`.

:class:`GridERDF` tabulates any density of :math:`\log_{10}\lambda` on a fine grid and
samples it by inverse transform; :class:`BrokenPowerLawERDF` is the form of Weigel et al.
(2017) used by Sartori et al. (2018), :class:`SchechterERDF` a Schechter function. The
references ([S18]_, [W17]_) are listed in :mod:`repro.astro.agn`.

Example
-------
>>> import numpy as np
>>> from repro.astro.agn import erdf
>>> d = erdf.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-5.0, log_lambda_max=1.0)
>>> float(d.cdf(1.0)), d.sample(3, np.random.default_rng(0)).shape
(1.0, (3,))
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import _LN10, _check_finite, _check_int, _check_rng

__all__ = ["GridERDF", "BrokenPowerLawERDF", "SchechterERDF"]


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

    Raises
    ------
    ValueError
        If ``log_density`` is not callable or returns NaN or +inf on the grid, the density is
        zero everywhere, the limits are not finite with min < max, or ``n_grid`` < 101.
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

        Raises
        ------
        ValueError
            If ``rng`` is not a Generator or ``n`` is not a non-negative integer (or tuple of them).
        """
        _check_rng(rng)
        if isinstance(n, tuple):
            size = tuple(_check_int(k, "n", 0) for k in n)
        else:
            size = _check_int(n, "n", 0)
        return self.ppf(rng.random(size))

    def mean(self):
        r"""Mean of :math:`\log_{10}\lambda` (trapezoidal integral on the grid).

        Returns
        -------
        float
        """
        return float(np.trapezoid(self.grid * self.density, self.grid))

    def var(self):
        r"""Variance of :math:`\log_{10}\lambda` (trapezoidal integral on the grid).

        Returns
        -------
        float
        """
        mu = self.mean()
        return float(np.trapezoid((self.grid - mu) ** 2 * self.density, self.grid))

    def std(self):
        r"""Standard deviation of :math:`\log_{10}\lambda`.

        Returns
        -------
        float
        """
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

    Raises
    ------
    ValueError
        If a parameter is not finite or the limits are not min < max.
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

    Raises
    ------
    ValueError
        If a parameter is not finite or the limits are not min < max.
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

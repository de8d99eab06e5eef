r"""Simulated light curves with a given PSD (and ERDF): Timmer & Koenig, E13, translation process.

* :func:`timmer_koenig`: Gaussian light curves with a given PSD ([TK95]_), with red-noise
  leakage;
* :func:`emmanoulopoulos`: light curves with a given PSD *and* one-point distribution, by the
  iterative amplitude adjustment of [E13]_ as used by [S18]_ (each run is a full ERDF sample);
* :func:`translation_process`: segments of one stationary Gaussian-copula process with the
  ERDF as marginal, for runs much shorter than the PSD bend time-scale.

Randomness enters only through an explicit :class:`numpy.random.Generator`. The references
are listed in :mod:`repro.astro.agn`.

Example
-------
>>> import numpy as np
>>> from repro.astro.agn import erdf, lightcurves, psd
>>> d = erdf.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-5.0, log_lambda_max=1.0)
>>> shape = lambda f: psd.bending_power_law(f, 1e-2, 1.0, 2.0)
>>> x, info = lightcurves.emmanoulopoulos(1024, 1.0, shape, d, np.random.default_rng(1), n_lightcurves=2)
>>> x.shape, info["converged"]
((2, 1024), True)
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from ._checks import (_CHUNK_VALUES, _F_ALL_HI, _check_erdf, _check_int, _check_positive, _check_psd, _check_rng,
                      _eval_psd)
from .psd import _cut_psd, _psd_total, psd_integral

__all__ = ["timmer_koenig", "emmanoulopoulos", "translation_process"]


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

    Raises
    ------
    ValueError
        If an argument is out of range (``n`` < 2, ``dt`` <= 0, ``leak`` < 1, ...), ``psd`` is
        not callable or negative, or ``rng`` is not a Generator.
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

    Raises
    ------
    ValueError
        If an argument is out of range, ``psd`` is not callable, ``erdf`` lacks ``sample``,
        ``ppf`` or ``cdf``, ``tol`` is not in [0, 1), or ``rng`` is not a Generator.
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

    Raises
    ------
    ValueError
        If an argument is out of range, or the PSD is not integrable above ``f_min`` (for
        ``alpha_low >= 1`` without ``f_min``, or a high-frequency slope <= 1).
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

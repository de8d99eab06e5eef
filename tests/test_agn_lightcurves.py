"""Tests of repro.astro.agn.lightcurves: Timmer & Koenig, Emmanoulopoulos et al. (2013), translation process."""
import math

import numpy as np
import pytest
from scipy import stats

from repro.astro import agn
from repro.astro.agn.lightcurves import _tk_variance

# A Weigel et al. (2017)-like ERDF, truncated to keep the tests quick and well sampled.
ERDF = agn.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-4.0, log_lambda_max=0.5)


def rng(seed):
    return np.random.default_rng(seed)


def test_timmer_koenig_variance_matches_psd_integral():
    n, dt = 1024, 1.0
    psd = lambda f: agn.bending_power_law(f, 0.05, 0.0, 2.0, amplitude=3.0)  # noqa: E731
    x = agn.timmer_koenig(n, dt, psd, rng(3), leak=1, n_lightcurves=300)
    assert x.shape == (300, n)
    # exact expectation: the discrete sum over the simulated frequencies
    expected = _tk_variance(n, dt, psd)
    assert np.mean(x**2) == pytest.approx(expected, rel=0.03)
    # and the integral of the PSD over the simulated band (1/(N dt), Nyquist)
    band = agn.psd_integral(psd, 0.5 / (n * dt), 0.5 / dt)
    assert np.mean(x**2) == pytest.approx(band, rel=0.10)
    # with leakage the segment variance still matches (flat PSD at low frequency)
    y = agn.timmer_koenig(n, dt, psd, rng(4), leak=8, n_lightcurves=100)
    assert np.mean(y**2) == pytest.approx(band, rel=0.10)


def test_timmer_koenig_power_law_slope():
    n = 4096
    x = agn.timmer_koenig(n, 1.0, lambda f: f**-2.0, rng(5), leak=8, n_lightcurves=20)
    freq, power = agn.periodogram(x, 1.0)
    fit = agn.fit_psd_slope(freq, power, 1e-3, 0.1)
    assert fit["slope"] == pytest.approx(2.0, abs=0.1)
    assert fit["n"] >= 10 and fit["stderr"] < 0.1


def test_timmer_koenig_deterministic_and_validates():
    psd = lambda f: f**-1.0  # noqa: E731
    a = agn.timmer_koenig(128, 0.1, psd, rng(1))
    b = agn.timmer_koenig(128, 0.1, psd, rng(1))
    assert a.shape == (128,)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="n must be"):
        agn.timmer_koenig(1, 1.0, psd, rng(1))
    with pytest.raises(ValueError, match="dt"):
        agn.timmer_koenig(64, 0.0, psd, rng(1))
    with pytest.raises(ValueError, match="psd"):
        agn.timmer_koenig(64, 1.0, 2.0, rng(1))
    with pytest.raises(ValueError, match="rng"):
        agn.timmer_koenig(64, 1.0, psd, 1)


def test_e13_values_are_erdf_draws_and_low_frequency_slope():
    n, m = 4096, 16
    psd = lambda f: agn.bending_power_law(f, 0.2, 1.0, 2.0)  # noqa: E731
    x, info = agn.emmanoulopoulos(n, 1.0, psd, ERDF, rng(1), n_lightcurves=m)
    assert x.shape == (m, n)
    assert info["converged"] and info["n_iter"] <= 300
    # each light curve is a reordered iid ERDF sample
    assert stats.kstest(x[0], ERDF.cdf).pvalue > 0.05
    assert stats.kstest(x[1], ERDF.cdf).pvalue > 0.05
    freq, power = agn.periodogram(x, 1.0)
    lims = (2.0 / n, 0.04)
    target = agn.fit_psd_slope(freq, psd(freq), *lims)["slope"]
    fit = agn.fit_psd_slope(freq, power, *lims)
    assert fit["slope"] == pytest.approx(target, abs=0.15)
    assert target == pytest.approx(1.0, abs=0.1)


def test_e13_high_frequency_slope_and_single_curve():
    n, m = 4096, 10
    psd = lambda f: agn.bending_power_law(f, 0.005, 1.0, 2.0)  # noqa: E731
    x, info = agn.emmanoulopoulos(n, 1.0, psd, ERDF, rng(2), n_lightcurves=m)
    freq, power = agn.periodogram(x, 1.0)
    lims = (0.05, 0.45)
    target = agn.fit_psd_slope(freq, psd(freq), *lims)["slope"]
    assert agn.fit_psd_slope(freq, power, *lims)["slope"] == pytest.approx(target, abs=0.15)
    assert target == pytest.approx(2.0, abs=0.05)
    # the iteration really re-orders: the output is far from white noise
    one, info1 = agn.emmanoulopoulos(512, 1.0, psd, ERDF, rng(3))
    assert one.shape == (512,) and isinstance(info1["converged"], bool)
    assert np.corrcoef(one[1:], one[:-1])[0, 1] > 0.8
    with pytest.raises(ValueError, match="erdf"):
        agn.emmanoulopoulos(64, 1.0, psd, object(), rng(1))


def test_translation_process_marginal_and_determinism():
    psd = lambda f: agn.bending_power_law(f, 1.0, 0.0, 2.0)  # noqa: E731
    dt = 1.0 / 365.25
    x = agn.translation_process(64, dt, psd, ERDF, rng(0), n_lightcurves=3000)
    assert x.shape == (3000, 64)
    # one value per independent segment: an iid sample of the ERDF
    assert stats.kstest(x[:, 0], ERDF.cdf).pvalue > 0.01
    assert stats.kstest(x[:, 40], ERDF.cdf).pvalue > 0.01
    y = agn.translation_process(64, dt, psd, ERDF, rng(0), n_lightcurves=3000)
    np.testing.assert_array_equal(x, y)
    # a long run of a process whose bend is inside the run also follows the ERDF
    long = agn.translation_process(2**15, dt, psd, ERDF, rng(5), n_lightcurves=4)
    assert stats.ks_2samp(long.ravel()[::50], ERDF.sample(3000, rng(6))).pvalue > 0.001


def test_translation_process_short_runs_vary_little_and_need_fmin():
    psd = lambda f: agn.bending_power_law(f, 1e-5, 1.0, 2.0)  # noqa: E731
    dt = 1.0 / 365.25
    with pytest.raises(ValueError, match="f_min"):
        agn.translation_process(256, dt, psd, ERDF, rng(0))
    x, info = agn.translation_process(256, dt, psd, ERDF, rng(0), n_lightcurves=50,
                                      f_min=1e-9, return_info=True)
    assert info["var_low"] + info["var_tk"] + info["var_high"] == pytest.approx(1.0)
    # a 0.7-yr run of a 1e5-yr process is nearly constant, unlike an E13 run would be
    assert np.mean(np.std(x, axis=1)) < 0.1 * math.sqrt(ERDF.var())
    assert np.std(x[:, 0]) > 0.5 * math.sqrt(ERDF.var())

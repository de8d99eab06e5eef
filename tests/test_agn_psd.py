"""Tests of repro.astro.agn.psd: the bending power law, the periodogram and the PSD slope fit."""

import numpy as np
import pytest

from repro.astro import agn


def rng(seed):
    return np.random.default_rng(seed)


def test_bending_power_law_asymptotic_slopes_and_bend_value():
    fb, a_lo, a_hi, amp = 1e-3, 1.0, 2.5, 3.0
    f = np.array([1e-12, 1e-11, 1e3, 1e4])
    p = agn.bending_power_law(f, fb, a_lo, a_hi, amplitude=amp)
    slope_low = np.log10(p[1] / p[0]) / np.log10(f[1] / f[0])
    slope_high = np.log10(p[3] / p[2]) / np.log10(f[3] / f[2])
    assert slope_low == pytest.approx(-a_lo, abs=1e-6)
    assert slope_high == pytest.approx(-a_hi, abs=1e-6)
    assert agn.bending_power_law(fb, fb, a_lo, a_hi, amp) == pytest.approx(amp * fb**-a_lo / 2)


def test_bending_power_law_bad_arguments():
    with pytest.raises(ValueError, match="f_bend"):
        agn.bending_power_law(1.0, -1.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="alpha_high"):
        agn.bending_power_law(1.0, 1.0, 1.0, np.nan)


def test_periodogram_normalisation():
    # Parseval: sum(power) * df = variance (Nyquist term counted half)
    x = rng(2).standard_normal(256) * 2.0
    freq, power = agn.periodogram(x, 0.5)
    df = freq[0]
    w = np.ones_like(power)
    w[-1] = 0.5
    assert np.sum(w * power) * df == pytest.approx(np.var(x), rel=1e-12)
    with pytest.raises(ValueError, match="series"):
        agn.periodogram(np.zeros((2, 2, 2)), 1.0)


def test_fit_psd_slope_exact_power_law_and_errors():
    f = np.linspace(0.01, 1.0, 500)
    fit = agn.fit_psd_slope(f, 5 * f**-1.7, 0.01, 1.0, n_bins=15)
    assert fit["slope"] == pytest.approx(1.7, abs=1e-3)
    with pytest.raises(ValueError, match="fmin"):
        agn.fit_psd_slope(f, f**-1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="fewer than 3"):
        agn.fit_psd_slope(f, f**-1.0, 5.0, 6.0)

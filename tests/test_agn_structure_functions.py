"""Tests of repro.astro.agn.structure_functions: measured and model structure functions."""
import math

import numpy as np
import pytest

from repro.astro import agn


def rng(seed):
    return np.random.default_rng(seed)


def test_structure_function_white_noise_uneven():
    r = rng(7)
    sigma = 0.3
    curves = []
    for _ in range(10):
        t = np.sort(r.uniform(0.0, 3000.0, 300))
        curves.append((t, r.normal(0.0, sigma, t.size), None))
    bins = np.logspace(1, 3.4, 7)
    res = agn.structure_function_ensemble(curves, bins)
    assert np.all(res["n_pairs"] > 1000)
    np.testing.assert_allclose(res["sf"], math.sqrt(2) * sigma, rtol=0.05)
    single = agn.structure_function(*curves[0][:2], bins)
    np.testing.assert_allclose(single["sf"], math.sqrt(2) * sigma, rtol=0.15)
    # empty bins give NaN and 0 pairs
    res2 = agn.structure_function(curves[0][0], curves[0][1], [1e5, 1e6])
    assert np.isnan(res2["sf"][0]) and res2["n_pairs"][0] == 0


def test_structure_function_noise_correction():
    r = rng(8)
    curves = []
    for _ in range(10):
        t = np.sort(r.uniform(0.0, 3000.0, 300))
        err = r.uniform(0.05, 0.3, t.size)
        curves.append((t, r.normal(0.0, err), err))  # pure measurement noise
    bins = np.array([1.0, 100.0, 3000.0])
    res = agn.structure_function_ensemble(curves, bins)
    assert np.all(res["sf_raw"] > 0.2)
    assert np.all(res["sf"] < 0.05)
    # noise plus intrinsic white variability: the correction recovers sqrt(2) sigma
    curves2 = [(t, m + r.normal(0.0, 0.2, t.size), e) for t, m, e in curves]
    res2 = agn.structure_function_ensemble(curves2, bins)
    np.testing.assert_allclose(res2["sf"], math.sqrt(2) * 0.2, rtol=0.1)


def test_structure_function_bad_arguments():
    t = np.arange(10.0)
    with pytest.raises(ValueError, match="bins"):
        agn.structure_function(t, t, [1.0])
    with pytest.raises(ValueError, match="bins"):
        agn.structure_function(t, t, [2.0, 1.0])
    with pytest.raises(ValueError, match="t and mag"):
        agn.structure_function(t, t[:5], [1.0, 2.0])
    with pytest.raises(ValueError, match="curves"):
        agn.structure_function_ensemble([], [1.0, 2.0])


def test_structure_function_even_white_noise_and_lag_checks():
    sigma = 0.4
    x = rng(9).normal(-2.0, sigma, (4, 5000))
    lags = np.array([1.0, 3.0, 10.0, 100.0, 1000.0])
    sf, info = agn.structure_function_even(x, 1.0, lags, return_info=True)
    np.testing.assert_allclose(sf, 2.5 * math.sqrt(2) * sigma, rtol=0.05)
    np.testing.assert_array_equal(info["lag"], lags)
    # exact value for a hand-made series
    y = np.array([0.0, 1.0, 0.0, 1.0])
    assert agn.structure_function_even(y, 1.0, [1.0], scale=1.0)[0] == pytest.approx(1.0)
    assert agn.structure_function_even(y, 1.0, [2.0])[0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match=r"\(n-1\)\*dt = 4999"):
        agn.structure_function_even(x, 1.0, [5000.0])
    with pytest.raises(ValueError, match="lags"):
        agn.structure_function_even(x, 1.0, [0.1])


def test_drw_structure_function_limits_and_ensemble():
    sf_inf, tau = 0.3, 200.0
    small = agn.drw_structure_function(1e-4 * tau, sf_inf, tau)
    assert small == pytest.approx(sf_inf * math.sqrt(1e-4), rel=1e-4)
    assert agn.drw_structure_function(100 * tau, sf_inf, tau) == pytest.approx(sf_inf)
    out = agn.drw_structure_function(np.array([[1.0], [10.0]]), np.array([0.1, 0.2]), tau)
    assert out.shape == (2, 2)
    # ensemble quantiles: identical quasars give identical quantiles
    dt = np.logspace(0, 4, 9)
    q = agn.ensemble_drw_sf(dt, np.full(50, 0.2), np.full(50, tau))
    assert q.shape == (3, dt.size)
    np.testing.assert_allclose(q[1], agn.drw_structure_function(dt, math.sqrt(2) * 0.2, tau))
    sig = rng(12).uniform(0.1, 0.3, 1001)
    q2 = agn.ensemble_drw_sf([1e6], sig, np.full(sig.size, tau), quantiles=(0.5,))
    assert q2[0, 0] == pytest.approx(math.sqrt(2) * np.median(sig), rel=1e-6)
    with pytest.raises(ValueError, match="same length"):
        agn.ensemble_drw_sf(dt, np.ones(3), np.ones(4))


def test_analytic_sf_lorentzian_is_drw():
    fb, var = 0.5, 0.3
    tau = 1.0 / (2 * math.pi * fb)
    lags = np.logspace(-3, 2, 25)
    psd = lambda f: agn.bending_power_law(f, fb, 0.0, 2.0)  # noqa: E731
    sf = agn.analytic_sf(lags, psd, var)
    np.testing.assert_allclose(sf, np.sqrt(2 * var * (1 - np.exp(-lags / tau))), rtol=1e-3)
    # a PSD that is not integrable at low frequency needs a cut-off
    red = lambda f: agn.bending_power_law(f, fb, 1.0, 2.0)  # noqa: E731
    with pytest.raises(ValueError, match="f_min"):
        agn.analytic_sf(lags, red, var)
    cut = agn.analytic_sf(np.array([1e-3, 1e6]), red, var, f_min=1e-4)
    assert cut[1] == pytest.approx(math.sqrt(2 * var), rel=1e-3)
    assert cut[0] < 0.1 * cut[1]


def test_simulated_sf_matches_analytic_for_gaussian_process():
    # a TK light curve's SF follows the analytic Gaussian-process SF
    fb = 0.02
    psd = lambda f: agn.bending_power_law(f, fb, 0.0, 2.0)  # noqa: E731
    x = agn.timmer_koenig(4096, 1.0, psd, rng(13), leak=8, n_lightcurves=40)
    lags = np.array([1.0, 4.0, 16.0, 64.0])
    sim = agn.structure_function_even(x, 1.0, lags, scale=1.0)
    # TK simulates no power above the Nyquist frequency: compare with the band-limited PSD
    band_psd = lambda f: np.where(f <= 0.5, psd(f), 0.0)  # noqa: E731
    band = agn.psd_integral(psd, 1e-12, 0.5)
    theory = agn.analytic_sf(lags, band_psd, band)
    np.testing.assert_allclose(sim, theory, rtol=0.05)
    # the unlimited PSD has more small-lag variability: the test can tell them apart
    full = agn.analytic_sf(lags[:1], psd, agn.psd_integral(psd, 1e-12, 1e8))
    assert full[0] > 1.1 * sim[0]


def test_robust_sf_ignores_outliers_that_rms_does_not():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 1000, 400))
    err = np.full(t.size, 0.1)
    mag = 18 + rng.normal(0, 0.1, t.size)  # pure noise: true SF is 0
    out = rng.choice(t.size, 20, replace=False)
    mag[out] += rng.choice([-1, 1], 20) * 1.5  # 5 % outliers at 15 sigma
    bins = np.logspace(0, 2.5, 6)
    robust = agn.structure_function_robust([(t, mag, err)], bins)
    rms = agn.structure_function_ensemble([(t, mag, err)], bins)
    assert np.nanmax(robust["sf"]) < 0.12  # noise-level residual
    assert np.nanmin(rms["sf"]) > 0.2
    with pytest.raises(ValueError, match="non-empty"):
        agn.structure_function_robust([], bins)


def test_robust_sf_with_noise_floor():
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 100, 300))
    mag = rng.normal(0, 0.2, t.size)  # noise 0.2, quoted errors (0.1) too small
    bins = np.array([1.0, 10.0, 50.0])
    quoted = agn.structure_function_robust([(t, mag, np.full(t.size, 0.1))], bins)
    floor = agn.structure_function_robust([(t, mag, None)], bins)["sf_raw"][0]
    fixed = agn.structure_function_robust([(t, mag, None)], bins, noise_floor=floor)
    assert np.nanmin(quoted["sf"]) > 0.2  # under-estimated errors leave a fake SF
    assert np.nanmax(fixed["sf"]) < 0.1

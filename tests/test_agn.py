"""Tests of repro.astro.agn (AGN light-curve simulation after Sartori et al. 2018)."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from repro.astro import agn

# A Weigel et al. (2017)-like ERDF, truncated to keep the tests quick and well sampled.
ERDF = agn.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-4.0, log_lambda_max=0.5)


def rng(seed):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ bending power law
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


# ------------------------------------------------------------------ ERDF
@pytest.mark.parametrize(
    "erdf",
    [ERDF, agn.SchechterERDF(-1.5, 0.3, log_lambda_min=-5.0, log_lambda_max=1.0)],
    ids=["broken-power-law", "schechter"],
)
def test_erdf_normalisation_cdf_ppf_moments(erdf):
    lo, hi = erdf.log_lambda_min, erdf.log_lambda_max
    total, _ = integrate.quad(erdf.pdf, lo, hi, limit=200)
    assert total == pytest.approx(1.0, abs=1e-5)
    assert erdf.pdf(lo - 0.1) == 0.0 and erdf.pdf(hi + 0.1) == 0.0
    x = np.linspace(lo, hi, 37)
    c = erdf.cdf(x)
    ok = (c > 1e-9) & (c < 1 - 1e-9)  # where the CDF is invertible in double precision
    assert ok.sum() > 20
    np.testing.assert_allclose(erdf.ppf(c[ok]), x[ok], atol=1e-6)
    q = np.linspace(0.0, 1.0, 41)
    np.testing.assert_allclose(erdf.cdf(erdf.ppf(q)), q, atol=1e-9)
    mean, _ = integrate.quad(lambda v: v * erdf.pdf(v), lo, hi, limit=200)
    var, _ = integrate.quad(lambda v: (v - mean) ** 2 * erdf.pdf(v), lo, hi, limit=200)
    assert erdf.mean() == pytest.approx(mean, abs=1e-5)
    assert erdf.var() == pytest.approx(var, rel=1e-4)


def test_broken_power_law_shape():
    # well below / above the break dN/dlog(lambda) ~ lambda^-delta1 / lambda^-delta2
    lo = ERDF.pdf(np.array([-3.9, -3.8]))
    hi = ERDF.pdf(np.array([0.3, 0.4]))
    assert np.log10(lo[1] / lo[0]) / 0.1 == pytest.approx(-0.47, abs=0.01)
    assert np.log10(hi[1] / hi[0]) / 0.1 == pytest.approx(-2.53, abs=0.01)


def test_erdf_sample_distribution():
    draws = ERDF.sample(20000, rng(11))
    assert draws.min() >= ERDF.log_lambda_min and draws.max() <= ERDF.log_lambda_max
    assert stats.kstest(draws, ERDF.cdf).pvalue > 0.01
    # and a wrong distribution is rejected: the test can fail
    shifted = agn.BrokenPowerLawERDF(-1.5, 0.47, 2.53, -4.0, 0.5)
    assert stats.kstest(draws, shifted.cdf).pvalue < 1e-6


def test_erdf_bad_parameters():
    with pytest.raises(ValueError, match="log_lambda_min"):
        agn.BrokenPowerLawERDF(-2.0, 0.5, 2.5, log_lambda_min=0.0, log_lambda_max=-1.0)
    with pytest.raises(ValueError, match="slope_low"):
        agn.BrokenPowerLawERDF(-2.0, np.inf, 2.5)
    with pytest.raises(ValueError, match="log_lambda_break"):
        agn.BrokenPowerLawERDF(np.nan, 0.5, 2.5)
    with pytest.raises(ValueError, match="alpha"):
        agn.SchechterERDF(-1.0, np.nan)
    with pytest.raises(ValueError, match="log_lambda_min"):
        agn.SchechterERDF(-1.0, 0.2, log_lambda_min=1.0, log_lambda_max=1.0)
    with pytest.raises(ValueError, match="rng"):
        ERDF.sample(10, 42)


# ------------------------------------------------------------------ Timmer & Koenig
def test_timmer_koenig_variance_matches_psd_integral():
    n, dt = 1024, 1.0
    psd = lambda f: agn.bending_power_law(f, 0.05, 0.0, 2.0, amplitude=3.0)  # noqa: E731
    x = agn.timmer_koenig(n, dt, psd, rng(3), leak=1, n_lightcurves=300)
    assert x.shape == (300, n)
    # exact expectation: the discrete sum over the simulated frequencies
    expected = agn._tk_variance(n, dt, psd)
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


# ------------------------------------------------------------------ Emmanoulopoulos et al.
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


# ------------------------------------------------------------------ translation process
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


# ------------------------------------------------------------------ structure functions
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


def test_structure_function_even_fast_on_long_series():
    x = rng(10).standard_normal((4, 2**18))
    lags = np.unique(np.round(np.logspace(0, 5, 50)))
    import time

    t0 = time.perf_counter()
    sf = agn.structure_function_even(x, 1.0, lags)
    assert time.perf_counter() - t0 < 5.0
    np.testing.assert_allclose(sf, 2.5 * math.sqrt(2), rtol=0.05)


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


# ------------------------------------------------------------------ episodes and driver
def test_episode_durations_hand_made():
    s = np.array([3, 0, 3, 3, 0, 0, 3, 3, 3, 0, 3], dtype=float)
    np.testing.assert_allclose(agn.episode_durations(s, 0.5, 1.0), [1.0, 1.5])
    two = np.vstack([s, s[::-1]])
    np.testing.assert_allclose(agn.episode_durations(two, 1.0, 1.0), [2, 3, 3, 2])
    assert agn.episode_durations(np.zeros(5), 1.0, 1.0).size == 0
    assert agn.fraction_above(s, 1.0) == pytest.approx(7 / 11)


def test_simulate_multiscale_deterministic():
    psd = lambda f: agn.bending_power_law(f, 1e-4, 1.0, 2.0)  # noqa: E731
    levels = [
        {"dt": 1.0 / 365.25, "n": 256, "method": "translation"},
        {"dt": 100.0, "n": 512, "method": "e13"},
    ]
    a = agn.simulate_multiscale(levels, psd, ERDF, n_lightcurves=3, seed=5)
    b = agn.simulate_multiscale(levels, psd, ERDF, n_lightcurves=3, seed=5)
    c = agn.simulate_multiscale(levels, psd, ERDF, n_lightcurves=3, seed=6)
    assert [r["method"] for r in a] == ["translation", "e13"]
    for ra, rb, rc in zip(a, b, c):
        assert ra["series"].shape == (3, ra["n"])
        np.testing.assert_array_equal(ra["series"], rb["series"])
        assert not np.array_equal(ra["series"], rc["series"])
    assert a[0]["info"]["f_min"] == pytest.approx(1.0 / (512 * 100.0))
    assert isinstance(a[1]["info"]["converged"], bool)
    # an integrable PSD needs no low-frequency cut-off
    flat = lambda f: agn.bending_power_law(f, 1e-2, 0.0, 2.0)  # noqa: E731
    d = agn.simulate_multiscale(levels[:1], flat, ERDF, n_lightcurves=2, seed=5)
    assert d[0]["info"]["f_min"] is None
    with pytest.raises(ValueError, match="method"):
        agn.simulate_multiscale([{"dt": 1.0, "n": 8, "method": "x"}], psd, ERDF, 1, 0)
    with pytest.raises(ValueError, match="missing"):
        agn.simulate_multiscale([{"dt": 1.0}], psd, ERDF, 1, 0)


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


def test_flicker_statistics_on_hand_made_series():
    x = np.array([-3.0, -1.0, -1.0, -3.0, -1.0, -3.0, -3.0, -1.0])
    st = agn.flicker_statistics(x, 10.0, -2.0)
    assert st["duty_cycle"] == pytest.approx(4 / 8)
    assert st["n_episodes"] == 2  # the run touching the end is not complete
    assert st["median_episode_yr"] == pytest.approx(15.0)
    none = agn.flicker_statistics(np.full(5, -3.0), 1.0, -2.0)
    assert none["n_episodes"] == 0 and np.isnan(none["median_episode_yr"])


def test_multiscale_structure_functions_cover_each_level():
    erdf = agn.BrokenPowerLawERDF(-1.84, 0.47, 2.53, -5.0, 1.0)
    psd = lambda f: agn.bending_power_law(f, 1e-2, 0.0, 2.0)  # noqa: E731
    levels = [{"dt": 1.0, "n": 2048, "method": "translation"}, {"dt": 100.0, "n": 2048, "method": "translation"}]
    sims = agn.simulate_multiscale(levels, psd, erdf, 2, seed=5)
    out = agn.multiscale_structure_functions(sims, n_lags=10)
    assert [o["dt"] for o in out] == [1.0, 100.0]
    for o in out:
        assert o["lags"][0] == pytest.approx(o["dt"]) and o["lags"][-1] <= 0.1 * 2048 * o["dt"] + o["dt"]
        assert np.all(np.isfinite(o["sf"])) and np.all(o["sf"] > 0)
    with pytest.raises(ValueError, match="max_fraction"):
        agn.multiscale_structure_functions(sims, max_fraction=0)

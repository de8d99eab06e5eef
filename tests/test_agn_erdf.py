"""Tests of repro.astro.agn.erdf: Eddington-ratio distribution functions."""

import numpy as np
import pytest
from scipy import integrate, stats

from repro.astro import agn

# A Weigel et al. (2017)-like ERDF, truncated to keep the tests quick and well sampled.
ERDF = agn.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-4.0, log_lambda_max=0.5)


def rng(seed):
    return np.random.default_rng(seed)


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

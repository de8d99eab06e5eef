"""Tests of repro.astro.agn.comparison: numbers from structure-function curves."""
import numpy as np
import pytest

from repro.astro.agn import comparison


def test_log_slope_of_power_law():
    lags = np.logspace(0, 4, 30)
    assert comparison.log_slope(lags, 3 * lags**0.5, 1, 1e4) == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="fewer than two"):
        comparison.log_slope(lags, lags, 1e5, 1e6)
    with pytest.raises(ValueError, match="0 < lo < hi"):
        comparison.log_slope(lags, lags, 10, 1)


def test_max_abs_log_ratio():
    lags = np.logspace(-1, 2, 40)
    a, b = lags**0.5, 2 * lags**0.5
    assert comparison.max_abs_log_ratio(lags, a, lags, b, 1, 10) == pytest.approx(np.log10(2))
    assert np.isnan(comparison.max_abs_log_ratio(lags, a, lags, b, 1, 1e3))  # b does not reach 1e3


def test_lag_at_value_interpolates_in_log():
    lags = np.logspace(0, 4, 5)
    sf = lags**0.5  # 1, 3.16, 10, 31.6, 100
    assert comparison.lag_at_value(lags, sf, 10.0) == pytest.approx(100.0)
    assert comparison.lag_at_value(lags, sf, 20.0) == pytest.approx(400.0, rel=1e-9)
    assert np.isnan(comparison.lag_at_value(lags, sf, 1e3))
    assert comparison.lag_at_value(lags, sf, 0.5) == 1.0


def test_stitch_prefers_finer_level_below_coarser_range():
    fine = {"dt": 1.0, "lags": np.array([1.0, 10.0, 100.0]), "sf": np.array([1.0, 2.0, 3.0])}
    coarse = {"dt": 50.0, "lags": np.array([50.0, 500.0]), "sf": np.array([9.0, 9.5])}
    lags, sf = comparison.stitch([coarse, fine])
    assert lags.tolist() == [1.0, 10.0, 50.0, 500.0] and sf.tolist() == [1.0, 2.0, 9.0, 9.5]
    with pytest.raises(ValueError):
        comparison.stitch([])


def test_value_at():
    lags = np.logspace(0, 4, 5)
    assert comparison.value_at(lags, lags**0.5, 100.0) == pytest.approx(10.0)
    assert comparison.value_at(lags, lags**0.5, 1e3 * 10**0.5) == pytest.approx(10**1.75)
    assert np.isnan(comparison.value_at(lags, lags**0.5, 1e5))

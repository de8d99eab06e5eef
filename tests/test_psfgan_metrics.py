"""repro.astro.psfgan.metrics: relative magnitude errors, robust sigma, error summaries."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import metrics


def test_docstring_examples():
    assert doctest.testmod(metrics).failed == 0


def test_relative_mag_error_and_robust_sigma():
    assert metrics.relative_mag_error(20.2, 20.0) == pytest.approx(0.01)
    x = np.random.default_rng(0).normal(0, 2.0, 20000)
    assert metrics.robust_sigma(x) == pytest.approx(2.0, rel=0.03)
    assert np.isnan(metrics.robust_sigma([np.nan]))


def test_binned_stats_and_error_summary_count_bad_values():
    c = np.array([0.2, 0.3, 3.0, 4.0, 5.0, 6.0])
    e = np.array([0.1, np.nan, 0.01, -0.01, 0.03, np.nan])
    st = metrics.binned_stats(c, e, [0.1, 1.0, 10.0])
    assert [s["n"] for s in st] == [2, 4]
    assert [s["n_bad"] for s in st] == [1, 1]
    assert st[1]["median"] == pytest.approx(0.01)
    s = metrics.error_summary(c, e, 2.0)
    assert (s["n"], s["n_bad"]) == (4, 1)
    assert s["robust_sigma"] == pytest.approx(1.4826 * 0.02)
    assert s["total"] == pytest.approx(np.hypot(0.01, 1.4826 * 0.02))


def test_mismatch_degradation():
    c = np.full(5, 5.0)
    base = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])
    errs = {1.0: base, 0.5: base * 2, 1.5: base + 0.1}
    d = metrics.mismatch_degradation(c, errs, [0.5, 1.5], 2.0)
    s0 = metrics.error_summary(c, base, 2.0)["total"]
    want = np.mean([2 * s0, np.hypot(0.1, s0)]) - s0
    assert d == pytest.approx(want)
    with pytest.raises(KeyError):
        metrics.mismatch_degradation(c, {0.5: base}, [0.5], 2.0)

"""Tests of repro.astro.agn.multiscale: simulations at several resolutions and their structure functions."""

import numpy as np
import pytest

from repro.astro import agn

# A Weigel et al. (2017)-like ERDF, truncated to keep the tests quick and well sampled.
ERDF = agn.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-4.0, log_lambda_max=0.5)


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

"""The driver of the agn chain (repro.papers.agn)."""
import doctest

import numpy as np
import pytest

from repro import params
from repro.astro import agn
from repro.papers import agn as paper

SMALL = {"sf_level_n": 1024, "sf_n_lightcurves": 1, "sf_levels_dt_years": "[0.01, 1.0]"}


def test_docstring_example():
    failed, _ = doctest.testmod(paper, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert failed == 0


def test_setup_names_the_seeds_and_builds_the_erdf_lazily():
    S = paper.setup(params.load("agn", "smoke", {"seed": 7}))
    assert (S.seeds.e13, S.seeds.multiscale) == (7, 8)  # as the record was made: seed, seed + 1
    assert "erdf" not in S.__dict__
    assert isinstance(S.erdf, agn.BrokenPowerLawERDF) and S.erdf is S.erdf
    assert (S.erdf.log_lambda_min, S.erdf.log_lambda_max) == (-5.0, 1.0)


def test_setup_psd_levels_and_cutoff_follow_the_parameters():
    P = params.load("agn", "smoke", {"psd_bend_years": "100", "psd_alpha_low": "0.5", **SMALL})
    S = paper.setup(P)
    f = np.logspace(-6, 2, 9)
    np.testing.assert_array_equal(S.psd(f), agn.bending_power_law(f, 0.01, 0.5, 2.0))
    assert S.levels == [{"dt": 0.01, "n": 1024, "method": "translation"}, {"dt": 1.0, "n": 1024, "method": "translation"}]
    assert S.f_min == pytest.approx(1 / 1024)


def test_simulated_structure_functions_round_trip():
    S = paper.setup(params.load("agn", "smoke", SMALL))
    series, _ = agn.emmanoulopoulos(2048, 1.0, S.psd, S.erdf, np.random.default_rng(0), max_iter=20, n_lightcurves=2)
    out = paper.simulated_structure_functions(S, series)
    assert int(out["n_levels"]) == 2 and out["sf_analytic"].shape == (200,)
    assert all(np.all(np.isfinite(out[k])) and np.all(out[k] > 0) for k in ("sf_0", "sf_1", "sf_e13", "sf_analytic"))
    again = paper.simulated_structure_functions(S, series)
    np.testing.assert_array_equal(out["sf_1"], again["sf_1"])  # seeded by S.seeds.multiscale
    lags, sf = paper.model_structure_function(out)
    assert np.all(np.diff(lags) >= 0) and lags[0] == pytest.approx(0.01) and sf.size == lags.size

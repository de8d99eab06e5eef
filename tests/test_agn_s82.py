"""Tests of repro.astro.agn.s82: the Stripe 82 DRW fits and the CRTS light curves (real data)."""
import numpy as np

from repro.astro.agn import s82

from .conftest import needs_data


@needs_data
def test_drw_fits_real_counts_and_units():
    for band in ("u", "r"):
        df = s82.load_drw_fits(band)
        assert 9100 <= len(df) <= 9150
        assert (df.sigma_lo <= df.sigma_med).all() and (df.sigma_med <= df.sigma_hi).all()
        assert 0.05 < df.sigma_med.median() < 0.3  # mag
        assert 100 < df.tau_med.median() < 1000  # days
        assert df.dbID.is_unique


@needs_data
def test_lc_stats_and_crts():
    stats = s82.load_lc_stats()
    assert len(stats) == 9258 and "mean_mag_r" in stats
    lcs = s82.load_crts_lightcurves(good_only=False)
    assert len(lcs) == 12 and sum(len(lc.mjd) for lc in lcs) == 3295
    for lc in lcs:
        assert np.all(np.diff(lc.mjd) >= 0) and lc.years[0] == 0


def test_bad_band():
    import pytest
    with pytest.raises(ValueError, match="band must be one of"):
        s82.load_drw_fits("y")

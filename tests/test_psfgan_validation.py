"""repro.astro.psfgan.validation: the recovered magnitudes' errors, their summaries and the checkpoint score."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import validation
from repro.astro.psfgan.photometry import aperture_flux, flux_to_mag


def test_docstring_examples():
    assert doctest.testmod(validation).failed == 0


def test_recovered_errors_match_the_definition():
    rng = np.random.default_rng(0)
    hosts = rng.uniform(0.05, 0.15, (4, 16, 16))
    ps = np.zeros((4, 16, 16))
    ps[:, 8, 8] = [10.0, 20.0, 30.0, 40.0]
    true_h = aperture_flux(hosts, 6.0)
    recovered = hosts * 1.1   # 10 % too bright: the point source loses that light
    err = validation.recovered_errors(recovered, hosts + ps, true_h, ps.sum(axis=(1, 2)), 6.0)
    m_true = flux_to_mag(true_h)
    assert np.allclose(err["host"], (flux_to_mag(1.1 * true_h) - m_true) / m_true)
    ps_rec = ps.sum(axis=(1, 2)) - 0.1 * true_h
    assert np.all(ps_rec > 0)
    assert np.allclose(err["ps"], (flux_to_mag(ps_rec) - flux_to_mag(ps.sum(axis=(1, 2))))
                       / flux_to_mag(ps.sum(axis=(1, 2))))


def test_score_is_the_sum_of_total_errors_and_infinite_with_many_failures():
    c = np.array([0.5, 3.0, 4.0, 5.0])
    err = {"host": np.array([9.0, 0.01, -0.01, 0.03]), "ps": np.array([9.0, 0.0, 0.0, 0.0])}
    out = validation.score_errors(c, err, 2.0, edges=[0.1, 1.0, 10.0])
    assert out["host"]["n"] == 3 and out["host"]["median"] == pytest.approx(0.01)
    assert out["score"] == pytest.approx(out["host"]["total"] + out["ps"]["total"])
    assert [b["n"] for b in out["host_bins"]] == [1, 3]
    err["host"][1] = np.nan   # one of three summarised recoveries has no positive flux
    assert validation.score_errors(c, err, 2.0)["score"] == np.inf
    assert np.isfinite(validation.score_errors(c, err, 2.0, max_bad_fraction=0.5)["score"])

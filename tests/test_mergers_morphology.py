"""Tests of repro.astro.mergers.morphology: statmorph on synthetic Sérsic galaxies, failure flags, merger lines,
baselines."""
import numpy as np
import pandas as pd
import pytest
from scipy.special import gamma

from repro.astro.mergers import cross_validation, statistics
from repro.astro.mergers import morphology as mo
from repro.astro.sersic import sersic_bn, sersic_image


def _galaxy(n: float, r_e: float, size: int, amplitude: float, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A round Sérsic galaxy of surface brightness ``amplitude`` at ``r_e``, centred, plus Gaussian noise."""
    b = sersic_bn(n)
    flux = amplitude * 2 * np.pi * n * r_e ** 2 * np.exp(b) * b ** (-2 * n) * gamma(2 * n)  # Graham & Driver 2005
    img = sersic_image(size, flux, r_e, n, q=1.0, pa_deg=0.0)
    return img + np.random.default_rng(seed).normal(0, noise, img.shape) if noise else img


def _petrosian_concentration(n: float, r_eff: float, eta: float = 0.2, extent: float = 1.5) -> float:
    """Concentration 5 log10(r80/r20) of a circular Sérsic profile, computed from the profile itself.

    statmorph's conventions (Lotz et al. 2004): the Petrosian radius where the surface brightness
    at r is ``eta`` times the mean within r, the total flux inside ``extent`` Petrosian radii.
    """
    from scipy.optimize import brentq
    b = sersic_bn(n)
    r = np.linspace(1e-4, 40 * r_eff, 400001)
    I = np.exp(-b * ((r / r_eff) ** (1.0 / n) - 1.0))  # noqa: E741
    L = np.concatenate([[0.0], np.cumsum(0.5 * (I[1:] * r[1:] + I[:-1] * r[:-1]) * np.diff(r))]) * 2 * np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = I / (L / (np.pi * r ** 2))
    ratio[0] = 1.0
    rp = r[np.argmax(ratio < eta)]
    total = np.interp(extent * rp, r, L)
    r20 = brentq(lambda x: np.interp(x, r, L) - 0.2 * total, r[1], extent * rp)
    r80 = brentq(lambda x: np.interp(x, r, L) - 0.8 * total, r[1], extent * rp)
    return float(5 * np.log10(r80 / r20))


def test_galaxy_helper_has_the_asked_surface_brightness_at_r_e():
    img = _galaxy(1.0, 8.0, 101, 50.0)
    assert img[50, 58] == pytest.approx(50.0, rel=0.01)   # one effective radius from the centre
    assert img.sum() == pytest.approx(50.0 * 2 * np.pi * 64 * np.exp(sersic_bn(1)) / sersic_bn(1) ** 2, rel=0.01)


def test_petrosian_concentration_reference_values():
    # exponential disk: C = 5 log10(r80/r20) ~ 2.7 with the 1.5 r_P total (2.80 for infinite apertures)
    c1 = _petrosian_concentration(1.0, 8.0)
    assert c1 == pytest.approx(2.736, abs=0.01)
    # independent of the scale radius
    assert _petrosian_concentration(1.0, 3.0) == pytest.approx(c1, abs=0.005)
    # de Vaucouleurs is much more concentrated
    assert _petrosian_concentration(4.0, 8.0) > 4.0


def test_statmorph_concentration_of_synthetic_exponential_disk():
    img = _galaxy(1.0, 8.0, size=101, amplitude=50.0, noise=1.0, seed=3)
    r = mo.measure(img)
    assert r["status"] == "ok" and r["flag"] <= 1
    assert r["concentration"] == pytest.approx(_petrosian_concentration(1.0, 8.0), abs=0.06)
    # a smooth symmetric model: asymmetry near zero, M20 typical of a disk
    assert abs(r["asymmetry"]) < 0.05
    assert -2.2 < r["m20"] < -1.5
    assert r["sky_rms"] == pytest.approx(1.0, rel=0.15)  # the background estimate finds the added noise


def test_concentration_orders_sersic_index_and_lotz_line_calls_them_normal():
    disk = mo.measure(_galaxy(1.0, 6.0, size=101, amplitude=50.0, noise=1.0, seed=1))
    bulge = mo.measure(_galaxy(4.0, 6.0, size=101, amplitude=50.0, noise=1.0, seed=1))
    assert bulge["concentration"] > disk["concentration"] + 0.7
    assert bulge["gini"] > disk["gini"]
    assert not mo.lotz_merger(disk["gini"], disk["m20"])


def test_two_nuclei_are_more_asymmetric():
    one = _galaxy(1.0, 6.0, size=101, amplitude=50.0, noise=1.0, seed=2)
    two = one + np.roll(_galaxy(1.0, 4.0, size=101, amplitude=40.0), (8, 10), axis=(0, 1))
    a1, a2 = mo.measure(one), mo.measure(two)
    assert a2["asymmetry"] > a1["asymmetry"] + 0.1
    assert a2["m20"] > a1["m20"]  # the second nucleus carries the brightest 20 % off centre


def test_failures_are_flagged_not_raised():
    for bad in (np.zeros((60, 60)), np.zeros((5, 5)), np.full((40, 40), np.nan)):
        r = mo.measure(bad)
        assert r["status"] != "ok"
        assert np.isnan(r["concentration"]) and np.isnan(r["gini"])
    df = mo.measure_many([np.zeros((60, 60)), _galaxy(1.0, 6.0, size=81, amplitude=50.0, noise=1.0)],
                         n_jobs=1, progress=False)
    assert len(df) == 2
    assert df["failed"].tolist() == [True, False]


def test_measure_many_parallel_matches_serial():
    imgs = [_galaxy(n, 5.0, size=61, amplitude=50.0, noise=1.0, seed=s) for s, n in enumerate((1, 2, 4))]
    a = mo.measure_many(imgs, n_jobs=1, progress=False)
    b = mo.measure_many(imgs, n_jobs=2, chunk=1, progress=False)
    cols = list(mo.ALL_FEATURES)
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-10)


def test_cached_measure_reuses_only_same_keys(tmp_path):
    imgs = [np.zeros((40, 40)), _galaxy(1.0, 5.0, size=61, amplitude=50.0, noise=1.0)]
    p = tmp_path / "m.npz"
    a = mo.cached_measure(p, imgs, ["a", "b"], n_jobs=1, progress=False)
    b = mo.cached_measure(p, [], ["a", "b"], n_jobs=1, progress=False)  # from the cache: images not needed
    pd.testing.assert_frame_equal(a[list(mo.ALL_FEATURES)], b[list(mo.ALL_FEATURES)])
    assert b["status"].tolist() == a["status"].tolist()
    c = mo.cached_measure(p, imgs[:1], ["z"], n_jobs=1, progress=False)  # other keys: measured again
    assert len(c) == 1


def test_r_band_and_block_average():
    img = np.zeros((9, 9, 3), np.uint8)
    img[:, :, 1] = np.arange(81).reshape(9, 9)
    r = mo.r_band(img, 2)
    assert r.shape == (4, 4)
    assert r[0, 0] == pytest.approx(np.mean([0, 1, 9, 10]))
    with pytest.raises(ValueError, match="colour image"):
        mo.r_band(np.zeros((9, 9)))
    with pytest.raises(ValueError, match="factor"):
        mo.block_average(np.zeros((4, 4)), 0)


def test_merger_lines():
    # Lotz et al. 2008: G = -0.14 M20 + 0.33; at M20 = -1 the line is at G = 0.47
    assert mo.lotz_merger([0.48, 0.46, np.nan], [-1.0, -1.0, -1.0]).tolist() == [True, False, False]
    # Lotz et al. 2004: G = -0.115 M20 + 0.384; at M20 = -2 the line is at G = 0.614
    assert mo.lotz_merger([0.62, 0.60], [-2.0, -2.0], line=mo.LOTZ_2004).tolist() == [True, False]
    assert mo.conselice_merger([0.36, 0.34, np.nan]).tolist() == [True, False, False]
    rules = mo.rule_scores(pd.DataFrame({"gini": [0.48, 0.46], "m20": [-1.0, -1.0], "asymmetry": [0.1, 0.4]}))
    assert rules["lotz"].tolist() == [1.0, 0.0] and rules["conselice"].tolist() == [0.0, 1.0]


def test_cv_classifier_separates_features_and_imputes_failures():
    rng = np.random.default_rng(0)
    n = 200
    y = (rng.random(n) < 0.3).astype(int)
    morph = pd.DataFrame({"gini": 0.45 + 0.1 * y + 0.02 * rng.standard_normal(n),
                          "m20": -1.8 + 0.6 * y + 0.1 * rng.standard_normal(n),
                          "concentration": 3 + rng.standard_normal(n), "asymmetry": rng.random(n),
                          "smoothness": rng.random(n)})
    morph.loc[:4, ["gini", "m20"]] = np.nan
    morph["failed"] = morph["gini"].isna()
    splits = cross_validation.cv_splits(y, 4, [0])
    p = mo.cv_classifier(morph, y, splits, "gini_m20")
    assert len(p) == n and sorted(p["index"]) == list(range(n))
    assert np.isfinite(p["p_merger"]).all()
    assert statistics.balanced_error(p["y"], p["p_merger"] > 0.5) < 0.1
    cas = mo.cv_classifier(morph, y, splits, "cas")  # uninformative features: near chance
    assert statistics.balanced_error(cas["y"], cas["p_merger"] > 0.5) > 0.3
    assert p["failed"].sum() == 5

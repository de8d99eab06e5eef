"""PSFGAN chain: PSF handling, point-source simulation, stretch, FITS errors (fast)."""
import numpy as np
import pytest

from repro.astro import agn_sim, psf, psfgan
from repro.astro.fits_io import FitsInputError, read_image
from repro.errors import ReproError


def gaussian_psf(size=31, sigma=2.0):
    yy, xx = np.indices((size, size)) - size // 2
    p = np.exp(-0.5 * (yy ** 2 + xx ** 2) / sigma ** 2)
    return p / p.sum()


# ------------------------------------------------------------------ simulation
@pytest.mark.parametrize("flux", [0.0, 1.0, 123.456, 1e5])
def test_point_source_has_exactly_the_intended_flux(flux):
    ps = agn_sim.point_source_image(gaussian_psf(), flux, 64)
    assert ps.sum() == pytest.approx(flux, rel=1e-12, abs=1e-12)
    assert np.unravel_index(np.argmax(ps), ps.shape) == (32, 32) or flux == 0


def test_point_source_cropped_psf_still_conserves_flux():
    # a PSF wider than the stamp is cropped and renormalised
    ps = agn_sim.point_source_image(gaussian_psf(51, 8.0), 10.0, 32)
    assert ps.shape == (32, 32)
    assert ps.sum() == pytest.approx(10.0, rel=1e-12)


def test_add_point_source_noiseless_and_noise_mean():
    host = np.zeros((64, 64))
    img, ps = agn_sim.add_point_source(host, gaussian_psf(), 50.0, gain=900.0, rng=None, noise=False)
    assert img.sum() == pytest.approx(50.0, rel=1e-12)
    rng = np.random.default_rng(1)
    sums = [agn_sim.add_point_source(host, gaussian_psf(), 50.0, 900.0, rng)[0].sum() for _ in range(200)]
    # Poisson noise of 45,000 electrons: sd of the sum = sqrt(50/900) ≈ 0.236; mean of 200 within 4 sd/sqrt(200)
    assert abs(np.mean(sums) - 50.0) < 4 * np.sqrt(50 / 900) / np.sqrt(200)
    assert np.std(sums) == pytest.approx(np.sqrt(50 / 900), rel=0.2)


def test_make_pairs_contrast_is_ps_over_host_flux():
    rng = np.random.default_rng(0)
    hosts = agn_sim.HostSet(np.ones((3, 64, 64)) * 0.01, np.full(3, 900.0), np.zeros(3, int), "test")
    pairs = agn_sim.make_pairs(hosts, [gaussian_psf()], rng, contrasts=np.array([0.5, 2.0, 10.0]), noise=False)
    hf = agn_sim.aperture_flux(hosts.images[0], 28.0)
    assert hf == pytest.approx(0.01 * np.pi * 28 ** 2, rel=1e-9)
    assert pairs["ps_flux"] == pytest.approx(hf * np.array([0.5, 2.0, 10.0]))
    added = (pairs["inputs"] - pairs["targets"]).sum(axis=(1, 2))
    assert added == pytest.approx(pairs["ps_flux"], rel=1e-12)


def test_bad_simulation_input():
    with pytest.raises(agn_sim.SimulationError):
        agn_sim.point_source_image(gaussian_psf(), -1.0, 64)
    with pytest.raises(agn_sim.SimulationError):
        agn_sim.point_source_image(np.ones((4, 4)), 1.0, 64)
    with pytest.raises(ReproError):
        agn_sim.sersic_image(64, 1.0, -2.0, 1.0, 0.5, 0.0)


def test_sersic_total_flux_and_half_light():
    img = agn_sim.sersic_image(128, 100.0, r_e=6.0, n=1.0, q=1.0, pa_deg=0.0)
    assert img.sum() == pytest.approx(100.0, rel=0.01)
    yy, xx = np.indices(img.shape) - 64
    inside = img[np.hypot(yy, xx) <= 6.0].sum()
    assert inside == pytest.approx(50.0, rel=0.05)


def test_magnitudes_and_robust_sigma():
    assert agn_sim.flux_to_mag(1.0) == pytest.approx(22.5)
    assert agn_sim.flux_to_mag(agn_sim.mag_to_flux(17.3)) == pytest.approx(17.3)
    assert np.isnan(agn_sim.flux_to_mag(-1.0))
    x = np.random.default_rng(0).normal(0, 2.0, 20000)
    assert agn_sim.robust_sigma(x) == pytest.approx(2.0, rel=0.03)
    assert np.isnan(agn_sim.robust_sigma([np.nan]))


# ------------------------------------------------------------------ PSF
def test_psf_recentre_normalise_and_fwhm():
    p = np.roll(gaussian_psf(31, 2.0), (1, -2), axis=(0, 1))
    q = psf.recentre(p)
    assert q.sum() == pytest.approx(1.0)
    cy, cx = psf.centroid(q)
    assert (cy, cx) == pytest.approx((15.0, 15.0), abs=0.02)
    assert psf.moment_fwhm(gaussian_psf(41, 2.0)) == pytest.approx(2.3548 * 2.0, rel=0.01)


def test_gaussian_mixture_fit_and_width_scaling():
    p = 0.7 * gaussian_psf(31, 1.5) + 0.3 * gaussian_psf(31, 4.0)
    gm = psf.fit_gaussian_mixture(p, 2)
    assert np.abs(gm.render(31) - p).max() < 0.01 * p.max()
    base = psf.moment_fwhm(gm.render(31))
    wide = psf.scale_width(p, 1.5, 2)
    assert wide.sum() == pytest.approx(1.0)
    assert psf.moment_fwhm(wide) == pytest.approx(1.5 * base, rel=0.05)


def test_dihedral_views_keep_odd_centre():
    a = np.zeros((65, 65))
    a[32, 32] = 1
    a[10, 20] = 2
    for k in range(8):
        v = psf.transform(a, k)
        assert v[32, 32] == 1 and v.sum() == 3
    with pytest.raises(ValueError):
        psf.transform(a, 8)


# ------------------------------------------------------------------ stretch
def test_stretch_and_inverse():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (4, 16, 16)) + rng.uniform(0, 5, (4, 1, 1))
    scale = psfgan.image_scale(x)
    y = psfgan.stretch(x, scale)
    assert y.max() <= 1.0 + 1e-12
    assert np.allclose(y.reshape(4, -1).max(axis=1), 1.0)
    assert np.allclose(psfgan.unstretch(y, scale), x, rtol=1e-10, atol=1e-12)
    # golden value: arcsinh(50 * 0.1) / arcsinh(50)
    assert psfgan.stretch(0.1, 1.0) == pytest.approx(np.arcsinh(5.0) / np.arcsinh(50.0), rel=1e-12)
    assert psfgan.stretch(-0.2, 1.0) == pytest.approx(-psfgan.stretch(0.2, 1.0))
    with pytest.raises(psfgan.GANError):
        psfgan.stretch(1.0, 0.0)


def test_center_weight_map():
    w = psfgan.center_weight_map(64, 5, 10.0)
    assert w.mean() == pytest.approx(1.0, rel=1e-6)
    assert w[32, 32] / w[0, 0] == pytest.approx(10.0)


# ------------------------------------------------------------------ FITS errors
def _write(path, data, header=None):
    from astropy.io import fits
    hdu = fits.PrimaryHDU(data)
    for k, v in (header or {}).items():
        hdu.header[k] = v
    hdu.writeto(path, overwrite=True)
    return path


def test_fits_wrong_shape(tmp_path):
    p = _write(tmp_path / "cube.fits", np.zeros((3, 8, 8), dtype=np.float32))
    with pytest.raises(FitsInputError, match="2-D"):
        read_image(p)
    p = _write(tmp_path / "rect.fits", np.zeros((8, 9), dtype=np.float32))
    with pytest.raises(FitsInputError, match="square"):
        read_image(p, square=True)
    with pytest.raises(FitsInputError, match="at least"):
        read_image(p, min_shape=(32, 32))


def test_fits_nans(tmp_path):
    a = np.ones((8, 8), dtype=np.float32)
    a[2, 3] = np.nan
    p = _write(tmp_path / "nan.fits", a)
    with pytest.raises(FitsInputError, match="non-finite"):
        read_image(p)
    data, _ = read_image(p, allow_nan=True)
    assert np.isnan(data[2, 3])


def test_fits_missing_header_keys(tmp_path):
    p = _write(tmp_path / "nokeys.fits", np.ones((8, 8), dtype=np.float32), {"GAIN": 4.9})
    with pytest.raises(FitsInputError, match="NMGY"):
        read_image(p, require_keys=("GAIN", "NMGY"))
    data, hdr = read_image(p, require_keys=("GAIN",))
    entry = {"units": "nmgy"}
    with pytest.raises(FitsInputError, match="NMGY"):
        agn_sim.to_nanomaggies(data, hdr, entry, where="nokeys.fits")


def test_fits_unreadable(tmp_path):
    p = tmp_path / "junk.fits"
    p.write_bytes(b"not a fits file at all")
    with pytest.raises(ReproError):
        read_image(p)
    with pytest.raises(ReproError):
        psf.load_psf(_write(tmp_path / "zero.fits", np.zeros((9, 9), dtype=np.float32)))


# ------------------------------------------------------------------ summaries
def test_binned_stats_and_error_summary_count_bad_values():
    c = np.array([0.2, 0.3, 3.0, 4.0, 5.0, 6.0])
    e = np.array([0.1, np.nan, 0.01, -0.01, 0.03, np.nan])
    st = agn_sim.binned_stats(c, e, [0.1, 1.0, 10.0])
    assert [s["n"] for s in st] == [2, 4]
    assert [s["n_bad"] for s in st] == [1, 1]
    assert st[1]["median"] == pytest.approx(0.01)
    s = agn_sim.error_summary(c, e, 2.0)
    assert (s["n"], s["n_bad"]) == (4, 1)
    assert s["robust_sigma"] == pytest.approx(1.4826 * 0.02)
    assert s["total"] == pytest.approx(np.hypot(0.01, 1.4826 * 0.02))


def test_mismatch_degradation():
    c = np.full(5, 5.0)
    base = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])
    errs = {1.0: base, 0.5: base * 2, 1.5: base + 0.1}
    d = agn_sim.mismatch_degradation(c, errs, [0.5, 1.5], 2.0)
    s0 = agn_sim.error_summary(c, base, 2.0)["total"]
    want = np.mean([2 * s0, np.hypot(0.1, s0)]) - s0
    assert d == pytest.approx(want)


def test_stratified_contrasts_cover_each_stratum():
    rng = np.random.default_rng(0)
    c = agn_sim.stratified_contrasts(500, 2, 0.1, 10.0, rng)
    assert c.shape == (500, 2)
    assert np.all((c[:, 0] >= 0.1) & (c[:, 0] < 1.0)) and np.all((c[:, 1] >= 1.0) & (c[:, 1] <= 10.0))
    with pytest.raises(agn_sim.SimulationError):
        agn_sim.stratified_contrasts(3, 2, 1.0, 0.5, rng)


def test_added_flux_z_is_zero_without_noise():
    hosts = agn_sim.HostSet(np.zeros((2, 32, 32)), np.full(2, 900.0), np.zeros(2, int), "test")
    pairs = agn_sim.make_pairs(hosts, [gaussian_psf(15, 1.5)], np.random.default_rng(0),
                               contrasts=np.array([1.0, 2.0]), noise=False)
    # zero host flux -> zero point source; z is 0
    assert np.allclose(agn_sim.added_flux_z(pairs, hosts.gain), 0.0)

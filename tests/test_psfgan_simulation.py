"""repro.astro.psfgan.simulation: point sources, noise, generated hosts, pairs, contrasts."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import photometry, simulation
from repro.astro.sersic import sersic_image
from repro.errors import ReproError


def gaussian_psf(size=31, sigma=2.0):
    yy, xx = np.indices((size, size)) - size // 2
    p = np.exp(-0.5 * (yy ** 2 + xx ** 2) / sigma ** 2)
    return p / p.sum()


def test_docstring_examples():
    assert doctest.testmod(simulation).failed == 0


@pytest.mark.parametrize("flux", [0.0, 1.0, 123.456, 1e5])
def test_point_source_has_exactly_the_intended_flux(flux):
    ps = simulation.point_source_image(gaussian_psf(), flux, 64)
    assert ps.sum() == pytest.approx(flux, rel=1e-12, abs=1e-12)
    assert np.unravel_index(np.argmax(ps), ps.shape) == (32, 32) or flux == 0


def test_point_source_cropped_psf_still_conserves_flux():
    # a PSF wider than the stamp is cropped and renormalised
    ps = simulation.point_source_image(gaussian_psf(51, 8.0), 10.0, 32)
    assert ps.shape == (32, 32)
    assert ps.sum() == pytest.approx(10.0, rel=1e-12)


def test_add_point_source_noiseless_and_noise_mean():
    host = np.zeros((64, 64))
    img, ps = simulation.add_point_source(host, gaussian_psf(), 50.0, gain=900.0, rng=None, noise=False)
    assert img.sum() == pytest.approx(50.0, rel=1e-12)
    rng = np.random.default_rng(1)
    sums = [simulation.add_point_source(host, gaussian_psf(), 50.0, 900.0, rng)[0].sum() for _ in range(200)]
    # Poisson noise of 45,000 electrons: sd of the sum = sqrt(50/900) ≈ 0.236; mean of 200 within 4 sd/sqrt(200)
    assert abs(np.mean(sums) - 50.0) < 4 * np.sqrt(50 / 900) / np.sqrt(200)
    assert np.std(sums) == pytest.approx(np.sqrt(50 / 900), rel=0.2)


def test_observe_noise_level():
    rng = np.random.default_rng(0)
    sky, gain, rn = 0.5, 900.0, 4.3
    img = simulation.observe(np.zeros((200, 200)), sky, gain, rn, rng)
    assert abs(img.mean()) < 5 * np.sqrt(sky / gain) / 200
    assert img.std() == pytest.approx(np.sqrt(sky * gain + rn ** 2) / gain, rel=0.02)


def test_make_pairs_contrast_is_ps_over_host_flux():
    rng = np.random.default_rng(0)
    hosts = simulation.HostSet(np.ones((3, 64, 64)) * 0.01, np.full(3, 900.0), np.zeros(3, int), "test")
    pairs = simulation.make_pairs(hosts, [gaussian_psf()], rng, contrasts=np.array([0.5, 2.0, 10.0]), noise=False)
    hf = photometry.aperture_flux(hosts.images[0], 28.0)
    assert pairs["ps_flux"] == pytest.approx(hf * np.array([0.5, 2.0, 10.0]))
    added = (pairs["inputs"] - pairs["targets"]).sum(axis=(1, 2))
    assert added == pytest.approx(pairs["ps_flux"], rel=1e-12)
    with pytest.raises(simulation.SimulationError):
        simulation.make_pairs(hosts, [gaussian_psf()], rng, contrasts=np.ones(2))


def test_bad_simulation_input():
    with pytest.raises(simulation.SimulationError):
        simulation.point_source_image(gaussian_psf(), -1.0, 64)
    with pytest.raises(simulation.SimulationError):
        simulation.point_source_image(np.ones((4, 4)), 1.0, 64)
    with pytest.raises(simulation.SimulationError):
        simulation.add_point_source(np.zeros((8, 9)), gaussian_psf(), 1.0, 900.0, None, noise=False)
    with pytest.raises(simulation.SimulationError):
        simulation.sersic_hosts(0, 32, [gaussian_psf()], np.random.default_rng(0))
    with pytest.raises(ReproError):
        sersic_image(64, 1.0, -2.0, 1.0, 0.5, 0.0)


def test_sersic_total_flux_and_half_light():
    img = sersic_image(128, 100.0, r_e=6.0, n=1.0, q=1.0, pa_deg=0.0)
    assert img.sum() == pytest.approx(100.0, rel=0.01)
    yy, xx = np.indices(img.shape) - 64
    inside = img[np.hypot(yy, xx) <= 6.0].sum()
    assert inside == pytest.approx(50.0, rel=0.05)


def test_sersic_hosts_are_reproducible_and_bright_as_drawn():
    psfs = [gaussian_psf(15, 1.5), gaussian_psf(15, 2.0)]
    a = simulation.sersic_hosts(4, 64, psfs, np.random.default_rng(3))
    b = simulation.sersic_hosts(4, 64, psfs, np.random.default_rng(3))
    assert np.array_equal(a.images, b.images) and a.kind == "sersic" and len(a.names) == 4
    assert a.images.shape == (4, 64, 64) and set(a.psf_index) <= {0, 1}
    mags = a.meta["values"][:, 0]
    assert np.all((mags >= 14.0) & (mags <= 17.5))
    # nearly all of the light of a 14-17.5 mag host falls in the stamp (disk r_e <= 15 px)
    assert np.all(a.images.sum(axis=(1, 2)) > 0.5 * photometry.mag_to_flux(mags))


def test_stratified_contrasts_cover_each_stratum():
    rng = np.random.default_rng(0)
    c = simulation.stratified_contrasts(500, 2, 0.1, 10.0, rng)
    assert c.shape == (500, 2)
    assert np.all((c[:, 0] >= 0.1) & (c[:, 0] < 1.0)) and np.all((c[:, 1] >= 1.0) & (c[:, 1] <= 10.0))
    with pytest.raises(simulation.SimulationError):
        simulation.stratified_contrasts(3, 2, 1.0, 0.5, rng)


def test_repeat_hosts():
    hosts = simulation.HostSet(np.arange(2)[:, None, None] * np.ones((2, 4, 4)), np.array([1.0, 2.0]),
                               np.array([0, 1]), "test", ["a", "b"])
    r = simulation.repeat_hosts(hosts, 3)
    assert r.names == ["a", "a", "a", "b", "b", "b"]
    assert list(r.gain) == [1, 1, 1, 2, 2, 2] and list(r.meta["source_row"]) == [0, 0, 0, 1, 1, 1]


def test_added_flux_z_is_zero_without_noise():
    hosts = simulation.HostSet(np.zeros((2, 32, 32)), np.full(2, 900.0), np.zeros(2, int), "test")
    pairs = simulation.make_pairs(hosts, [gaussian_psf(15, 1.5)], np.random.default_rng(0),
                                  contrasts=np.array([1.0, 2.0]), noise=False)
    # zero host flux -> zero point source; z is 0
    assert np.allclose(simulation.added_flux_z(pairs, hosts.gain), 0.0)

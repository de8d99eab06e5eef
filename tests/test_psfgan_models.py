"""PSFGAN chain: the two-component pyimfit fit on noiseless images, and the GAN's shapes (fast)."""
import numpy as np
import pytest
from scipy import signal

from repro.astro import agn_sim, parametric


def gaussian_psf(size=25, sigma=1.8):
    yy, xx = np.indices((size, size)) - size // 2
    p = np.exp(-0.5 * (yy ** 2 + xx ** 2) / sigma ** 2)
    return p / p.sum()


@pytest.fixture(scope="module")
def noiseless_fit():
    size, psf = 48, gaussian_psf()
    host_total = 400.0
    host = agn_sim.sersic_image(size, host_total, r_e=5.0, n=1.5, q=0.7, pa_deg=30.0)
    host = signal.fftconvolve(host, psf, mode="same")
    ps_flux = 800.0
    img, _ = agn_sim.add_point_source(host, psf, ps_flux, gain=900.0, rng=None, noise=False)
    fit = parametric.fit_two_component(img, psf, noise_sigma=0.03, gain=900.0, aperture_radius=20.0, ftol=1e-8)
    return fit, host, ps_flux, host_total


def test_parametric_fit_recovers_noiseless_inputs(noiseless_fit):
    fit, host, ps_flux, host_total = noiseless_fit
    assert fit.ok, fit.status
    assert fit.ps_flux == pytest.approx(ps_flux, rel=0.01)
    assert fit.host_flux == pytest.approx(agn_sim.aperture_flux(host, 20.0), rel=0.01)
    assert fit.sersic_total == pytest.approx(host_total, rel=0.02)
    assert fit.n == pytest.approx(1.5, abs=0.1)
    assert fit.r_e == pytest.approx(5.0, rel=0.05)
    assert (fit.y0, fit.x0) == pytest.approx((24.0, 24.0), abs=0.05)


def test_parametric_fit_bad_input_is_an_error():
    with pytest.raises(parametric.FitError):
        parametric.fit_two_component(np.full((8, 8), np.nan), gaussian_psf(), 0.03, 900.0)
    with pytest.raises(parametric.FitError):
        parametric.fit_two_component(np.zeros((8, 9)), gaussian_psf(), 0.03, 900.0)
    with pytest.raises(parametric.FitError):
        parametric.fit_two_component(np.zeros((8, 8)), gaussian_psf(), 0.0, 900.0)


def test_parametric_fit_failure_is_flagged_not_dropped():
    # pure noise has no galaxy: the result comes back, flagged
    rng = np.random.default_rng(0)
    img = rng.normal(0, 0.03, (32, 32))
    fit = parametric.fit_two_component(img, gaussian_psf(), 0.03, 900.0, aperture_radius=14.0)
    assert isinstance(fit, parametric.TwoComponentFit)
    assert fit.seconds >= 0
    if not fit.ok:
        assert fit.status != "ok"


def test_gan_shapes_and_inference_units():
    from repro.astro import psfgan

    gan = psfgan.PSFGAN(size=16, base_filters=4, max_filters=8, seed=0)
    assert gan.generator.output_shape == (None, 16, 16, 1)
    assert gan.discriminator.output_shape[-1] == 1
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (8, 16, 16)) + 1.0
    hist = gan.fit(x, 0.5 * x, epochs=1, batch_size=4, max_steps=1, progress=False)
    assert len(hist) == 1 and np.isfinite(hist[0]["g_l1"])
    out = psfgan.remove_point_source(gan.generator, x)
    assert out.shape == x.shape and np.all(np.isfinite(out))
    # the output is in the input's units: |out| <= sinh(arcsinh(50)) * max / 50 = max
    assert np.abs(out).max() <= x.max() * (1 + 1e-6)
    with pytest.raises(psfgan.GANError):
        gan.fit(x[:, :8, :8], x[:, :8, :8], progress=False)
    with pytest.raises(psfgan.GANError):
        psfgan.build_generator(size=24)

"""repro.astro.psfgan.parametric: the two-component pyimfit fit (noiseless images, failures flagged)."""
import numpy as np
import pytest
from scipy import signal

from repro.astro.psfgan import parametric
from repro.astro.psfgan.photometry import aperture_flux
from repro.astro.psfgan.simulation import add_point_source
from repro.astro.sersic import sersic_image


def gaussian_psf(size=25, sigma=1.8):
    yy, xx = np.indices((size, size)) - size // 2
    p = np.exp(-0.5 * (yy ** 2 + xx ** 2) / sigma ** 2)
    return p / p.sum()


@pytest.fixture(scope="module")
def noiseless_fit():
    size, psf = 48, gaussian_psf()
    host_total = 400.0
    host = sersic_image(size, host_total, r_e=5.0, n=1.5, q=0.7, pa_deg=30.0)
    host = signal.fftconvolve(host, psf, mode="same")
    ps_flux = 800.0
    img, _ = add_point_source(host, psf, ps_flux, gain=900.0, rng=None, noise=False)
    fit = parametric.fit_two_component(img, psf, noise_sigma=0.03, gain=900.0, aperture_radius=20.0, ftol=1e-8)
    return fit, host, ps_flux, host_total, img, psf


def test_parametric_fit_recovers_noiseless_inputs(noiseless_fit):
    fit, host, ps_flux, host_total, _, _ = noiseless_fit
    assert fit.ok, fit.status
    assert fit.ps_flux == pytest.approx(ps_flux, rel=0.01)
    assert fit.host_flux == pytest.approx(aperture_flux(host, 20.0), rel=0.01)
    assert fit.sersic_total == pytest.approx(host_total, rel=0.02)
    assert fit.n == pytest.approx(1.5, abs=0.1)
    assert fit.r_e == pytest.approx(5.0, rel=0.05)
    assert (fit.y0, fit.x0) == pytest.approx((24.0, 24.0), abs=0.05)


def test_fit_many_and_fits_to_arrays(noiseless_fit):
    _, _, _, _, img, psf = noiseless_fit
    fits = parametric.fit_many(np.stack([img, img]), [psf], [0, 0], 0.03, 900.0, aperture_radius=20.0,
                               progress=False)
    cols = parametric.fits_to_arrays(fits)
    assert cols["ok"].dtype == bool and cols["ok"].shape == (2,)
    assert cols["host_flux"][0] == cols["host_flux"][1]
    assert list(cols["status"]) == [f.status for f in fits]


def test_model_lines_start_on_the_centre():
    lines = parametric.model_lines(32, 100.0)
    assert lines[0].split()[:2] == ["X0", "17.0"] and "FUNCTION PointSource" in lines


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

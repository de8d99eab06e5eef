"""repro.astro.psfgan.psf: normalising, centring, dihedral views, Gaussian mixtures."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import psf
from repro.astro.psfgan.fits_io import FitsInputError


def gaussian_psf(size=31, sigma=2.0):
    yy, xx = np.indices((size, size)) - size // 2
    p = np.exp(-0.5 * (yy ** 2 + xx ** 2) / sigma ** 2)
    return p / p.sum()


def test_docstring_examples():
    assert doctest.testmod(psf).failed == 0


def test_psf_recentre_normalise_and_fwhm():
    p = np.roll(gaussian_psf(31, 2.0), (1, -2), axis=(0, 1))
    q = psf.recentre(p)
    assert q.sum() == pytest.approx(1.0)
    cy, cx = psf.centroid(q)
    assert (cy, cx) == pytest.approx((15.0, 15.0), abs=0.02)
    assert psf.moment_fwhm(gaussian_psf(41, 2.0)) == pytest.approx(2.3548 * 2.0, rel=0.01)
    assert psf.recentre(p, size=21).shape == (21, 21)


def test_normalize_and_fit_size_errors():
    with pytest.raises(psf.PSFError):
        psf.normalize(np.zeros((5, 5)))
    with pytest.raises(psf.PSFError):
        psf.normalize(np.full((5, 5), np.nan))
    with pytest.raises(psf.PSFError):
        psf.fit_size(gaussian_psf(), 10)
    assert psf.fit_size(gaussian_psf(31), 41)[20, 20] == pytest.approx(gaussian_psf(31)[15, 15])


def test_gaussian_mixture_fit_and_width_scaling():
    p = 0.7 * gaussian_psf(31, 1.5) + 0.3 * gaussian_psf(31, 4.0)
    gm = psf.fit_gaussian_mixture(p, 2)
    assert np.abs(gm.render(31) - p).max() < 0.01 * p.max()
    base = psf.moment_fwhm(gm.render(31))
    wide = gm.render(31, width_factor=1.5)
    assert wide.sum() == pytest.approx(1.0)
    assert psf.moment_fwhm(wide) == pytest.approx(1.5 * base, rel=0.05)
    with pytest.raises(psf.PSFError):
        gm.render(31, width_factor=0.0)


def test_dihedral_views_keep_odd_centre():
    a = np.zeros((65, 65))
    a[32, 32] = 1
    a[10, 20] = 2
    views = [psf.transform(a, k) for k in range(8)]
    for v in views:
        assert v[32, 32] == 1 and v.sum() == 3
    assert len({tuple(np.argwhere(v == 2)[0]) for v in views}) == 8
    with pytest.raises(ValueError):
        psf.transform(a, 8)


def test_load_psf_removes_pedestal_and_rejects_empty(tmp_path):
    from astropy.io import fits
    p = tmp_path / "psf.fits"
    fits.PrimaryHDU((gaussian_psf(25, 2.0) * 5e4 + 1000.0).astype(np.float32)).writeto(p)
    q = psf.load_psf(p, size=21)
    assert q.shape == (21, 21) and q.sum() == pytest.approx(1.0)
    assert psf.moment_fwhm(q) == pytest.approx(2.3548 * 2.0, rel=0.02)
    z = tmp_path / "zero.fits"
    fits.PrimaryHDU(np.zeros((9, 9), dtype=np.float32)).writeto(z)
    with pytest.raises(FitsInputError, match="not a usable PSF"):
        psf.load_psf(z)

"""repro.astro.psfgan.photometry: magnitudes and aperture fluxes."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import photometry


def test_docstring_examples():
    assert doctest.testmod(photometry).failed == 0


def test_magnitudes_round_trip_and_zero_point():
    assert photometry.flux_to_mag(1.0) == pytest.approx(22.5)
    assert photometry.flux_to_mag(photometry.mag_to_flux(17.3)) == pytest.approx(17.3)
    assert np.isnan(photometry.flux_to_mag(-1.0))
    assert np.isnan(photometry.flux_to_mag(0.0))


def test_aperture_flux_of_a_flat_image_is_the_aperture_area():
    img = np.full((64, 64), 0.01)
    assert photometry.aperture_flux(img, 28.0) == pytest.approx(0.01 * np.pi * 28 ** 2, rel=1e-9)
    stack = np.stack([img, 2 * img])
    got = photometry.aperture_flux(stack, 10.0)
    assert got.shape == (2,)
    assert got == pytest.approx([0.01 * np.pi * 100, 0.02 * np.pi * 100], rel=1e-9)


def test_aperture_flux_centre():
    img = np.zeros((32, 32))
    img[5, 7] = 3.0
    assert photometry.aperture_flux(img, 2.0) == 0.0
    assert photometry.aperture_flux(img, 2.0, centre=(5, 7)) == pytest.approx(3.0)

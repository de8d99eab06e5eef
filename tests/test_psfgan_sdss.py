"""repro.astro.psfgan.sdss: unit conversion, cut-outs and views of the real test hosts; training PSFs."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import sdss
from repro.astro.psfgan.fits_io import FitsInputError
from repro.astro.psfgan.simulation import SimulationError
from .conftest import needs_data


def test_docstring_examples():
    assert doctest.testmod(sdss).failed == 0


def test_to_nanomaggies_units_and_errors():
    rng = np.random.default_rng(0)
    img = rng.normal(100.0, 1.0, (40, 40))
    nm, gain, notes = sdss.to_nanomaggies(img, {}, {"units": "counts", "gain_e_per_unit": 4.7}, where="x")
    factor = sdss.DNS_TO_NMGY / sdss.SDSS_EXPTIME
    assert notes["to_nmgy"] == pytest.approx(factor)
    assert gain == pytest.approx(4.7 / factor)
    assert abs(np.median(nm)) < 0.3 * factor  # the sky (100 counts) is removed to within noise (1 count)
    nm, gain, _ = sdss.to_nanomaggies(img, {"GAIN": 4.0, "NMGY": 0.005}, {"units": "nmgy"}, where="x")
    assert gain == pytest.approx(800.0)
    with pytest.raises(FitsInputError, match="NMGY"):
        sdss.to_nanomaggies(img, {"GAIN": 4.9}, {"units": "nmgy"}, where="nokeys.fits")
    with pytest.raises(FitsInputError, match="noise map"):
        sdss.to_nanomaggies(img, {}, {"units": "DN/s"}, where="x")
    with pytest.raises(FitsInputError, match="unknown units"):
        sdss.to_nanomaggies(img, {}, {"units": "Jy"}, where="x")


def test_dn_per_second_gain_is_sky_over_variance():
    rng = np.random.default_rng(1)
    sky, sigma = 2.0, 0.1
    img = rng.normal(sky, sigma, (60, 60))
    _, gain, _ = sdss.to_nanomaggies(img, {}, {"units": "DN/s"}, weight=np.full((60, 60), sigma), where="x")
    assert gain == pytest.approx(sky / sigma ** 2 / sdss.DNS_TO_NMGY, rel=0.01)


def test_galaxy_centre_and_cut_centred():
    img = np.zeros((41, 41))
    img[23, 18] = 10.0
    assert sdss.galaxy_centre(img) == (23, 18)
    cut, filled = sdss.cut_centred(img, (3, 3), 5, 0.0, np.random.default_rng(0))
    assert cut.shape == (11, 11) and filled == 11 * 11 - 9 * 9
    cut, filled = sdss.cut_centred(img, (23, 18), 5, 1.0, np.random.default_rng(0))
    assert filled == 0 and cut[5, 5] == 10.0


def test_real_views():
    hosts = [dict(name="h", image=np.arange(81.0).reshape(9, 9), gain=900.0, psf_index=0)]
    psfs = [np.arange(9.0).reshape(3, 3)]
    views, vpsfs = sdss.real_views(hosts, psfs, 8, size=8)
    assert views.images.shape == (8, 8, 8) and len(vpsfs) == 8 and list(views.psf_index) == list(range(8))
    assert views.names[3] == "h/v3" and views.kind == "real"
    with pytest.raises(SimulationError):
        sdss.real_views(hosts, psfs, 9)


@needs_data
def test_training_psfs_are_36_normalised_psfs():
    from repro import data
    psfs, names = sdss.load_training_psfs(data.locate, 31)
    assert len(psfs) == len(names) == 36
    assert all(p.shape == (31, 31) and p.sum() == pytest.approx(1.0) for p in psfs)

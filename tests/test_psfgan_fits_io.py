"""repro.astro.psfgan.fits_io: FITS input with one clear error per problem."""
import numpy as np
import pytest

from repro.astro.psfgan.fits_io import FitsInputError, header_float, read_image
from repro.errors import ReproError


def _write(path, data, header=None):
    from astropy.io import fits
    hdu = fits.PrimaryHDU(data)
    for k, v in (header or {}).items():
        hdu.header[k] = v
    hdu.writeto(path, overwrite=True)
    return path


def test_reads_image_and_header(tmp_path):
    p = _write(tmp_path / "ok.fits", np.arange(12, dtype=np.float32).reshape(3, 4), {"GAIN": 4.9})
    data, hdr = read_image(p, require_keys=("GAIN",))
    assert data.dtype == np.float64 and data.shape == (3, 4) and data[2, 3] == 11
    assert header_float(hdr, "GAIN") == pytest.approx(4.9)


def test_fits_wrong_shape(tmp_path):
    p = _write(tmp_path / "cube.fits", np.zeros((3, 8, 8), dtype=np.float32))
    with pytest.raises(FitsInputError, match="2-D"):
        read_image(p)
    p = _write(tmp_path / "rect.fits", np.zeros((8, 9), dtype=np.float32))
    with pytest.raises(FitsInputError, match="square"):
        read_image(p, square=True)
    with pytest.raises(FitsInputError, match="at least"):
        read_image(p, min_shape=(32, 32))
    with pytest.raises(FitsInputError, match="HDU"):
        read_image(p, hdu=3)


def test_fits_nans(tmp_path):
    a = np.ones((8, 8), dtype=np.float32)
    a[2, 3] = np.nan
    p = _write(tmp_path / "nan.fits", a)
    with pytest.raises(FitsInputError, match="non-finite"):
        read_image(p)
    data, _ = read_image(p, allow_nan=True)
    assert np.isnan(data[2, 3])


def test_fits_missing_header_keys(tmp_path):
    p = _write(tmp_path / "nokeys.fits", np.ones((8, 8), dtype=np.float32), {"GAIN": 4.9, "NAME": "x"})
    with pytest.raises(FitsInputError, match="NMGY"):
        read_image(p, require_keys=("GAIN", "NMGY"))
    _, hdr = read_image(p)
    with pytest.raises(FitsInputError, match="NMGY"):
        header_float(hdr, "NMGY", "nokeys.fits")
    with pytest.raises(FitsInputError, match="not a number"):
        header_float(hdr, "NAME", "nokeys.fits")


def test_fits_unreadable(tmp_path):
    p = tmp_path / "junk.fits"
    p.write_bytes(b"not a fits file at all")
    with pytest.raises(ReproError):
        read_image(p)

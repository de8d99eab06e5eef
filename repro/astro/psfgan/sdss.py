"""The real SDSS inputs of the PSFGAN chain: the test host galaxies and the training PSFs.

Test hosts (:data:`REAL_HOSTS`): the 13 usable real SDSS r-band galaxy stamps of the data sets
``sdss-rband-galaxies-and-psfs`` and ``sdss-rband-stamps-and-psfields`` (their SOURCE.md files
give units, zero points and gains), each with the PSF of its field where the data set has it.
Each stamp is converted to nanomaggies (:func:`to_nanomaggies`), a residual sky is removed, and
an odd cut-out centred on the galaxy is taken (:func:`load_real_hosts`), whose 8 dihedral views
(:func:`real_views`) multiply the test set.

Training PSFs: 36 r-band PSFs rebuilt from 4 real psField files, a 3x3 grid of positions on
each frame (:func:`load_training_psfs`); none of these fields is a test host's field.

Unit conversions: DR7 ``fpC`` counts satisfy m ≈ 23.9 - 2.5 log10(DN/s) in r (±0.1 mag), so

    f[nmgy] = counts / 53.907456 s x 10^(-0.4 (23.9 - 22.5)).

Example
-------
>>> len(REAL_HOSTS), REAL_HOSTS[0]["name"]
(13, 'IC3478')
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from . import psf as psf_mod
from .fits_io import FitsInputError, header_float, read_image
from .photometry import PIXEL_SCALE, ZP_NMGY
from .simulation import HostSet, SimulationError

__all__ = ["DNS_TO_NMGY", "SDSS_EXPTIME", "GAL_DATA", "STAMP_DATA", "REAL_HOSTS", "TRAINING_PSF_FIELDS",
           "TRAINING_PSF_ROWS", "TRAINING_PSF_COLS", "load_training_psfs", "to_nanomaggies", "galaxy_centre",
           "cut_centred", "load_real_hosts", "real_views"]

DNS_TO_NMGY = 10 ** (-0.4 * (23.9 - ZP_NMGY))
"""Nanomaggies per DN/s in r (DR7 ``fpC`` zero point, SOURCE.md; ±0.1 mag)."""
SDSS_EXPTIME = 53.907456
"""SDSS exposure time in seconds."""

GAL_DATA = "sdss-rband-galaxies-and-psfs"
STAMP_DATA = "sdss-rband-stamps-and-psfields"

# Each entry: data set, file, units, gain source, PSF file (SOURCE.md of both data sets).
REAL_HOSTS = [
    dict(name="IC3478", data=GAL_DATA, file="sdss_rband/ic3478rss_256.fits", units="counts",
         gain_e_per_unit=4.725, gain_note="SOURCE.md: 4.725 e-/ADU",
         psf=(GAL_DATA, "sdss_psf/147246.0_150.416558_1.998697.sdsspsf.fits"),
         psf_note="GalSim's example SDSS PSF (not this field's: approximate)"),
    dict(name="NGC3073", data=GAL_DATA, file="sdss_rband/n3073rss_small.fits", units="counts",
         gain_e_per_unit=4.7, gain_note="not given; typical SDSS r-band gain 4.7 e-/ADU assumed",
         psf=(GAL_DATA, "sdss_psf/example_sdss_psf_sky0.fits.bz2"),
         psf_note="GalSim's psField example PSF (not this field's: approximate)"),
]
for _id in ("00000001", "00000002", "00000003", "00000008", "00000009", "00000018", "00000023",
            "00000024", "00000027", "00000058", "00000066"):
    REAL_HOSTS.append(dict(name=f"pymorph{_id}", data=STAMP_DATA, file=f"pymorph_stamps/{_id}_r_stamp.fits",
                           units="DN/s", weight=f"pymorph_stamps/{_id}_r_stamp_W.fits",
                           gain_note="measured: sky / sigma² on the border of the noise map",
                           psf=(STAMP_DATA, f"pymorph_stamps/{_id}_r_psf.fits"),
                           psf_note="psField PSF of the field"))
del _id
# Not used: celeste_s82_stamps/stamp-r-164.4311-39.0359.fits, listed as a galaxy stamp, is dominated
# by a bright star with diffraction spikes (checked by eye), so it is no host galaxy.

TRAINING_PSF_FIELDS = ("000094-1-0012", "001000-1-0100", "002583-2-0136", "003900-6-0269")
TRAINING_PSF_ROWS = (200, 744, 1290)
TRAINING_PSF_COLS = (300, 1024, 1750)


def load_training_psfs(locate, size: int = 31) -> tuple[list[np.ndarray], list[str]]:
    """The 36 r-band PSFs rebuilt from 4 real psField files (4 fields x 3x3 positions), for training.

    None of them belongs to a test host's field (the pymorph stamps are from run 745, the imfit
    galaxies from runs 3970 and 2243).

    Parameters
    ----------
    locate : callable
        ``locate(dataset, relpath)`` returns a file path (:func:`repro.data.locate`).
    size : int
        Side of the PSF images (odd).

    Returns
    -------
    psfs : list of numpy.ndarray
        The 36 normalised, centred PSFs.
    names : list of str
        Their files, relative to the data set.

    Raises
    ------
    FitsInputError
        A PSF file that cannot be read or used.
    """
    psfs, names = [], []
    for f in TRAINING_PSF_FIELDS:
        for r in TRAINING_PSF_ROWS:
            for c in TRAINING_PSF_COLS:
                rel = f"psf_recon/psf-r-{f}_row{r:04d}_col{c:04d}.fits"
                psfs.append(psf_mod.load_psf(locate(STAMP_DATA, rel), size=size))
                names.append(rel)
    return psfs, names


def _border(a: np.ndarray, width: int = 4) -> np.ndarray:
    return np.concatenate([a[:width].ravel(), a[-width:].ravel(), a[width:-width, :width].ravel(),
                           a[width:-width, -width:].ravel()])


def _clipped_stats(x: np.ndarray) -> tuple[float, float]:
    from astropy.stats import sigma_clipped_stats
    _, med, std = sigma_clipped_stats(x, sigma=3.0, maxiters=10)
    return float(med), float(std)


def to_nanomaggies(image: np.ndarray, header: dict, entry: dict, weight: np.ndarray | None = None,
                   where: str = "") -> tuple[np.ndarray, float, dict]:
    """Convert one real stamp to sky-subtracted nanomaggies, with its gain.

    ``counts`` (DR7 ADU in 53.907 s), ``DN/s`` (counts / 53.907 s) and ``nmgy`` are understood;
    a residual sky (sigma-clipped median of the 4-pixel border) is subtracted from each. The
    headers' GAIN of the DN/s stamps is per ADU in some and per DN/s in others, so their gain is
    measured from the data: sky / sigma² on the border of the noise map.

    Parameters
    ----------
    image : numpy.ndarray
        The stamp in its own units.
    header : dict
        Its FITS header (``GAIN`` and ``NMGY`` are read for ``nmgy`` stamps).
    entry : dict
        The stamp's entry of :data:`REAL_HOSTS` (``units``, and ``gain_e_per_unit`` for counts).
    weight : numpy.ndarray, optional
        The noise map (sigma per pixel), required for ``DN/s`` stamps.
    where : str
        Name of the file, for error messages.

    Returns
    -------
    image : numpy.ndarray
        Nanomaggies, sky subtracted.
    gain : float
        Electrons per nanomaggy.
    notes : dict
        ``sky_removed``, ``sky_sigma`` (nanomaggies) and ``to_nmgy`` (the unit factor).

    Raises
    ------
    FitsInputError
        Unknown units, a missing noise map or header key, or a gain that cannot be measured.
    """
    units = entry["units"]
    if units == "counts":
        factor = DNS_TO_NMGY / SDSS_EXPTIME
        gain = entry["gain_e_per_unit"] / factor
    elif units == "DN/s":
        factor = DNS_TO_NMGY
        if weight is None:
            raise FitsInputError(f"{where}: a DN/s stamp needs its noise map to measure the gain")
        sky_dns, _ = _clipped_stats(_border(image))
        sig = float(np.median(_border(weight)))
        if not (sky_dns > 0 and sig > 0):
            raise FitsInputError(f"{where}: cannot measure the gain (sky {sky_dns}, sigma {sig})")
        gain = (sky_dns / sig ** 2) / factor
    elif units == "nmgy":
        factor = 1.0
        gain = header_float(header, "GAIN", where) / header_float(header, "NMGY", where)
    else:
        raise FitsInputError(f"{where}: unknown units {units!r}")
    img = image * factor
    sky, std = _clipped_stats(_border(img))
    return img - sky, float(gain), {"sky_removed": sky, "sky_sigma": std, "to_nmgy": factor}


def galaxy_centre(img: np.ndarray, smooth: float = 2.0, search: int = 12) -> tuple[int, int]:
    """The galaxy's centre: brightest pixel of the smoothed image near the stamp centre.

    The stamps are centred on their target galaxy; this refines the centre.

    Parameters
    ----------
    img : numpy.ndarray
        The stamp.
    smooth : float
        Sigma in pixels of the Gaussian smoothing.
    search : int
        Half-width in pixels of the search box around the stamp centre.

    Returns
    -------
    (int, int)
        Row and column of the centre.
    """
    sm = ndimage.gaussian_filter(img, smooth)
    ny, nx = img.shape
    r0, r1 = max(ny // 2 - search, 0), min(ny // 2 + search + 1, ny)
    c0, c1 = max(nx // 2 - search, 0), min(nx // 2 + search + 1, nx)
    sub = sm[r0:r1, c0:c1]
    i, j = np.unravel_index(np.argmax(sub), sub.shape)
    return int(i + r0), int(j + c0)


def cut_centred(img: np.ndarray, centre: tuple[int, int], half: int, sky_sigma: float,
                rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """An odd ``(2 half + 1)²`` cut-out centred on ``centre``, padded with sky noise.

    Parameters
    ----------
    img : numpy.ndarray
        The stamp.
    centre : (int, int)
        Row and column of the cut-out's centre.
    half : int
        Half the side of the cut-out.
    sky_sigma : float
        Standard deviation of the Gaussian sky noise that fills pixels outside the stamp.
    rng : numpy.random.Generator
        Draws the fill noise (for the whole cut-out, so the draws do not depend on the overlap).

    Returns
    -------
    cut : numpy.ndarray
        The cut-out.
    filled : int
        How many of its pixels lay outside the stamp and were filled.
    """
    size = 2 * half + 1
    out = rng.normal(0.0, sky_sigma, size=(size, size))
    ny, nx = img.shape
    r0, c0 = centre[0] - half, centre[1] - half
    rs, re_ = max(r0, 0), min(r0 + size, ny)
    cs, ce = max(c0, 0), min(c0 + size, nx)
    out[rs - r0:re_ - r0, cs - c0:ce - c0] = img[rs:re_, cs:ce]
    filled = size * size - (re_ - rs) * (ce - cs)
    return out, int(filled)


def load_real_hosts(locate, size: int = 64, psf_size: int = 31, seed: int = 0) -> tuple[list[dict], list[np.ndarray]]:
    """Read, convert and cut every real test host of :data:`REAL_HOSTS`, with its PSF.

    The odd ``(size + 1)²`` cut keeps the galaxy centre fixed under the 8 dihedral views;
    :func:`real_views` then trims it to ``size``.

    Parameters
    ----------
    locate : callable
        ``locate(dataset, relpath)`` returns a file path (:func:`repro.data.locate`).
    size : int
        Side of the stamps used later.
    psf_size : int
        Side of the PSF images (odd).
    seed : int
        Seed of the sky noise that fills cut-out pixels outside small stamps.

    Returns
    -------
    hosts : list of dict
        One per host: ``name``, ``image``, ``gain``, ``psf_index``, ``centre``,
        ``filled_pixels``, ``shape``, ``sky_sigma``, ``units``, ``gain_note``, ``psf_note``,
        ``psf_fwhm_arcsec``.
    psfs : list of numpy.ndarray
        Their PSFs (``hosts[i]["psf_index"]`` indexes this list).

    Raises
    ------
    FitsInputError
        A file that cannot be read or converted, or a noise map of another shape.
    """
    rng = np.random.default_rng(seed)
    hosts, psfs = [], []
    half = size // 2
    for e in REAL_HOSTS:
        path = locate(e["data"], e["file"])
        where = f"{e['data']}/{e['file']}"
        img, hdr = read_image(path, min_shape=(32, 32))
        w = None
        if "weight" in e:
            w, _ = read_image(locate(e["data"], e["weight"]), min_shape=img.shape)
            if w.shape != img.shape:
                raise FitsInputError(f"{where}: noise map shape {w.shape} differs from image {img.shape}")
        nm, gain, notes = to_nanomaggies(img, hdr, e, w, where)
        cen = galaxy_centre(nm)
        cut, filled = cut_centred(nm, cen, half, notes["sky_sigma"], rng)
        p = psf_mod.load_psf(locate(*e["psf"]), size=psf_size)
        psfs.append(p)
        hosts.append(dict(name=e["name"], image=cut, gain=gain, psf_index=len(psfs) - 1,
                          centre=cen, filled_pixels=filled, shape=img.shape, sky_sigma=notes["sky_sigma"],
                          units=e["units"], gain_note=e["gain_note"], psf_note=e["psf_note"],
                          psf_fwhm_arcsec=psf_mod.moment_fwhm(p) * PIXEL_SCALE))
    return hosts, psfs


def real_views(hosts: list[dict], psfs: list[np.ndarray], n_views: int,
               size: int = 64) -> tuple[HostSet, list[np.ndarray]]:
    """The first ``n_views`` of the 8 dihedral views of every real host, trimmed to ``size``.

    Each view has its own, equally transformed PSF, so PSF and host stay consistent.

    Parameters
    ----------
    hosts, psfs : list
        The output of :func:`load_real_hosts`.
    n_views : int
        Views per host, 1..8 (see :func:`repro.astro.psfgan.psf.transform`).
    size : int
        Side of the trimmed stamps.

    Returns
    -------
    views : HostSet
        ``kind="real"``, named ``<host>/v<k>``.
    view_psfs : list of numpy.ndarray
        One PSF per view (``views.psf_index`` indexes this list).

    Raises
    ------
    SimulationError
        ``n_views`` outside 1..8.
    """
    if not 1 <= n_views <= 8:
        raise SimulationError(f"n_views must be in 1..8, got {n_views}")
    imgs, gains, pidx, names, vpsfs = [], [], [], [], []
    for h in hosts:
        for k in range(n_views):
            v = psf_mod.transform(h["image"], k)[:size, :size]
            imgs.append(v)
            gains.append(h["gain"])
            vpsfs.append(psf_mod.transform(psfs[h["psf_index"]], k))
            pidx.append(len(vpsfs) - 1)
            names.append(f"{h['name']}/v{k}")
    return HostSet(np.array(imgs), np.array(gains), np.array(pidx), "real", names, {}), vpsfs

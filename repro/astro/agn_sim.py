"""Host galaxies plus AGN point sources with known truth, for the PSFGAN chain.

Units: every image here is in SDSS nanomaggies per pixel (m = 22.5 - 2.5 log10 flux), sky
subtracted, at the SDSS pixel scale of 0.396"/pixel. Each host carries its gain in electrons
per nanomaggy, so that noise can be added in electrons.

Three kinds of host:

- ``real``: the ~14 real SDSS r-band galaxy stamps of the two data sets (the TEST set), with
  their units converted to nanomaggies (see :data:`REAL_HOSTS`, from the data sets' SOURCE.md);
- ``sersic``: generated bulge + disk Sérsic galaxies convolved with a real SDSS PSF, with sky,
  Poisson and read noise (the main TRAINING set: generated, never real);
- ``cifar``: CIFAR-10 photographs turned into single-band flux images (the "non-astronomical"
  training set).

A point source is the PSF times its flux, centred on the stamp centre; the noiseless part has
exactly the intended flux and its Poisson noise (in electrons, for the host's gain) has zero mean.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, signal, special

from ..errors import ReproError
from . import psf as psf_mod
from .sersic import sersic_bn, sersic_image  # noqa: F401  (re-exported)
from .fits_io import FitsInputError, header_float, read_image

ZP_NMGY = 22.5
# DR7 fpC counts: m ≈ 23.9 - 2.5 log10(DN/s) in r (SOURCE.md; ±0.1 mag)
DNS_TO_NMGY = 10 ** (-0.4 * (23.9 - ZP_NMGY))
SDSS_EXPTIME = 53.907456
PIXEL_SCALE = 0.396

GAL_DATA = "sdss-rband-galaxies-and-psfs"
STAMP_DATA = "sdss-rband-stamps-and-psfields"


class SimulationError(ReproError, ValueError):
    """Bad simulation input (negative flux, stamp too small, shape mismatch)."""


# ------------------------------------------------------------------ magnitudes, photometry
def flux_to_mag(flux):
    """Nanomaggies to AB-like magnitudes; non-positive flux gives NaN."""
    f = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = ZP_NMGY - 2.5 * np.log10(f)
    return np.where(f > 0, m, np.nan)


def mag_to_flux(mag):
    return 10 ** (-0.4 * (np.asarray(mag, dtype=np.float64) - ZP_NMGY))


def aperture_flux(images, radius: float, centre: tuple[float, float] | None = None) -> np.ndarray:
    """Flux in a circular aperture (photutils, exact pixel overlap) for one image or a stack."""
    from photutils.aperture import CircularAperture, aperture_photometry

    arr = np.asarray(images, dtype=np.float64)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    n = arr.shape[1]
    c = (n // 2, n // 2) if centre is None else centre
    ap = CircularAperture([(c[1], c[0])], r=radius)  # photutils uses (x, y)
    out = np.array([float(aperture_photometry(a, ap, method="exact")["aperture_sum"][0]) for a in arr])
    return out[0] if single else out


def relative_mag_error(m_rec, m_true):
    """(m_recovered - m_true) / m_true, the paper's relative magnitude error."""
    return (np.asarray(m_rec) - np.asarray(m_true)) / np.asarray(m_true)


def robust_sigma(x) -> float:
    """1.4826 x median absolute deviation of the finite values (NaN if none)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


# ------------------------------------------------------------------ point sources
def point_source_image(psf: np.ndarray, flux: float, size: int) -> np.ndarray:
    """Noiseless point source of total ``flux`` centred on pixel (size//2, size//2).

    A PSF larger than the stamp is cropped and renormalised, so the image sums to ``flux``
    exactly (to rounding).
    """
    if flux < 0 or not np.isfinite(flux):
        raise SimulationError(f"point-source flux must be finite and >= 0, got {flux}")
    p = np.asarray(psf, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] % 2 == 0:
        raise SimulationError(f"PSF must be square with odd size, got {p.shape}")
    c = size // 2
    h = p.shape[0] // 2
    out = np.zeros((size, size))
    lo_r, hi_r = max(c - h, 0), min(c + h + 1, size)
    out[lo_r:hi_r, lo_r:hi_r] = p[lo_r - c + h:hi_r - c + h, lo_r - c + h:hi_r - c + h]
    s = out.sum()
    if not s > 0:
        raise SimulationError("the PSF has no flux inside the stamp")
    return out * (flux / s)


def add_point_source(host: np.ndarray, psf: np.ndarray, flux: float, gain: float,
                     rng: np.random.Generator | None, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Host + point source; returns ``(image, noiseless_point_source)``.

    Noise added: Poisson noise of the point source's own electrons (``gain`` e-/nanomaggy).
    The host already carries its sky, Poisson and read noise (real images, or generated ones
    from :func:`observe`), so they are not added twice.
    """
    host = np.asarray(host, dtype=np.float64)
    if host.ndim != 2 or host.shape[0] != host.shape[1]:
        raise SimulationError(f"host stamp must be square 2-D, got {host.shape}")
    ps = point_source_image(psf, flux, host.shape[0])
    if not noise:
        return host + ps, ps
    if gain <= 0:
        raise SimulationError(f"gain must be positive, got {gain}")
    electrons = rng.poisson(ps * gain)
    return host + electrons / gain, ps


def observe(model: np.ndarray, sky: float, gain: float, read_noise_e: float, rng: np.random.Generator) -> np.ndarray:
    """A sky-subtracted noisy observation of a noiseless ``model`` (nanomaggies/pixel).

    Poisson noise on source + sky electrons, Gaussian read noise (electrons), sky removed.
    """
    lam = np.clip(model + sky, 0, None) * gain
    e = rng.poisson(lam) + rng.normal(0.0, read_noise_e, size=model.shape)
    return e / gain - sky


# ------------------------------------------------------------------ Sérsic hosts (generated)
@dataclass
class HostSet:
    """A stack of host stamps with their metadata (one row per stamp)."""

    images: np.ndarray            # (N, size, size) nanomaggies, sky-subtracted, noisy
    gain: np.ndarray              # (N,) electrons per nanomaggy
    psf_index: np.ndarray         # (N,) index into the PSF list the host was made/observed with
    kind: str                     # "real", "sersic", "cifar"
    names: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)


def sersic_hosts(n: int, size: int, psfs: list[np.ndarray], rng: np.random.Generator, *,
                 mag_range=(14.0, 17.5), sky_mag_arcsec2=(20.6, 21.2), gain_range=(800.0, 1000.0),
                 read_noise_e: float = 4.3) -> HostSet:
    """Generated bulge + disk hosts at the SDSS pixel scale, each convolved with a random real PSF.

    Disk: n = 1, r_e 2.5-15 px, axis ratio 0.3-1; bulge: n 2-5, r_e 1-5 px, axis ratio 0.6-1;
    bulge-to-total uniform in [0, 1]; total r magnitude uniform in ``mag_range``; sky from
    ``sky_mag_arcsec2`` (r-band SDSS dark sky is about 20.9 mag/arcsec²); gain in e-/nanomaggy.
    """
    if n < 1 or not psfs:
        raise SimulationError("need n >= 1 hosts and at least one PSF")
    imgs = np.empty((n, size, size))
    gains = np.empty(n)
    pidx = rng.integers(0, len(psfs), size=n)
    rows = []
    for i in range(n):
        mag = rng.uniform(*mag_range)
        bt = rng.uniform(0, 1)
        flux = float(mag_to_flux(mag))
        pa = rng.uniform(0, 180)
        jit = rng.uniform(-0.5, 0.5, size=2)
        cen = (size // 2 + jit[0], size // 2 + jit[1])
        rd, qd = rng.uniform(2.5, 15), rng.uniform(0.3, 1.0)
        nb, rb, qb = rng.uniform(2, 5), rng.uniform(1, 5), rng.uniform(0.6, 1.0)
        model = sersic_image(size, flux * (1 - bt), rd, 1.0, qd, pa, cen)
        model += sersic_image(size, flux * bt, rb, nb, qb, pa + rng.normal(0, 10), cen)
        model = signal.fftconvolve(model, psfs[pidx[i]], mode="same")
        sky = float(mag_to_flux(rng.uniform(*sky_mag_arcsec2))) * PIXEL_SCALE ** 2
        g = rng.uniform(*gain_range)
        imgs[i] = observe(model, sky, g, read_noise_e, rng)
        gains[i] = g
        rows.append((mag, bt, rd, qd, nb, rb, qb, pa, sky))
    meta = {"columns": ["mag_total", "bt", "re_disk", "q_disk", "n_bulge", "re_bulge", "q_bulge", "pa", "sky"],
            "values": np.array(rows)}
    return HostSet(imgs, gains, pidx, "sersic", [f"sersic{i:05d}" for i in range(n)], meta)


def cifar_hosts(jpeg_bytes: list[bytes], size: int, psfs: list[np.ndarray], rng: np.random.Generator, *,
                mag_range=(14.0, 17.5), sky_mag_arcsec2=(20.6, 21.2), gain_range=(800.0, 1000.0),
                read_noise_e: float = 4.3) -> HostSet:
    """Everyday-object photographs as 'hosts': grey level as flux, upsampled to ``size``,
    minimum subtracted, scaled to a random total magnitude, convolved with a real PSF and observed
    with the same sky and noise as :func:`sersic_hosts`. JPEGs are decoded with TensorFlow.
    """
    import tensorflow as tf

    n = len(jpeg_bytes)
    if n < 1:
        raise SimulationError("no CIFAR images given")
    imgs = np.empty((n, size, size))
    gains = np.empty(n)
    pidx = rng.integers(0, len(psfs), size=n)
    for i, b in enumerate(jpeg_bytes):
        rgb = tf.io.decode_jpeg(b, channels=3)
        grey = tf.reduce_mean(tf.cast(rgb, tf.float32), axis=-1, keepdims=True)
        up = tf.image.resize(grey[None], (size, size), method="bilinear")[0, :, :, 0].numpy().astype(np.float64)
        up -= up.min()
        s = up.sum()
        if not s > 0:
            up = np.ones_like(up)
            s = up.sum()
        model = up / s * float(mag_to_flux(rng.uniform(*mag_range)))
        model = signal.fftconvolve(model, psfs[pidx[i]], mode="same")
        sky = float(mag_to_flux(rng.uniform(*sky_mag_arcsec2))) * PIXEL_SCALE ** 2
        g = rng.uniform(*gain_range)
        imgs[i] = observe(model, sky, g, read_noise_e, rng)
        gains[i] = g
    return HostSet(imgs, gains, pidx, "cifar", [f"cifar{i:05d}" for i in range(n)], {})


# ------------------------------------------------------------------ pairs
def make_pairs(hosts: HostSet, psfs: list[np.ndarray], rng: np.random.Generator, *,
               contrast_range=(0.1, 10.0), aperture_radius: float = 28.0, noise: bool = True,
               contrasts: np.ndarray | None = None) -> dict:
    """Add one point source to every host, at contrast = point-source flux / host flux.

    The host flux is measured in the photometry aperture on the host stamp itself; contrasts are
    log-uniform in ``contrast_range`` unless given. The point source uses the PSF the host was
    made with (``hosts.psf_index``). Returns arrays: ``inputs`` (host + point source),
    ``targets`` (host), ``host_flux``, ``ps_flux``, ``contrast``.
    """
    n = len(hosts.images)
    host_flux = aperture_flux(hosts.images, aperture_radius)
    if contrasts is None:
        lo, hi = np.log10(contrast_range[0]), np.log10(contrast_range[1])
        contrasts = 10 ** rng.uniform(lo, hi, size=n)
    contrasts = np.asarray(contrasts, dtype=np.float64)
    if contrasts.shape != (n,):
        raise SimulationError(f"need one contrast per host ({n}), got shape {contrasts.shape}")
    inputs = np.empty_like(hosts.images)
    ps_flux = np.clip(host_flux, 0, None) * contrasts
    for i in range(n):
        inputs[i], _ = add_point_source(hosts.images[i], psfs[hosts.psf_index[i]], ps_flux[i],
                                        hosts.gain[i], rng, noise=noise)
    return {"inputs": inputs, "targets": hosts.images.copy(), "host_flux": host_flux,
            "ps_flux": ps_flux, "contrast": contrasts}


# ------------------------------------------------------------------ real hosts (test set)
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
# Not used: celeste_s82_stamps/stamp-r-164.4311-39.0359.fits, listed as a galaxy stamp, is dominated
# by a bright star with diffraction spikes (checked by eye), so it is no host galaxy.


TRAINING_PSF_FIELDS = ("000094-1-0012", "001000-1-0100", "002583-2-0136", "003900-6-0269")
TRAINING_PSF_ROWS = (200, 744, 1290)
TRAINING_PSF_COLS = (300, 1024, 1750)


def load_training_psfs(locate, size: int = 31) -> tuple[list[np.ndarray], list[str]]:
    """The 36 r-band PSFs rebuilt from 4 real psField files (4 fields x 3x3 positions), for training.

    None of them belongs to a test host's field (the pymorph stamps are from run 745, the imfit
    galaxies from runs 3970 and 2243).
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
    """Convert one real stamp to sky-subtracted nanomaggies; returns (image, gain e-/nmgy, notes).

    ``counts`` (DR7 ADU in 53.907 s), ``DN/s`` (counts / 53.907 s) and ``nmgy`` are understood;
    a residual sky (sigma-clipped median of the 4-pixel border) is subtracted from each.
    Raises :class:`FitsInputError` when a header key the unit needs is missing.
    """
    units = entry["units"]
    if units == "counts":
        factor = DNS_TO_NMGY / SDSS_EXPTIME
        gain = entry["gain_e_per_unit"] / factor
    elif units == "DN/s":
        # The headers' GAIN is per ADU in some stamps and per DN/s in others, so the gain in
        # e- per DN/s is measured from the data: sky / sigma² on the border of the noise map.
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
    """Brightest pixel of the Gaussian-smoothed image within ``search`` pixels of the stamp
    centre (the stamps are centred on their target galaxy; this refines the centre)."""
    sm = ndimage.gaussian_filter(img, smooth)
    ny, nx = img.shape
    r0, r1 = max(ny // 2 - search, 0), min(ny // 2 + search + 1, ny)
    c0, c1 = max(nx // 2 - search, 0), min(nx // 2 + search + 1, nx)
    sub = sm[r0:r1, c0:c1]
    i, j = np.unravel_index(np.argmax(sub), sub.shape)
    return int(i + r0), int(j + c0)


def cut_centred(img: np.ndarray, centre: tuple[int, int], half: int, sky_sigma: float,
                rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """An odd (2*half+1)² cut-out centred on ``centre``; pixels outside the stamp are filled
    with Gaussian sky noise of ``sky_sigma`` (returns the image and how many pixels were filled)."""
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
    """Read, convert and cut the real test hosts.

    ``locate(dataset, relpath)`` returns a file path (``repro.data.locate``). Returns a list of
    dicts (name, image (size+1)² odd cut centred on the galaxy, gain, psf index, notes) and the
    list of their PSFs. The odd cut keeps the galaxy centre fixed under the 8 dihedral views;
    :func:`real_views` then trims it to ``size``.
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


def real_views(hosts: list[dict], psfs: list[np.ndarray], n_views: int, size: int = 64) -> tuple[HostSet, list[np.ndarray]]:
    """The 8 dihedral views (or the first ``n_views``) of every real host, trimmed to ``size``.

    Each view has its own, equally transformed PSF, so PSF and host stay consistent.
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


# ------------------------------------------------------------------ evaluation summaries
def binned_stats(contrast, err, edges) -> list[dict]:
    """Systematic error (median) and scatter (robust sigma) of ``err`` in bins of contrast.

    Non-finite errors (e.g. a recovered flux <= 0) are counted in ``n_bad`` and excluded
    from the statistics, never silently dropped from the counts.
    """
    contrast = np.asarray(contrast, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (contrast >= lo) & (contrast < hi)
        e = err[sel]
        good = e[np.isfinite(e)]
        out.append(dict(lo=float(lo), hi=float(hi), n=int(sel.sum()), n_bad=int(sel.sum() - good.size),
                        median=float(np.median(good)) if good.size else float("nan"),
                        robust_sigma=robust_sigma(good)))
    return out


def error_summary(contrast, err, min_contrast: float) -> dict:
    """Median, robust sigma and counts of ``err`` for contrast > ``min_contrast``."""
    contrast = np.asarray(contrast, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    sel = contrast > min_contrast
    e = err[sel]
    good = e[np.isfinite(e)]
    med = float(np.median(good)) if good.size else float("nan")
    sig = robust_sigma(good)
    return dict(n=int(sel.sum()), n_bad=int(sel.sum() - good.size), median=med, robust_sigma=sig,
                total=float(np.hypot(med, sig)))


def stratified_contrasts(n: int, k: int, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """(n, k) contrasts: for each of n stamps, one log-uniform draw from each of k equal log strata."""
    if not (0 < lo < hi) or k < 1:
        raise SimulationError(f"need 0 < contrast_min < contrast_max and k >= 1, got {lo}, {hi}, {k}")
    edges = np.linspace(np.log10(lo), np.log10(hi), k + 1)
    u = rng.uniform(size=(n, k))
    return 10 ** (edges[:-1][None, :] + u * np.diff(edges)[None, :])


def repeat_hosts(hosts: HostSet, k: int) -> HostSet:
    """Every host stamp ``k`` times in a row (for k point sources per host view)."""
    idx = np.repeat(np.arange(len(hosts.images)), k)
    return HostSet(hosts.images[idx], hosts.gain[idx], hosts.psf_index[idx], hosts.kind,
                   [hosts.names[i] for i in idx], {"source_row": idx})


def added_flux_z(pairs: dict, gains) -> np.ndarray:
    """z-scores of the light added to each host against the intended point-source flux.

    (sum(input − host) − ps_flux) / sqrt(ps_flux / gain): the Poisson noise of the point source
    is the only difference, so the z-scores have mean 0 and standard deviation 1.
    """
    added = (pairs["inputs"] - pairs["targets"]).sum(axis=(1, 2))
    return (added - pairs["ps_flux"]) / np.sqrt(np.maximum(pairs["ps_flux"], 1e-12) / np.asarray(gains))


def mismatch_degradation(contrast, errors: dict, factors, min_contrast: float) -> float:
    """Mean over ``factors`` of the increase of √(median² + robust σ²) of the error, against factor 1.

    ``errors`` maps a PSF width factor (1.0 = matched) to the relative magnitude errors of the
    same images.
    """
    base = error_summary(contrast, errors[1.0], min_contrast)["total"]
    return float(np.mean([error_summary(contrast, errors[float(f)], min_contrast)["total"] - base
                          for f in factors]))


def show_stamp(ax, img, scale=None, title: str = "") -> None:
    """Display a stamp (nanomaggies) with the arcsinh(50 x / scale) stretch, no ticks."""
    s = scale if scale is not None else max(float(np.percentile(img, 99.5)), 1e-3)
    ax.imshow(np.arcsinh(50 * np.asarray(img) / s), origin="lower", cmap="magma", vmin=-0.5, vmax=np.arcsinh(50))
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])

"""Host galaxies plus AGN point sources with known truth: the PSFGAN training and test pairs.

Units: every image is in SDSS nanomaggies per pixel, sky subtracted, at the SDSS pixel scale of
0.396" per pixel (:mod:`.photometry`). Each host carries its gain in electrons per nanomaggy,
so that noise is added in electrons.

Two kinds of generated host (the real SDSS test hosts are read by :mod:`.sdss`):

- ``sersic``: bulge + disk Sérsic galaxies convolved with a real SDSS PSF and observed with sky,
  Poisson and read noise (:func:`sersic_hosts`, the main training set);
- ``cifar``: CIFAR-10 photographs turned into single-band flux images (:func:`cifar_hosts`, the
  "non-astronomical" training set).

A point source of flux ``F`` is the PSF ``P`` (sum 1) times ``F``, centred on the stamp centre:
its noiseless part sums to ``F`` exactly, and its Poisson noise (``Poisson(F P g) / g`` for the
host's gain ``g``) has zero mean. The contrast of a pair is the point-source flux over the host's
aperture flux, ``c = F / f_host``.

Example
-------
>>> import numpy as np
>>> psf = np.zeros((5, 5)); psf[2, 2] = 1.0
>>> float(point_source_image(psf, 3.5, size=16).sum())
3.5
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from ...errors import ReproError
from ..sersic import sersic_image
from .photometry import PIXEL_SCALE, aperture_flux, mag_to_flux

__all__ = ["SimulationError", "HostSet", "point_source_image", "add_point_source", "observe", "sersic_hosts",
           "cifar_hosts", "make_pairs", "stratified_contrasts", "repeat_hosts", "added_flux_z"]


class SimulationError(ReproError, ValueError):
    """Bad simulation input (negative flux, stamp too small, shape mismatch)."""


@dataclass
class HostSet:
    """A stack of host stamps with their metadata (one row per stamp).

    Attributes
    ----------
    images : numpy.ndarray, shape (N, size, size)
        Nanomaggies per pixel, sky subtracted, with noise.
    gain : numpy.ndarray, shape (N,)
        Electrons per nanomaggy.
    psf_index : numpy.ndarray, shape (N,)
        Index into the PSF list the host was made or observed with.
    kind : str
        ``"real"``, ``"sersic"`` or ``"cifar"``.
    names : list of str
        One name per stamp.
    meta : dict
        What else the maker records (e.g. the drawn Sérsic parameters).
    """

    images: np.ndarray
    gain: np.ndarray
    psf_index: np.ndarray
    kind: str
    names: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)


# ------------------------------------------------------------------ point sources and noise
def point_source_image(psf: np.ndarray, flux: float, size: int) -> np.ndarray:
    """Noiseless point source of total ``flux`` centred on pixel ``(size // 2, size // 2)``.

    Parameters
    ----------
    psf : numpy.ndarray
        Square PSF image of odd size. A PSF larger than the stamp is cropped and renormalised,
        so the image sums to ``flux`` exactly (to rounding).
    flux : float
        Total flux in nanomaggies (finite, >= 0).
    size : int
        Side of the stamp in pixels.

    Returns
    -------
    numpy.ndarray, shape (size, size)

    Raises
    ------
    SimulationError
        Negative or non-finite flux, a PSF that is not square with odd size, or no PSF flux
        inside the stamp.
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
    """Host plus a point source with the Poisson noise of the point source's own electrons.

    The host already carries its sky, Poisson and read noise (real images, or generated ones
    from :func:`observe`), so they are not added twice.

    Parameters
    ----------
    host : numpy.ndarray, shape (N, N)
        The host stamp (nanomaggies).
    psf : numpy.ndarray
        The PSF the point source is made of (see :func:`point_source_image`).
    flux : float
        Point-source flux (nanomaggies).
    gain : float
        Electrons per nanomaggy (used only with ``noise``).
    rng : numpy.random.Generator or None
        Draws the Poisson noise (may be None when ``noise`` is False).
    noise : bool
        Add the point source's Poisson noise.

    Returns
    -------
    image : numpy.ndarray
        Host plus (noisy) point source.
    point_source : numpy.ndarray
        The noiseless point source.

    Raises
    ------
    SimulationError
        A host stamp that is not square 2-D, a bad PSF or flux, or ``gain <= 0`` with noise.
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
    """A sky-subtracted noisy observation of a noiseless model.

    Poisson noise on the source + sky electrons and Gaussian read noise, then the sky is
    removed: ``(Poisson((model + sky) g) + N(0, read_noise_e)) / g - sky``.

    Parameters
    ----------
    model : numpy.ndarray
        Noiseless image (nanomaggies per pixel).
    sky : float
        Sky level (nanomaggies per pixel).
    gain : float
        Electrons per nanomaggy.
    read_noise_e : float
        Read noise in electrons (standard deviation).
    rng : numpy.random.Generator
        Draws the noise.

    Returns
    -------
    numpy.ndarray
        The observed image, in nanomaggies, sky subtracted.
    """
    lam = np.clip(model + sky, 0, None) * gain
    e = rng.poisson(lam) + rng.normal(0.0, read_noise_e, size=model.shape)
    return e / gain - sky


# ------------------------------------------------------------------ generated hosts
def sersic_hosts(n: int, size: int, psfs: list[np.ndarray], rng: np.random.Generator, *,
                 mag_range=(14.0, 17.5), sky_mag_arcsec2=(20.6, 21.2), gain_range=(800.0, 1000.0),
                 read_noise_e: float = 4.3) -> HostSet:
    """Generated bulge + disk hosts at the SDSS pixel scale, each convolved with a random real PSF.

    Disk: n = 1, r_e 2.5-15 px, axis ratio 0.3-1; bulge: n 2-5, r_e 1-5 px, axis ratio 0.6-1;
    bulge-to-total uniform in [0, 1]; centre jittered by up to half a pixel.

    Parameters
    ----------
    n : int
        Number of hosts (>= 1).
    size : int
        Side of the stamps in pixels.
    psfs : list of numpy.ndarray
        PSFs to draw from (one per host, uniformly).
    rng : numpy.random.Generator
        Draws every parameter and the noise.
    mag_range : (float, float)
        Total r magnitude, uniform.
    sky_mag_arcsec2 : (float, float)
        Sky brightness in mag/arcsec², uniform (SDSS r-band dark sky is about 20.9).
    gain_range : (float, float)
        Gain in electrons per nanomaggy, uniform.
    read_noise_e : float
        Read noise in electrons.

    Returns
    -------
    HostSet
        ``kind="sersic"``; ``meta`` holds the drawn parameters (``columns``, ``values``).

    Raises
    ------
    SimulationError
        ``n < 1`` or no PSF.
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
    """Everyday-object photographs as hosts, observed like :func:`sersic_hosts`.

    Grey level (mean of R, G, B) as flux, upsampled bilinearly to ``size``, minimum subtracted,
    scaled to a random total magnitude, convolved with a random real PSF and observed with the
    same sky and noise as :func:`sersic_hosts`. JPEGs are decoded with TensorFlow.

    Parameters
    ----------
    jpeg_bytes : list of bytes
        JPEG-encoded photographs (e.g. :func:`repro.datasets.cifar10_jpegs`).
    size : int
        Side of the stamps in pixels.
    psfs : list of numpy.ndarray
        PSFs to draw from.
    rng : numpy.random.Generator
        Draws magnitudes, PSFs, sky, gains and noise.
    mag_range, sky_mag_arcsec2, gain_range, read_noise_e
        As in :func:`sersic_hosts`.

    Returns
    -------
    HostSet
        ``kind="cifar"``.

    Raises
    ------
    SimulationError
        No image given.
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


# ------------------------------------------------------------------ pairs and contrasts
def make_pairs(hosts: HostSet, psfs: list[np.ndarray], rng: np.random.Generator, *,
               contrast_range=(0.1, 10.0), aperture_radius: float = 28.0, noise: bool = True,
               contrasts: np.ndarray | None = None) -> dict:
    """Add one point source to every host, at contrast = point-source flux / host flux.

    The host flux is measured in the photometry aperture on the host stamp itself. The point
    source uses the PSF the host was made with (``hosts.psf_index``).

    Parameters
    ----------
    hosts : HostSet
        The hosts.
    psfs : list of numpy.ndarray
        The PSFs ``hosts.psf_index`` refers to.
    rng : numpy.random.Generator
        Draws the contrasts (unless given) and the point sources' noise.
    contrast_range : (float, float)
        Contrasts are log-uniform in this range unless ``contrasts`` is given.
    aperture_radius : float
        Radius in pixels of the aperture of the host flux.
    noise : bool
        Add the point sources' Poisson noise.
    contrasts : numpy.ndarray, shape (N,), optional
        One contrast per host.

    Returns
    -------
    dict
        ``inputs`` (host + point source), ``targets`` (host), ``host_flux``, ``ps_flux``,
        ``contrast``.

    Raises
    ------
    SimulationError
        ``contrasts`` of the wrong shape, or a bad PSF or gain.
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


def stratified_contrasts(n: int, k: int, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """Contrasts that cover the range: one log-uniform draw from each of k equal log strata.

    Parameters
    ----------
    n : int
        Number of stamps.
    k : int
        Draws (strata) per stamp.
    lo, hi : float
        The contrast range, ``0 < lo < hi``.
    rng : numpy.random.Generator
        Draws the contrasts.

    Returns
    -------
    numpy.ndarray, shape (n, k)
        Column ``j`` lies in ``[10**e_j, 10**e_(j+1))``, ``e`` the k + 1 equally spaced
        edges of ``[log10 lo, log10 hi]``.

    Raises
    ------
    SimulationError
        ``lo``, ``hi`` out of order or non-positive, or ``k < 1``.
    """
    if not (0 < lo < hi) or k < 1:
        raise SimulationError(f"need 0 < contrast_min < contrast_max and k >= 1, got {lo}, {hi}, {k}")
    edges = np.linspace(np.log10(lo), np.log10(hi), k + 1)
    u = rng.uniform(size=(n, k))
    return 10 ** (edges[:-1][None, :] + u * np.diff(edges)[None, :])


def repeat_hosts(hosts: HostSet, k: int) -> HostSet:
    """Every host stamp ``k`` times in a row (for k point sources per host view).

    Parameters
    ----------
    hosts : HostSet
        The hosts.
    k : int
        Repeats per host.

    Returns
    -------
    HostSet
        ``k N`` rows; ``meta["source_row"]`` gives each row's index in ``hosts``.
    """
    idx = np.repeat(np.arange(len(hosts.images)), k)
    return HostSet(hosts.images[idx], hosts.gain[idx], hosts.psf_index[idx], hosts.kind,
                   [hosts.names[i] for i in idx], {"source_row": idx})


def added_flux_z(pairs: dict, gains) -> np.ndarray:
    """z-scores of the light added to each host against the intended point-source flux.

    ``(sum(input - host) - ps_flux) / sqrt(ps_flux / gain)``: the Poisson noise of the point
    source is the only difference, so the z-scores have mean 0 and standard deviation 1.

    Parameters
    ----------
    pairs : dict
        The output of :func:`make_pairs`.
    gains : array_like, shape (N,)
        Electrons per nanomaggy of each pair.

    Returns
    -------
    numpy.ndarray, shape (N,)
    """
    added = (pairs["inputs"] - pairs["targets"]).sum(axis=(1, 2))
    return (added - pairs["ps_flux"]) / np.sqrt(np.maximum(pairs["ps_flux"], 1e-12) / np.asarray(gains))

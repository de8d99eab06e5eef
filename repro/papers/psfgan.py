"""The driver of the ``psfgan`` chain (Stark et al. 2018, arXiv:1803.08925).

:func:`setup` is the one place that reads the chain's parameter names for what its notebooks
share: the named seeds, TensorFlow's thread settings (applied), the real test hosts and the
training PSFs (read when first used), the test set written by ``02_simulate`` and the GANs
trained by ``03_train``. The computing lives in :mod:`repro.astro.psfgan`; here is only what
exists to run this paper's experiments: the speed comparison of ``06_speed``
(:func:`time_against_fit`) and the stamp display of the figures (:func:`show_stamp`).

Example
-------
A notebook of the chain begins::

    from repro import chains
    from repro.papers import psfgan as paper

    run = chains.start("psfgan", profile, overrides, notebook="04_compare")
    P = run.params
    S = paper.setup(P, run)
    generator = S.load_gan("sersic").generator
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..astro.psfgan import gan as gan_mod
from ..astro.psfgan import sdss
from ..astro.psfgan.parametric import fit_two_component
from ..errors import ChainError

__all__ = ["GAN_VARIANTS", "Seeds", "Setup", "setup", "time_against_fit", "show_stamp"]

GAN_VARIANTS = ("sersic", "cifar")
"""The two GANs: trained on generated Sérsic galaxies and on CIFAR-10 photographs."""


@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds (today all equal to the parameter ``seed``).

    Attributes
    ----------
    real_hosts : int
        Sky noise that fills the cut-outs of the real hosts beyond small stamps (01, 02).
    simulation : int
        The one generator of ``02_simulate``, drawn from in order: Sérsic hosts and their pairs,
        the CIFAR-10 picks, hosts and pairs, the test contrasts and point-source noise, the
        PSF-mismatch pairs.
    gan_init : int
        ``keras.utils.set_random_seed`` before each GAN is built (initial weights, dropout).
    gan_batches : int
        Order of the training pairs in every epoch (03).
    """

    real_hosts: int
    simulation: int
    gan_init: int
    gan_batches: int


@dataclass
class Setup:
    """What the notebooks of the ``psfgan`` chain share (built by :func:`setup`).

    Expensive members are read when first used, so a notebook pays only for what it needs.

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    run : repro.chains.RunContext or None
        The run (needed for the results of earlier notebooks).
    seeds : Seeds
        The named seeds.
    threads : int
        TensorFlow's intra-op threads, applied by :func:`setup`.
    """

    params: Any
    run: Any
    seeds: Seeds
    threads: int

    @cached_property
    def real_hosts(self) -> tuple[list[dict], list[np.ndarray]]:
        """The first ``n_real_hosts`` real test hosts and the PSFs of all of them.

        Returns
        -------
        hosts : list of dict
            As :func:`repro.astro.psfgan.load_real_hosts` returns them, cut to ``stamp_size + 1``.
        psfs : list of numpy.ndarray
            ``hosts[i]["psf_index"]`` indexes this list.
        """
        from .. import data
        P = self.params
        hosts, psfs = sdss.load_real_hosts(data.locate, size=P.stamp_size, psf_size=P.psf_size,
                                           seed=self.seeds.real_hosts)
        return hosts[:P.n_real_hosts], psfs

    @cached_property
    def training_psfs(self) -> tuple[list[np.ndarray], list[str]]:
        """The 36 training PSFs of ``psf_size`` pixels and their file names.

        Returns
        -------
        psfs : list of numpy.ndarray
        names : list of str
        """
        from .. import data
        return sdss.load_training_psfs(data.locate, self.params.psf_size)

    @cached_property
    def test(self) -> dict:
        """The real-host test pairs written by ``02_simulate`` (``test.npz``).

        Returns
        -------
        dict
            ``inputs``, ``targets``, ``contrast``, ``host_flux``, ``ps_flux``, ``host_row``,
            ``view``, ``psf_index``, ``gain``, ``sky_sigma``, ``names``.

        Raises
        ------
        ChainError
            No run was given, or ``02_simulate`` has not run.
        """
        return self._run().load_arrays("test.npz")

    @cached_property
    def test_psfs(self) -> np.ndarray:
        """The PSF of every test view (``test_psfs.npz``; indexed by ``test["psf_index"]``).

        Returns
        -------
        numpy.ndarray, shape (views, psf_size, psf_size)

        Raises
        ------
        ChainError
            No run was given, or ``02_simulate`` has not run.
        """
        return self._run().load_arrays("test_psfs.npz")["psfs"]

    def new_gan(self) -> gan_mod.PSFGAN:
        """A freshly initialised GAN with the run's network and training parameters.

        Returns
        -------
        repro.astro.psfgan.PSFGAN
            Seeded with ``seeds.gan_init``.
        """
        P = self.params
        return gan_mod.PSFGAN(size=P.stamp_size, base_filters=P.base_filters, max_filters=P.max_filters,
                              lr=P.lr, beta_1=P.beta_1, l1_weight=P.l1_weight, center_weight=P.center_weight,
                              center_radius=P.center_radius, seed=self.seeds.gan_init)

    def gan_dir(self, variant: str):
        """The checkpoint folder of a GAN in the run folder (``gan_<variant>``).

        Parameters
        ----------
        variant : {"sersic", "cifar"}
            Which training set.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        ChainError
            Unknown variant, or no run was given.
        """
        if variant not in GAN_VARIANTS:
            raise ChainError(f"unknown GAN variant {variant!r}; the chain trains {', '.join(GAN_VARIANTS)}")
        return self._run().path(f"gan_{variant}")

    def load_gan(self, variant: str) -> gan_mod.PSFGAN:
        """The GAN that ``03_train`` trained on ``variant``, its weights loaded from :meth:`gan_dir`.

        Parameters
        ----------
        variant : {"sersic", "cifar"}
            The training set of the GAN.

        Returns
        -------
        repro.astro.psfgan.PSFGAN
            Built by :meth:`new_gan`, then loaded.

        Raises
        ------
        ChainError
            See :meth:`gan_dir`.
        repro.astro.psfgan.GANError
            ``03_train`` has not written the weights.
        """
        folder = self.gan_dir(variant)
        g = self.new_gan()
        g.load(folder)
        return g

    def _run(self):
        if self.run is None:
            raise ChainError("this needs the run's results: call setup(params, run) with the run of "
                             "chains.start('psfgan', ...)")
        return self.run


def setup(params, run=None) -> Setup:
    """Read the ``psfgan`` parameters, apply TensorFlow's thread settings, name the seeds.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The run; without it the members that read earlier results raise.

    Returns
    -------
    Setup
    """
    seed = int(params.seed)
    # Today's values (one seed for everything), kept so that the numbers do not change.
    seeds = Seeds(real_hosts=seed, simulation=seed, gan_init=seed, gan_batches=seed)
    threads = int(params.threads)
    gan_mod.configure_tensorflow(threads=threads)
    return Setup(params=params, run=run, seeds=seeds, threads=threads)


def time_against_fit(generator, inputs: np.ndarray, psfs, psf_index, sky_sigma, gain, *,
                     aperture_radius: float, ftol: float) -> dict:
    """Per-image time of GAN inference against a two-component parametric fit, measured in one run.

    For each image in turn the GAN removes the point source (batch of one) and
    :func:`repro.astro.psfgan.fit_two_component` fits it with the image's own PSF; then the GAN
    processes all images as one batch. The GAN's graph is traced once before timing. Wall-clock
    times: they vary from run to run and machine to machine, the ratios less so.

    Parameters
    ----------
    generator : keras.Model
        A trained generator.
    inputs : numpy.ndarray, shape (N, H, W)
        Test images (N >= 1).
    psfs : sequence of numpy.ndarray
        PSFs; image ``i`` is fitted with ``psfs[psf_index[i]]``.
    psf_index, sky_sigma, gain : array_like
        Per image (at least N entries): PSF index, background sigma, electrons per nanomaggy.
    aperture_radius, ftol : float
        As in :func:`repro.astro.psfgan.fit_two_component`.

    Returns
    -------
    dict
        ``images``, ``gan_median_s``, ``gan_batched_per_image_s``, ``fit_median_s``,
        ``ratio_median`` (median fit / median GAN time), ``ratio_batched``, and the per-image
        times ``gan_s``, ``fit_s``.

    Raises
    ------
    ValueError
        No image given.
    """
    n = len(inputs)
    if n < 1:
        raise ValueError("time_against_fit needs at least one image")
    gan_mod.remove_point_source(generator, inputs[:1])  # warm-up (graph tracing)
    t_gan, t_fit = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        gan_mod.remove_point_source(generator, inputs[i:i + 1])
        t_gan[i] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_two_component(inputs[i], psfs[psf_index[i]], float(sky_sigma[i]), float(gain[i]),
                          aperture_radius=aperture_radius, ftol=ftol)
        t_fit[i] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gan_mod.remove_point_source(generator, inputs)
    t_batch = (time.perf_counter() - t0) / n
    return {"images": n, "gan_median_s": float(np.median(t_gan)), "gan_batched_per_image_s": t_batch,
            "fit_median_s": float(np.median(t_fit)), "ratio_median": float(np.median(t_fit) / np.median(t_gan)),
            "ratio_batched": float(np.median(t_fit) / t_batch), "gan_s": t_gan.tolist(), "fit_s": t_fit.tolist()}


def show_stamp(ax, img, scale=None, title: str = "") -> None:
    """Display a stamp (nanomaggies) with the stretch arcsinh(50 x / scale), without ticks.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    img : array_like
        The stamp.
    scale : float, optional
        The stretch's scale; default the 99.5th percentile of the stamp (at least 1e-3).
    title : str
        Axes title.
    """
    s = scale if scale is not None else max(float(np.percentile(img, 99.5)), 1e-3)
    ax.imshow(np.arcsinh(50 * np.asarray(img) / s), origin="lower", cmap="magma", vmin=-0.5, vmax=np.arcsinh(50))
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])

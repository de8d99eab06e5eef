"""The driver of the ``psfgan`` chain (Stark et al. 2018, arXiv:1803.08925).

:func:`setup` is the one place that reads the chain's parameter names for what its notebooks
share: the named seeds, TensorFlow's thread settings (applied), the real test hosts and the
training PSFs (read when first used), the test set written by ``02_simulate`` and the GANs
trained by ``03_train``. The computing lives in :mod:`repro.astro.psfgan`; here is only what
exists to run this paper's experiments: the speed comparison of ``06_speed`` and
``benchmarks/psfgan_speed.py`` (:func:`speed_benchmark`) and the stamp display of the figures (:func:`show_stamp`).

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

__all__ = ["GAN_VARIANTS", "Seeds", "Setup", "setup", "speed_benchmark", "show_stamp"]

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
        Order of the training pairs and their augmentations (03).
    validation : tuple of int
        The separate stream of the held-out validation pairs (02): ``(seed, 1)``, so that adding
        or resizing them changes no other draw.
    """

    real_hosts: int
    simulation: int
    gan_init: int
    gan_batches: int
    validation: tuple = ()


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
                              center_radius=P.center_radius, seed=self.seeds.gan_init,
                              lr_schedule=P.lr_schedule, decay_steps=P.train_steps,
                              lr_final_fraction=P.lr_final_fraction)

    def validation_pairs(self, exclude_cifar=()) -> dict:
        """Held-out generated pairs of both kinds, drawn from their own stream (``seeds.validation``).

        Sérsic hosts as in the training set (the same 36 training PSFs, never the real test hosts
        or their PSFs), and CIFAR-10 pictures disjoint from ``exclude_cifar`` (the training
        picks), each with one point source at a log-uniform contrast.

        Parameters
        ----------
        exclude_cifar : iterable of str
            CIFAR-10 file names not to use (those of the training set).

        Returns
        -------
        dict
            ``{"sersic": pairs, "cifar": pairs}``, each as :func:`repro.astro.psfgan.make_pairs`
            returns it.
        """
        from .. import datasets
        from ..astro.psfgan import cifar_hosts, make_pairs, sersic_hosts

        P = self.params
        rng = np.random.default_rng(self.seeds.validation)
        psfs, _ = self.training_psfs
        kw = dict(contrast_range=(P.contrast_min, P.contrast_max), aperture_radius=P.aperture_radius)
        out = {"sersic": make_pairs(sersic_hosts(P.n_val, P.stamp_size, psfs, rng), psfs, rng, **kw)}
        jpegs, _ = datasets.cifar10_jpegs(P.n_val, rng, exclude=exclude_cifar)
        out["cifar"] = make_pairs(cifar_hosts(jpegs, P.stamp_size, psfs, rng), psfs, rng, **kw)
        return out

    def make_test_set(self, rng: np.random.Generator) -> tuple[dict, list[np.ndarray]]:
        """The real-host test pairs: ``n_views`` views of every host, ``n_contrasts`` point sources each.

        Contrasts are drawn log-uniformly from equal strata of [contrast_min, contrast_max]; the
        point source sits on the galaxy centre and is made of the view's own PSF.

        Parameters
        ----------
        rng : numpy.random.Generator
            Draws the contrasts and the point sources' noise.

        Returns
        -------
        test : dict
            ``inputs``, ``targets``, ``contrast``, ``host_flux``, ``ps_flux``, ``host_row``,
            ``view``, ``psf_index``, ``gain``, ``sky_sigma``, ``names`` (what ``02_simulate``
            saves as ``test.npz``).
        view_psfs : list of numpy.ndarray
            The PSF of every view (``test["psf_index"]`` indexes it).
        """
        from ..astro.psfgan import make_pairs, real_views, repeat_hosts, stratified_contrasts

        P = self.params
        hosts, host_psfs = self.real_hosts
        views, view_psfs = real_views(hosts, host_psfs, P.n_views, P.stamp_size)
        k = P.n_contrasts
        contrasts = stratified_contrasts(len(views.images), k, P.contrast_min, P.contrast_max, rng).ravel()
        rows = repeat_hosts(views, k)
        test = make_pairs(rows, view_psfs, rng, contrasts=contrasts, aperture_radius=P.aperture_radius)
        host_row = np.repeat(np.repeat(np.arange(len(hosts)), P.n_views), k)
        test.update(host_row=host_row, view=np.tile(np.repeat(np.arange(P.n_views), k), len(hosts)),
                    psf_index=rows.psf_index, gain=rows.gain,
                    sky_sigma=np.array([hosts[i]["sky_sigma"] for i in host_row]),
                    names=np.array([h["name"] for h in hosts]), rows=rows)
        return test, view_psfs

    def validation_edges(self) -> np.ndarray:
        """Contrast bin edges of the validation and comparison statistics (5 log-spaced bins)."""
        return np.geomspace(self.params.contrast_min, self.params.contrast_max, 6)

    def train_gan(self, variant: str, progress: bool = True) -> gan_mod.PSFGAN:
        """Train the GAN of ``variant`` on ``train_<variant>.npz``, scored on ``val_<variant>.npz``.

        Every ``eval_every`` steps the generator is scored on the held-out pairs of its own kind
        (:func:`repro.astro.psfgan.validation_metrics`: host plus point-source total magnitude
        error above ``claim_contrast``) and the best weights are kept in :meth:`gan_dir`.

        Parameters
        ----------
        variant : {"sersic", "cifar"}
            Which training set.
        progress : bool
            Show a progress bar.

        Returns
        -------
        repro.astro.psfgan.PSFGAN
            The trained GAN (last weights in memory; its ``history`` and ``best`` filled).

        Raises
        ------
        ChainError
            Unknown variant, or ``02_simulate`` has not run.
        """
        from ..astro.psfgan.validation import validation_metrics

        P = self.params
        folder = self.gan_dir(variant)
        d = self._run().load_arrays(f"train_{variant}.npz")
        val = self._run().load_arrays(f"val_{variant}.npz")
        edges = self.validation_edges()

        def validate(generator):
            return validation_metrics(generator, val, aperture_radius=P.aperture_radius,
                                      min_contrast=P.claim_contrast, edges=edges)

        g = self.new_gan()
        g.fit(d["inputs"].astype(np.float64), d["targets"].astype(np.float64), steps=P.train_steps,
              batch_size=P.batch_size, seed=self.seeds.gan_batches, augment=P.augment, validate=validate,
              eval_every=P.eval_every, checkpoint_dir=folder, progress=progress, desc=f"GAN ({variant})")
        return g

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
    seeds = Seeds(real_hosts=seed, simulation=seed, gan_init=seed, gan_batches=seed, validation=(seed, 1))
    threads = int(params.threads)
    gan_mod.configure_tensorflow(threads=threads)
    return Setup(params=params, run=run, seeds=seeds, threads=threads)


def _fit_one(args):
    """One two-component fit, timed (a worker of :func:`speed_benchmark`'s process pool)."""
    image, psf, sky, gain, radius, ftol = args
    t0 = time.perf_counter()
    fit_two_component(image, psf, sky, gain, aperture_radius=radius, ftol=ftol)
    return time.perf_counter() - t0


def speed_benchmark(generator, inputs: np.ndarray, psfs, psf_index, sky_sigma, gain, *, aperture_radius: float,
                    ftol: float, repeats: int = 3, processes: int | None = None, batch_images: int = 256,
                    batch_size: int = 64, progress: bool = True) -> dict:
    """Per-image time of GAN inference and of the two-component fit, measured like a benchmark.

    In each of ``repeats`` rounds, on the same machine and in one process:

    - **GAN, one image per call** (stretch, generator, inverse stretch): the median over the
      ``N`` images;
    - **GAN, batched** (as on a survey): ``batch_images`` stamps (the ``N`` images repeated) in
      calls of ``batch_size``, wall time / images;
    - **fit, serial**: the median over the ``N`` two-component pyimfit fits, one after another;
    - **fit, one process per core**: the ``N`` fits spread over ``processes`` worker processes
      (started and warmed up before timing), wall time / images.

    The GAN's graph is traced before timing. Every quantity is reported as the median over the
    rounds (what the chain's claim uses) and as the fastest round (the benchmark convention), with
    the load average before and after.

    Parameters
    ----------
    generator : keras.Model
        The generator (weights do not change its speed).
    inputs : numpy.ndarray, shape (N, H, W)
        Test images (N >= 1).
    psfs : sequence of numpy.ndarray
        PSFs; image ``i`` is fitted with ``psfs[psf_index[i]]``.
    psf_index, sky_sigma, gain : array_like
        Per image (at least N entries): PSF index, background sigma, electrons per nanomaggy.
    aperture_radius, ftol : float
        As in :func:`repro.astro.psfgan.fit_two_component`.
    repeats : int
        Rounds (>= 1).
    processes : int, optional
        Worker processes of the parallel fits; default one per core (``os.cpu_count()``).
    batch_images, batch_size : int
        Stamps timed in the batched GAN measurement, and stamps per generator call.
    progress : bool
        Show a progress bar over the rounds.

    Returns
    -------
    dict
        ``images``, ``repeats``, ``processes``, ``batch_images``, ``load_before``, ``load_after``
        (1-minute load averages); for each of ``gan_single_s``, ``gan_batched_s``,
        ``fit_serial_s``, ``fit_per_core_s`` (seconds per image) the list over rounds and its
        ``_median`` and ``_fastest``; the ratios ``ratio_like_for_like`` (fit per core / GAN
        batched, medians: the claim), ``ratio_single`` (fit serial / GAN single, medians) and
        ``ratio_like_for_like_fastest``.

    Raises
    ------
    ValueError
        No image, or ``repeats`` < 1.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from tqdm import tqdm

    n = len(inputs)
    if n < 1 or repeats < 1:
        raise ValueError(f"speed_benchmark needs at least one image and one round (got {n} and {repeats})")
    processes = int(processes or os.cpu_count() or 1)
    jobs = [(np.asarray(inputs[i], dtype=np.float64), psfs[psf_index[i]], float(sky_sigma[i]), float(gain[i]),
             float(aperture_radius), float(ftol)) for i in range(n)]
    many = np.concatenate([inputs] * -(-batch_images // n))[:batch_images]
    gan_mod.remove_point_source(generator, inputs[:1])  # graph tracing
    gan_mod.remove_point_source(generator, many[:batch_size], batch_size=batch_size)
    out = {"images": n, "repeats": int(repeats), "processes": processes, "batch_images": int(batch_images),
           "load_before": os.getloadavg()[0]}
    rounds = {k: [] for k in ("gan_single_s", "gan_batched_s", "fit_serial_s", "fit_per_core_s")}
    # spawn, not fork: the parent holds TensorFlow's threads
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        list(pool.map(_fit_one, jobs[:1] * processes))  # start and warm up the workers
        for _ in tqdm(range(repeats), desc="speed rounds", disable=not progress):
            t = []
            for i in range(n):
                t0 = time.perf_counter()
                gan_mod.remove_point_source(generator, inputs[i:i + 1])
                t.append(time.perf_counter() - t0)
            rounds["gan_single_s"].append(float(np.median(t)))
            t0 = time.perf_counter()
            gan_mod.remove_point_source(generator, many, batch_size=batch_size)
            rounds["gan_batched_s"].append((time.perf_counter() - t0) / len(many))
            rounds["fit_serial_s"].append(float(np.median([_fit_one(j) for j in jobs])))
            t0 = time.perf_counter()
            list(pool.map(_fit_one, jobs))
            rounds["fit_per_core_s"].append((time.perf_counter() - t0) / n)
    out["load_after"] = os.getloadavg()[0]
    for k, v in rounds.items():
        out[k] = v
        out[f"{k}_median"] = float(np.median(v))
        out[f"{k}_fastest"] = float(np.min(v))
    out["ratio_like_for_like"] = out["fit_per_core_s_median"] / out["gan_batched_s_median"]
    out["ratio_single"] = out["fit_serial_s_median"] / out["gan_single_s_median"]
    out["ratio_like_for_like_fastest"] = out["fit_per_core_s_fastest"] / out["gan_batched_s_fastest"]
    return out


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

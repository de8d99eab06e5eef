"""PSFGAN (Stark et al. 2018, arXiv:1803.08925): removing AGN point sources with a conditional GAN,
against a two-component parametric fit.

Modules, one concept each:

- :mod:`.photometry`  nanomaggies, magnitudes, circular-aperture fluxes;
- :mod:`.fits_io`     reading FITS images and PSFs with one clear error per problem;
- :mod:`.psf`         PSFs: loading, centring, dihedral views, Gaussian-mixture model and width scaling;
- :mod:`.simulation`  generated hosts (Sérsic, CIFAR-10), point sources, noise, pairs, contrasts;
- :mod:`.sdss`        the real SDSS test hosts (unit conversion, cut-outs, views) and training PSFs;
- :mod:`.gan`         the pix2pix-style network in Keras 3: stretch, generator, discriminator, training, inference;
- :mod:`.parametric`  the baseline: a Sérsic + point-source fit with pyimfit (GALFIT's role in the paper);
- :mod:`.metrics`     relative magnitude errors, robust scatter, error summaries;
- :mod:`.validation`  scoring a generator by the recovered magnitudes (checkpoint choice, comparison).

The chain's glue (setup, seeds, threads, the speed experiment, stamp display) is
:mod:`repro.papers.psfgan`. Every public name of the modules is importable from here, e.g.
``from repro.astro.psfgan import make_pairs, PSFGAN``. Importing the package imports neither
TensorFlow nor pyimfit; the functions that need them import them when called.
"""
from .fits_io import FitsInputError, header_float, read_image
from .gan import (
    PSFGAN,
    STRETCH_A,
    GANError,
    build_discriminator,
    build_generator,
    LR_SCHEDULES,
    center_weight_map,
    configure_tensorflow,
    dihedral,
    image_scale,
    learning_rate_schedule,
    prepare,
    remove_point_source,
    stretch,
    unstretch,
)
from .metrics import binned_stats, error_summary, mismatch_degradation, relative_mag_error, robust_sigma
from .parametric import FitError, TwoComponentFit, fit_many, fit_two_component, fits_to_arrays, model_lines
from .photometry import PIXEL_SCALE, ZP_NMGY, aperture_flux, flux_to_mag, mag_to_flux
from .psf import (
    GaussianMixturePSF,
    PSFError,
    centroid,
    fit_gaussian_mixture,
    fit_size,
    load_psf,
    moment_fwhm,
    normalize,
    recentre,
    transform,
)
from .sdss import (
    DNS_TO_NMGY,
    GAL_DATA,
    REAL_HOSTS,
    SDSS_EXPTIME,
    STAMP_DATA,
    TRAINING_PSF_COLS,
    TRAINING_PSF_FIELDS,
    TRAINING_PSF_ROWS,
    cut_centred,
    galaxy_centre,
    load_real_hosts,
    load_training_psfs,
    real_views,
    to_nanomaggies,
)
from .validation import recovered_errors, score_errors, validation_metrics
from .simulation import (
    HostSet,
    SimulationError,
    add_point_source,
    added_flux_z,
    cifar_hosts,
    make_pairs,
    observe,
    point_source_image,
    repeat_hosts,
    sersic_hosts,
    stratified_contrasts,
)

__all__ = [
    # photometry
    "ZP_NMGY", "PIXEL_SCALE", "flux_to_mag", "mag_to_flux", "aperture_flux",
    # fits_io
    "FitsInputError", "read_image", "header_float",
    # psf
    "PSFError", "GaussianMixturePSF", "normalize", "centroid", "fit_size", "recentre", "load_psf", "moment_fwhm",
    "transform", "fit_gaussian_mixture",
    # simulation
    "SimulationError", "HostSet", "point_source_image", "add_point_source", "observe", "sersic_hosts",
    "cifar_hosts", "make_pairs", "stratified_contrasts", "repeat_hosts", "added_flux_z",
    # sdss
    "DNS_TO_NMGY", "SDSS_EXPTIME", "GAL_DATA", "STAMP_DATA", "REAL_HOSTS", "TRAINING_PSF_FIELDS",
    "TRAINING_PSF_ROWS", "TRAINING_PSF_COLS", "load_training_psfs", "to_nanomaggies", "galaxy_centre",
    "cut_centred", "load_real_hosts", "real_views",
    # gan
    "STRETCH_A", "GANError", "stretch", "unstretch", "image_scale", "prepare", "center_weight_map",
    "configure_tensorflow", "build_generator", "build_discriminator", "PSFGAN", "remove_point_source", "dihedral",
    "LR_SCHEDULES", "learning_rate_schedule",
    # validation
    "recovered_errors", "score_errors", "validation_metrics",
    # parametric
    "FitError", "TwoComponentFit", "model_lines", "fit_two_component", "fit_many", "fits_to_arrays",
    # metrics
    "relative_mag_error", "robust_sigma", "binned_stats", "error_summary", "mismatch_degradation",
]

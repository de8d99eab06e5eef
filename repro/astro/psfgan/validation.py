"""Scoring a generator the paper's way: magnitude errors of host and point source, on held-out pairs.

The GAN's recovered host is measured in the photometry aperture; the point source is what the
GAN removed (input minus recovered host, in the same aperture). Their relative magnitude errors
against the truth are summarised as in the paper — median (systematic error) and robust sigma
(scatter) above a contrast, and in bins of contrast. The same measurement serves the choice of
checkpoint during training (on generated held-out pairs, never the real test hosts) and the
comparison with the parametric fit on the real hosts (``04_compare``).

Example
-------
>>> import numpy as np
>>> hosts = np.ones((2, 8, 8)); inputs = hosts * 3.0
>>> err = recovered_errors(hosts, inputs, host_flux=np.full(2, 64.0), ps_flux=np.full(2, 128.0),
...                        aperture_radius=100.0)
>>> [float(abs(v).max()) for v in err.values()]
[0.0, 0.0]
"""
from __future__ import annotations

import numpy as np

from .metrics import binned_stats, error_summary, relative_mag_error
from .photometry import aperture_flux, flux_to_mag

__all__ = ["recovered_errors", "score_errors", "validation_metrics"]


def recovered_errors(host_images, inputs, host_flux, ps_flux, aperture_radius: float) -> dict:
    """Relative magnitude errors of the host and the point source a method recovered.

    Parameters
    ----------
    host_images : numpy.ndarray, shape (N, H, W)
        The recovered hosts (physical units).
    inputs : numpy.ndarray, shape (N, H, W)
        Host + point source; the point source recovered is ``inputs - host_images``.
    host_flux, ps_flux : array_like, shape (N,)
        True aperture flux of the host and total flux of the point source.
    aperture_radius : float
        Radius in pixels of the photometry aperture.

    Returns
    -------
    dict
        ``host`` and ``ps``: arrays of ``(m_rec - m_true) / m_true`` (NaN where the recovered
        flux is not positive).
    """
    hf = aperture_flux(np.asarray(host_images, dtype=np.float64), aperture_radius)
    total = aperture_flux(np.asarray(inputs, dtype=np.float64), aperture_radius)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"host": relative_mag_error(flux_to_mag(hf), flux_to_mag(np.asarray(host_flux))),
                "ps": relative_mag_error(flux_to_mag(total - hf), flux_to_mag(np.asarray(ps_flux)))}


def score_errors(contrast, errors: dict, min_contrast: float, edges=None, max_bad_fraction: float = 0.05) -> dict:
    """Summaries of :func:`recovered_errors` and one score to minimise.

    Parameters
    ----------
    contrast : array_like, shape (N,)
        Point-source / host flux ratio of each pair.
    errors : dict
        ``host`` and ``ps`` relative magnitude errors.
    min_contrast : float
        The summaries count pairs with contrast above this (the paper's claims: 2).
    edges : sequence of float, optional
        Contrast bin edges of the binned statistics.
    max_bad_fraction : float
        Above this fraction of non-finite errors (a host or point source recovered with no
        positive flux) among the summarised pairs the score is infinite.

    Returns
    -------
    dict
        ``host`` and ``ps`` (:func:`repro.astro.psfgan.error_summary` each), ``score`` =
        host total error + point-source total error above ``min_contrast``, and with ``edges``
        ``host_bins``, ``ps_bins`` (:func:`repro.astro.psfgan.binned_stats`).
    """
    out = {q: error_summary(contrast, errors[q], min_contrast) for q in ("host", "ps")}
    bad = max(out[q]["n_bad"] / max(out[q]["n"], 1) for q in ("host", "ps"))
    score = out["host"]["total"] + out["ps"]["total"]
    out["score"] = float("inf") if bad > max_bad_fraction or not np.isfinite(score) else float(score)
    if edges is not None:
        for q in ("host", "ps"):
            out[f"{q}_bins"] = binned_stats(contrast, errors[q], edges)
    return out


def validation_metrics(generator, pairs: dict, *, aperture_radius: float, min_contrast: float, edges=None,
                       batch_size: int = 128) -> dict:
    """Score a generator on held-out pairs: :func:`score_errors` of its recovered magnitudes.

    Parameters
    ----------
    generator : keras.Model
        The generator (run in inference mode).
    pairs : dict
        ``inputs`` (N, H, W), ``host_flux``, ``ps_flux``, ``contrast`` (as
        :func:`repro.astro.psfgan.make_pairs` returns them).
    aperture_radius, min_contrast, edges
        As in :func:`recovered_errors` and :func:`score_errors`.
    batch_size : int
        Stamps per generator call.

    Returns
    -------
    dict
        As :func:`score_errors`.
    """
    from .gan import remove_point_source

    hosts = remove_point_source(generator, pairs["inputs"], batch_size=batch_size)
    err = recovered_errors(hosts, pairs["inputs"], pairs["host_flux"], pairs["ps_flux"], aperture_radius)
    return score_errors(pairs["contrast"], err, min_contrast, edges)

r"""The driver of the ``agn`` chain (Sartori et al. 2018, arXiv:1802.05717).

:func:`setup` is the one place that reads the chain's parameter names for what its notebooks
share: the Eddington-ratio distribution function (ERDF, built when first used), the PSD shape
(a bending power law with the bend at ``1 / psd_bend_years``), the named seeds, the resolution
levels of the days-to-Gyr simulations and their low-frequency cut-off ``f_min``. The computing
lives in :mod:`repro.astro.agn`; here is only what exists to run this paper's experiments: the
structure functions written by ``02_simulate`` (:func:`simulated_structure_functions`) and
the one model SF that ``03_structure_functions`` reads back from them
(:func:`model_structure_function`).

The chain trains nothing and uses no threads of its own (numpy runs as configured by the
environment).

Example
-------
>>> from repro import params
>>> from repro.papers import agn as paper
>>> S = paper.setup(params.load("agn", "smoke"))
>>> S.seeds.e13, S.seeds.multiscale
(1, 2)
>>> round(S.f_bend, 5), S.f_min
(0.00631, 2.44140625e-10)
>>> [lv["dt"] for lv in S.levels]
[0.01, 1.0, 100.0, 10000.0, 1000000.0]
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..astro import agn

__all__ = ["Seeds", "Setup", "setup", "simulated_structure_functions", "model_structure_function"]


@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds (both derived from the parameter ``seed``).

    Attributes
    ----------
    e13 : int
        ``02_simulate``: the generator of the Emmanoulopoulos et al. light curves (the
        parameter ``seed``).
    multiscale : int
        ``02_simulate``: the master seed of :func:`repro.astro.agn.simulate_multiscale`, which
        spawns one generator per resolution level (``seed + 1``).
    """

    e13: int
    multiscale: int


@dataclass
class Setup:
    """What the notebooks of the ``agn`` chain share (built by :func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    seeds : Seeds
        The named seeds.
    f_bend : float
        Bend frequency of the PSD (1/yr), ``1 / psd_bend_years``.
    levels : list of dict
        The resolution levels of the days-to-Gyr simulations, one per ``sf_levels_dt_years``:
        ``{"dt": yr, "n": sf_level_n, "method": "translation"}``.
    f_min : float
        Low-frequency cut-off of those simulations (1/yr): the inverse of the longest
        simulated time-scale, ``1 / max(dt * sf_level_n)``; the PSD is taken as zero below it
        (needed when ``psd_alpha_low`` >= ~0.85, where the total power diverges).
    """

    params: object
    seeds: Seeds
    f_bend: float
    levels: list
    f_min: float

    @cached_property
    def erdf(self) -> agn.BrokenPowerLawERDF:
        """The broken power-law ERDF of the parameters ``erdf_*`` (built on first use)."""
        P = self.params
        return agn.BrokenPowerLawERDF(P.erdf_log_lambda_break, P.erdf_slope_low, P.erdf_slope_high,
                                      P.erdf_log_lambda_min, P.erdf_log_lambda_max)

    def psd(self, f):
        """The PSD shape: a bending power law with the parameters ``psd_*``.

        Parameters
        ----------
        f : array_like
            Frequencies (1/yr).

        Returns
        -------
        numpy.ndarray
            :func:`repro.astro.agn.bending_power_law` at ``f`` (amplitude 1).
        """
        P = self.params
        return agn.bending_power_law(f, self.f_bend, P.psd_alpha_low, P.psd_alpha_high)


def setup(params, run=None) -> Setup:
    """The chain's shared setup: seeds, PSD, resolution levels now; the ERDF on first use.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The notebook's run (unused; accepted so that every driver is called alike).

    Returns
    -------
    Setup
    """
    P = params
    # as the record was made: the E13 curves use the chain's seed, the multi-resolution
    # simulations the next integer
    seeds = Seeds(e13=P.seed, multiscale=P.seed + 1)
    levels = [{"dt": dt, "n": P.sf_level_n, "method": "translation"} for dt in P.sf_levels_dt_years]
    f_min = 1.0 / max(dt * P.sf_level_n for dt in P.sf_levels_dt_years)
    return Setup(params=P, seeds=seeds, f_bend=1.0 / P.psd_bend_years, levels=levels, f_min=f_min)


def simulated_structure_functions(S: Setup, e13_series) -> dict:
    """The model structure functions (mag) of ``02_simulate``, as the arrays of ``simulated_sf.npz``.

    Three estimates of the same model SF:

    * the multi-resolution simulations (:func:`repro.astro.agn.simulate_multiscale` of
      ``S.levels`` with seed ``S.seeds.multiscale`` and cut-off ``S.f_min``), each level
      measured over the lags it resolves (:func:`repro.astro.agn.multiscale_structure_functions`);
    * the E13 light curves, at 24 log-spaced lags from ``e13_dt_years`` to a tenth of their
      length;
    * the SF of a Gaussian process with the PSD (:func:`repro.astro.agn.analytic_sf`, variance
      of the ERDF, 2.5 mag per dex) at 200 lags from 10^-2.5 to 10^9.5 yr.

    Parameters
    ----------
    S : Setup
        The chain's setup.
    e13_series : numpy.ndarray
        The E13 light curves of :math:`\\log_{10}\\lambda`, shape ``(n_lightcurves, e13_n)``.

    Returns
    -------
    dict of numpy.ndarray
        ``n_levels``; per level ``i``: ``lags_i``, ``sf_i``, ``dt_i``; ``sf_e13``, ``lags_e13``;
        ``lags_analytic``, ``sf_analytic``.
    """
    P = S.params
    sims = agn.simulate_multiscale(S.levels, S.psd, S.erdf, P.sf_n_lightcurves, S.seeds.multiscale, f_min=S.f_min)
    out = {"n_levels": np.array(len(sims))}
    for i, level in enumerate(agn.multiscale_structure_functions(sims)):
        out[f"lags_{i}"], out[f"sf_{i}"], out[f"dt_{i}"] = level["lags"], level["sf"], np.array(level["dt"])
    lags_e13 = np.logspace(np.log10(P.e13_dt_years), np.log10(P.e13_dt_years * P.e13_n / 10), 24)
    out["sf_e13"], used = agn.structure_function_even(e13_series, P.e13_dt_years, lags_e13, return_info=True)
    out["lags_e13"] = used["lag"]
    all_lags = np.logspace(-2.5, 9.5, 200)
    out["lags_analytic"] = all_lags
    out["sf_analytic"] = 2.5 * agn.analytic_sf(all_lags, S.psd, S.erdf.var(), f_min=S.f_min)
    return out


def model_structure_function(sim) -> tuple[np.ndarray, np.ndarray]:
    """The one model SF from days to Gyr: the levels of :func:`simulated_structure_functions`, stitched.

    Parameters
    ----------
    sim : mapping
        The arrays of ``simulated_sf.npz`` (``run.load_arrays("simulated_sf.npz")``).

    Returns
    -------
    lags, sf : numpy.ndarray
        Sorted by lag; where levels overlap the finer one is used
        (:func:`repro.astro.agn.stitch`).
    """
    n_levels = int(sim["n_levels"])
    return agn.stitch([{"dt": float(sim[f"dt_{i}"]), "lags": sim[f"lags_{i}"], "sf": sim[f"sf_{i}"]}
                       for i in range(n_levels)])

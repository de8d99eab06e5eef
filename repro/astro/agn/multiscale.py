r"""Light curves at several time resolutions, days to Gyr, and their structure functions ([S18]_ Sect. 3).

One light curve cannot span twelve decades of time, so :func:`simulate_multiscale` simulates
the same process at several resolutions (E13 runs where a run spans many bend time-scales,
the translation process where it does not) and :func:`multiscale_structure_functions`
measures each level over the lags it resolves. The references are listed in
:mod:`repro.astro.agn`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import _check_erdf, _check_int, _check_positive, _check_psd
from .lightcurves import emmanoulopoulos, translation_process
from .psd import _psd_total
from .structure_functions import structure_function_even

__all__ = ["simulate_multiscale", "multiscale_structure_functions"]


def simulate_multiscale(levels, psd, erdf, n_lightcurves, seed, leak=8, f_min="auto",
                        progress=False):
    r"""Simulate light curves at several time resolutions ([S18]_ Section 3).

    Each level is a dict ``{"dt": yr, "n": samples, "method": "e13" | "translation"}``
    (optional per-level keys: ``"n_lightcurves"``, ``"leak"``, ``"max_iter"``).  Coarse
    levels, whose runs span many bend time-scales, use :func:`emmanoulopoulos`; fine
    levels use :func:`translation_process` (see its docstring for why).  Each level gets
    its own generator from ``np.random.SeedSequence(seed).spawn(len(levels))``, so the
    result is deterministic given ``seed`` and a level does not depend on the others.

    Parameters
    ----------
    levels : sequence of dict
    psd : callable
        PSD shape ``psd(freq)``, freq in 1/yr.
    erdf : GridERDF
    n_lightcurves : int
        Light curves per level (unless overridden by the level).
    seed : int
        Master seed.
    leak : int, optional
        Red-noise-leakage factor (unless overridden by the level).
    f_min : float, None or "auto", optional
        Low-frequency cut-off for the translation levels.  ``"auto"`` (default): no cut
        if the PSD is integrable at low frequencies (e.g. ``alpha_low < 1``); otherwise
        :math:`1/T_{\max}`, :math:`T_{\max} = \max(n\,\Delta t)` over the levels (an E13
        run of that length contains the whole ERDF, so no power below its inverse
        duration is represented).  ``None`` means no cut (the PSD must be integrable).
    progress : bool, optional
        Show a tqdm progress bar over the levels.

    Returns
    -------
    list of dict
        One dict per level: ``dt``, ``n``, ``method``, ``series`` (2-D array of
        :math:`\log_{10}\lambda`), ``info`` (E13 convergence info, or the translation
        variance budget).

    Raises
    ------
    ValueError
        If ``levels`` is not a non-empty list of dicts with valid ``dt``, ``n`` and ``method``,
        or another argument is out of range.
    """
    from tqdm.auto import tqdm

    _check_psd(psd)
    _check_erdf(erdf)
    n_lightcurves = _check_int(n_lightcurves, "n_lightcurves", 1)
    seed = _check_int(seed, "seed", 0)
    leak = _check_int(leak, "leak", 1)
    if isinstance(levels, dict) or not isinstance(levels, Sequence) or len(levels) == 0:
        raise ValueError("levels must be a non-empty list of dicts {dt, n, method}")
    parsed = []
    for i, lev in enumerate(levels):
        if not isinstance(lev, dict):
            raise ValueError(f"levels[{i}] must be a dict, got {type(lev).__name__}")
        missing = {"dt", "n", "method"} - set(lev)
        if missing:
            raise ValueError(f"levels[{i}] is missing {sorted(missing)}")
        method = lev["method"]
        if method not in ("e13", "translation"):
            raise ValueError(
                f"levels[{i}]['method'] must be 'e13' or 'translation', got {method!r}"
            )
        parsed.append({
            "dt": _check_positive(lev["dt"], f"levels[{i}]['dt']"),
            "n": _check_int(lev["n"], f"levels[{i}]['n']", 2),
            "method": method,
            "n_lightcurves": _check_int(lev.get("n_lightcurves", n_lightcurves),
                                        f"levels[{i}]['n_lightcurves']", 1),
            "leak": _check_int(lev.get("leak", leak), f"levels[{i}]['leak']", 1),
            "max_iter": _check_int(lev.get("max_iter", 300), f"levels[{i}]['max_iter']", 1),
        })
    if isinstance(f_min, str):
        if f_min != "auto":
            raise ValueError(f"f_min must be a float, None or 'auto', got {f_min!r}")
        try:
            _psd_total(psd, None)
            f_min = None  # integrable PSD: the stationary process needs no cut-off
        except ValueError:
            f_min = 1.0 / max(p["n"] * p["dt"] for p in parsed)
    elif f_min is not None:
        f_min = _check_positive(f_min, "f_min")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(parsed))]
    out = []
    for p, rng in tqdm(list(zip(parsed, rngs)), disable=not progress, desc="levels"):
        if p["method"] == "e13":
            series, info = emmanoulopoulos(p["n"], p["dt"], psd, erdf, rng, leak=p["leak"],
                                           max_iter=p["max_iter"],
                                           n_lightcurves=p["n_lightcurves"])
        else:
            series, info = translation_process(p["n"], p["dt"], psd, erdf, rng, leak=p["leak"],
                                               n_lightcurves=p["n_lightcurves"], f_min=f_min,
                                               return_info=True)
        out.append({"dt": p["dt"], "n": p["n"], "method": p["method"], "series": series,
                    "info": info})
    return out


def multiscale_structure_functions(sims, n_lags=24, max_fraction=0.1):
    """SF (mag) of each level of :func:`simulate_multiscale` over the lags it resolves.

    Each level is measured at ``n_lags`` log-spaced lags from its sampling interval to
    ``max_fraction`` of its length (longer lags have too few independent pairs), with
    :func:`~repro.astro.agn.structure_functions.structure_function_even`.

    Parameters
    ----------
    sims : list of dict
        Output of :func:`simulate_multiscale` (``dt``, ``n`` and ``series`` are used).
    n_lags : int, optional
        Lags per level (>= 2).
    max_fraction : float, optional
        Largest lag as a fraction of a level's length, in (0, 1].

    Returns
    -------
    list of dict
        ``dt``, ``lags`` (the lags actually used, whole samples) and ``sf`` (mag) per level.

    Raises
    ------
    ValueError
        If ``n_lags`` < 2 or ``max_fraction`` is outside (0, 1].
    """
    n_lags = _check_int(n_lags, "n_lags", 2)
    if not 0 < max_fraction <= 1:
        raise ValueError(f"max_fraction must be in (0, 1], got {max_fraction}")
    out = []
    for sim in sims:
        dt, n = float(sim["dt"]), int(sim["n"])
        hi = max(dt * n * max_fraction, 2 * dt)
        lags = np.logspace(np.log10(dt), np.log10(hi), n_lags)
        sf, used = structure_function_even(sim["series"], dt, lags, return_info=True)
        out.append({"dt": dt, "lags": used["lag"], "sf": sf})
    return out

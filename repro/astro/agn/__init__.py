r"""AGN variability on multiple time-scales (Sartori et al. 2018).

Simulate light curves of the Eddington ratio :math:`\lambda = L/L_{\rm Edd}` whose
one-point distribution is an Eddington-ratio distribution function (ERDF) and whose power
spectral density (PSD) is a bending power law, and measure them with periodograms and
structure functions (SF) from days to Gyr.

Conventions used throughout the package
---------------------------------------
* **Time** is in years and **frequency** in 1/yr (any consistent pair of units works).
* Light curves are series of :math:`\log_{10}\lambda`.  Magnitudes are
  :math:`m = -2.5\log_{10}\lambda + {\rm const}`, so an SF in magnitudes is 2.5 times the SF
  of :math:`\log_{10}\lambda`.
* PSDs are **one-sided**: for a stationary series :math:`x(t)` with variance
  :math:`\sigma^2`, :math:`\int_0^\infty P(f)\,{\rm d}f = \sigma^2`.  :func:`timmer_koenig`
  simulates with this normalisation and :func:`periodogram` estimates it, so that
  ``E[periodogram] = psd`` (up to leakage and aliasing).
* Randomness only enters through an explicit :class:`numpy.random.Generator` (``rng``) or an
  integer ``seed``; there is no global random state.

Modules
-------
* :mod:`~repro.astro.agn.psd`  bending power-law PSD, PSD integrals, periodogram, slope fit;
* :mod:`~repro.astro.agn.erdf`  ERDFs (broken power law, Schechter, any tabulated density);
* :mod:`~repro.astro.agn.lightcurves`  Timmer & Koenig, Emmanoulopoulos et al. (E13) and
  translation-process light curves;
* :mod:`~repro.astro.agn.structure_functions`  measured and model structure functions;
* :mod:`~repro.astro.agn.flicker`  duty cycle and episode lengths above a threshold;
* :mod:`~repro.astro.agn.multiscale`  simulations at several resolutions, days to Gyr;
* :mod:`~repro.astro.agn.s82`  loaders of the Stripe 82 DRW fits and CRTS light curves;
* :mod:`~repro.astro.agn.comparison`  numbers from SF curves (slopes, ratios, stitching).

Every public name is importable from the package itself (``from repro.astro import agn;
agn.emmanoulopoulos(...)``). The chain's glue (parameters, seeds) is :mod:`repro.papers.agn`.

Example
-------
>>> import numpy as np
>>> from repro.astro import agn
>>> d = agn.BrokenPowerLawERDF(-1.84, 0.47, 2.53, log_lambda_min=-5.0, log_lambda_max=1.0)
>>> shape = lambda f: agn.bending_power_law(f, 1 / 158.4, 1.0, 2.0)
>>> x, info = agn.emmanoulopoulos(4096, 1.0, shape, d, np.random.default_rng(1))
>>> x.shape, bool(x.min() >= -5.0)
((4096,), True)

References
----------
.. [S18] Sartori, L. F., Schawinski, K., Trakhtenbrot, B., et al. 2018, MNRAS 476, L34,
   "A model for AGN variability on multiple time-scales" (arXiv:1802.05717).
.. [E13] Emmanoulopoulos, D., McHardy, I. M., Papadakis, I. E. 2013, MNRAS 433, 907,
   "Generating artificial light curves: revisited and updated".
.. [TK95] Timmer, J., Koenig, M. 1995, A&A 300, 707, "On generating power law noise".
.. [W17] Weigel, A. K., Schawinski, K., Caplar, N., et al. 2017, ApJ 845, 134.
.. [M10] MacLeod, C. L., Ivezic, Z., Kochanek, C. S., et al. 2010, ApJ 721, 1014.
.. [PL93] Papadakis, I. E., Lawrence, A. 1993, MNRAS 261, 612.
.. [V03] Vaughan, S., Edelson, R., Warwick, R. S., Uttley, P. 2003, MNRAS 345, 1271.
"""

from __future__ import annotations
from __future__ import annotations

from . import comparison, erdf, flicker, lightcurves, multiscale, psd, s82, structure_functions
from .comparison import lag_at_value, log_slope, max_abs_log_ratio, stitch, value_at
from .erdf import BrokenPowerLawERDF, GridERDF, SchechterERDF
from .flicker import episode_durations, flicker_statistics, fraction_above
from .lightcurves import emmanoulopoulos, timmer_koenig, translation_process
from .multiscale import multiscale_structure_functions, simulate_multiscale
from .psd import bending_power_law, fit_psd_slope, periodogram, psd_integral
from .s82 import LightCurve, load_crts_lightcurves, load_drw_fits, load_lc_stats
from .structure_functions import (analytic_sf, drw_structure_function, ensemble_drw_sf, structure_function,
                                  structure_function_ensemble, structure_function_even, structure_function_robust)

__all__ = [
    # psd
    "bending_power_law", "psd_integral", "periodogram", "fit_psd_slope",
    # erdf
    "GridERDF", "BrokenPowerLawERDF", "SchechterERDF",
    # lightcurves
    "timmer_koenig", "emmanoulopoulos", "translation_process",
    # structure_functions
    "structure_function", "structure_function_ensemble", "structure_function_robust", "structure_function_even",
    "drw_structure_function", "ensemble_drw_sf", "analytic_sf",
    # flicker
    "episode_durations", "fraction_above", "flicker_statistics",
    # multiscale
    "simulate_multiscale", "multiscale_structure_functions",
    # s82
    "LightCurve", "load_drw_fits", "load_lc_stats", "load_crts_lightcurves",
    # comparison
    "log_slope", "max_abs_log_ratio", "lag_at_value", "stitch", "value_at",
]

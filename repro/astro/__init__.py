"""Astrophysics for the book's three astronomy papers, one package per paper.

- :mod:`repro.astro.agn`     AGN variability (Sartori et al. 2018, arXiv:1802.05717): Eddington-ratio
  distribution functions, bending power-law PSDs, Timmer & König / Emmanoulopoulos et al. light
  curves, structure functions, flickering, the Stripe 82 and CRTS comparison;
- :mod:`repro.astro.mergers` galaxy mergers (Ackermann et al. 2018, arXiv:1805.10289): images,
  the transfer-learning CNN, cross-validation, statistics, statmorph CAS / Gini-M20 baselines,
  and ``python -m repro.astro.mergers predict``;
- :mod:`repro.astro.psfgan`  PSFGAN (Stark et al. 2018, arXiv:1803.08925): generated and real SDSS
  hosts with AGN point sources, PSFs, the conditional GAN, the two-component pyimfit baseline and
  magnitude-error metrics;
- :mod:`repro.astro.sersic`  the Sérsic profile as a pixel-integrated image (shared).

The chains' drivers are :mod:`repro.papers.agn`, :mod:`repro.papers.mergers` and
:mod:`repro.papers.psfgan`.
"""

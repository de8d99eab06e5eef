"""Astrophysics helpers for the book's astronomy chains.

- :mod:`repro.astro.agn`  AGN light-curve simulation (Sartori et al. 2018): Eddington-ratio
  distribution functions, Timmer & Koenig / Emmanoulopoulos et al. simulators, periodograms
  and structure functions.
"""

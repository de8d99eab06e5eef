"""Sparse recovery for radio interferometry (chain ``iht``, arXiv:1802.04907).

- :mod:`repro.sparse.lofar`      loaders of the real LOFAR station data (XST, calibration, layout)
  and the directions of bright sources at the observation time (astropy, offline)
- :mod:`repro.sparse.operators`  the station measurement operator Phi and its real stacking
- :mod:`repro.sparse.iht`        iterative hard thresholding and normalized IHT
- :mod:`repro.sparse.quantize`   stochastic / deterministic quantization and b-bit stored matrices
"""

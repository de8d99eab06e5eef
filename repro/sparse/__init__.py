"""Sparse recovery for radio interferometry: low-precision IHT on a LOFAR station (the ``iht``
chain, Gurel et al. 2018, arXiv:1802.04907; its driver is :mod:`repro.papers.iht`).

- :mod:`repro.sparse.layout`     antenna layouts of LOFAR stations (positions, phase centres, antenna sets)
- :mod:`repro.sparse.lofar`      loaders of the real LOFAR observation (XST, calibration, the snapshot)
  and the directions of bright sources at the observation time (astropy, offline)
- :mod:`repro.sparse.operators`  the station measurement operator Phi and its real stacking
- :mod:`repro.sparse.station`    the real RS509 imaging problem and its radiometer noise
- :mod:`repro.sparse.skies`      simulated point-source skies and their comparison
- :mod:`repro.sparse.iht`        iterative hard thresholding and normalized IHT
- :mod:`repro.sparse.lowprec`    b-bit stored matrices and the low-precision IHT inputs, on the
  shared quantizer :mod:`repro.quantize`

The public names of these modules are importable from the package (``from repro.sparse import niht``),
except the function ``iht``, whose name is its module's: ``from repro.sparse.iht import iht``.
"""
from .iht import IHTResult, hard_threshold, niht, spectral_norm
from .layout import (ANTENNA_SETS, Station, active_antennas, etrs_to_enu, load_station, read_phase_centres,
                     read_positions, read_rotations, station_location)
from .lofar import (BRIGHT_SOURCES, XST, CalTable, Snapshot, load_caltable, load_snapshot, load_xst, read_caltable,
                    read_xst, source_directions, stokes_i_visibilities, subband_frequency)
from .lowprec import (FULL_PRECISION, DenseMatrix, QuantizedMatrix, at_precision, lowprec_niht, lowprec_operators,
                      stored_matrix)
from .operators import SkyGrid, StationOperator, baseline_pairs, baseline_uvw, sky_grid, stack_real
from .skies import add_noise, brightest, random_sky, relative_error, same_sources, support_recovered
from .station import StationProblem, radiometer_noise_fraction, station_problem

__all__ = [
    "IHTResult", "hard_threshold", "niht", "spectral_norm",
    "ANTENNA_SETS", "Station", "active_antennas", "etrs_to_enu", "load_station", "read_phase_centres",
    "read_positions", "read_rotations", "station_location",
    "BRIGHT_SOURCES", "XST", "CalTable", "Snapshot", "load_caltable", "load_snapshot", "load_xst", "read_caltable",
    "read_xst", "source_directions", "stokes_i_visibilities", "subband_frequency",
    "FULL_PRECISION", "DenseMatrix", "QuantizedMatrix", "at_precision", "lowprec_niht", "lowprec_operators",
    "stored_matrix",
    "SkyGrid", "StationOperator", "baseline_pairs", "baseline_uvw", "sky_grid", "stack_real",
    "add_noise", "brightest", "random_sky", "relative_error", "same_sources", "support_recovered",
    "StationProblem", "radiometer_noise_fraction", "station_problem",
]

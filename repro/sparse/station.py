"""The real RS509 imaging problem: the station operator and the calibrated visibilities of the
LOFAR snapshot, the directions of the bright sources, and the snapshot's thermal noise.

Example
-------
>>> from repro.sparse import station
>>> P = station.station_problem(21)                   # doctest: +SKIP
>>> P.shape, sorted(P.sources)                        # doctest: +SKIP
((2162, 305), ['Cas A', 'Cyg A', 'Sun'])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import layout, lofar, operators

__all__ = ["StationProblem", "station_problem", "radiometer_noise_fraction"]


@dataclass
class StationProblem:
    """The real RS509 imaging problem: real-stacked operator ``A`` and visibilities ``y``.

    Attributes
    ----------
    snapshot : repro.sparse.lofar.Snapshot
        The observation.
    grid : repro.sparse.operators.SkyGrid
        The pixels (the unknowns).
    op : repro.sparse.operators.StationOperator
        The complex operator Phi over the unflagged baselines.
    A : ndarray, shape (2 n_bl, n_pix)
        ``[Re Phi; Im Phi]``.
    y : ndarray, shape (2 n_bl,)
        ``[Re v; Im v]`` of the (calibrated) visibilities.
    sources : dict
        ``{name: (l, m)}`` of Cas A, Cyg A and the Sun at the observation time.
    """

    snapshot: lofar.Snapshot
    grid: operators.SkyGrid
    op: operators.StationOperator
    A: np.ndarray
    y: np.ndarray
    sources: dict

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of ``A``."""
        return self.A.shape


def station_problem(npix: int, min_elevation_deg: float = 10.0, calibrate: bool = True) -> StationProblem:
    """Build the real problem on an ``npix x npix`` (l, m) grid above ``min_elevation_deg``.

    Parameters
    ----------
    npix : int
        Pixels per side of the grid (:func:`repro.sparse.operators.sky_grid`).
    min_elevation_deg : float
        Only directions at least this high are unknowns.
    calibrate : bool
        Apply the station calibration table (:func:`repro.sparse.lofar.load_snapshot`).

    Returns
    -------
    StationProblem
        ``A = [Re Phi; Im Phi]`` over the unflagged baselines, ``y`` the matching real-stacked
        visibilities, ``sources`` the (l, m) of Cas A, Cyg A and the Sun (astropy, offline).

    Raises
    ------
    repro.errors.DataError
        If the data set is missing or malformed.
    """
    snap = lofar.load_snapshot(calibrate=calibrate)
    grid = operators.sky_grid(npix, min_elevation_deg)
    pairs = snap.pairs()
    op = operators.StationOperator(operators.baseline_uvw(snap.positions_enu, snap.frequency_hz, pairs), grid)
    y = operators.stack_real(snap.visibilities(pairs))
    sources = lofar.source_directions(snap.time_utc, layout.station_location(snap.station))
    return StationProblem(snap, grid, op, op.real_matrix(), y, sources)


def radiometer_noise_fraction(problem: StationProblem, integration_s: float = 1.0,
                              channel_hz: float = 200e6 / 1024) -> float:
    """Thermal noise of the real snapshot relative to its visibilities, ``||n|| / ||y||``.

    The radiometer equation gives, per real component of a cross-correlation of antennas
    ``p, q``, ``sigma = sqrt(A_p A_q / (2 dnu tau))`` with ``A`` the autocorrelations (which
    the sky and receiver noise dominate), ``dnu`` the subband width (200 MHz / 1024) and
    ``tau`` the integration time (1 s is the station's default for XST; the file does not say).

    Parameters
    ----------
    problem : StationProblem
        The real problem.
    integration_s : float
        Integration time ``tau`` in seconds, ``> 0``.
    channel_hz : float
        Subband width ``dnu`` in Hz, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``integration_s`` or ``channel_hz`` is not positive.
    """
    if integration_s <= 0 or channel_hz <= 0:
        raise ValueError("integration_s and channel_hz must be positive")
    snap = problem.snapshot
    auto = np.abs(np.diag(snap.correlations))  # Stokes I autocorrelation per antenna
    pairs = snap.pairs()
    var = auto[pairs[:, 0]] * auto[pairs[:, 1]] / (2.0 * channel_hz * integration_s)
    noise_norm = np.sqrt(2.0 * var.sum())  # real and imaginary parts
    return float(noise_norm / np.linalg.norm(problem.y))

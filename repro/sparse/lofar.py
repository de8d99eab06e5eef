"""Loaders of the real LOFAR observation in the data set ``lofar-station-xst-and-layouts``.

The data set (see its ``SOURCE.md``) holds one cross-correlation (XST) matrix of remote
station RS509 (LBA, 2017-06-21 07:26:34 UTC, subband 350), the station's calibration table
and the ETRS positions of every LOFAR antenna (read by :mod:`repro.sparse.layout`). Here: the
XST and calibration readers, the directions of bright sources at the observation time, and
the calibrated :class:`Snapshot` ready for imaging. Everything returns arrays or small
dataclasses; paths stay inside.

Facts used (LOFAR station conventions, documented by ASTRON and by the origin repositories):

- An XST file is raw little-endian ``complex128``, ``n_rcu x n_rcu`` per time slot; a Dutch
  station has 96 RCUs = 48 dual-polarisation antennas; RCU ``2k`` is the X dipole and RCU
  ``2k+1`` the Y dipole of antenna ``k`` of the active antenna set.
- Subband ``sb`` of the 200 MHz clock is centred at ``sb * 200 MHz / 1024``
  (subband 350: 68.359375 MHz).
- A Dutch LBA field lists 96 antennas; RCU mode 3/4 (LBA_OUTER) connects antennas 0-47,
  RCU mode 1/2 (LBA_INNER) antennas 48-95.
- A station calibration table is a text header (``HeaderStart`` ... ``HeaderStop``)
  followed by ``512 x n_rcu`` complex128 gains (subband-major).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import data
from ..errors import DataError
from .layout import DATASET, Station, active_antennas, load_station

XST_FILE = "xst/20170621_072634_sb350_xst.dat"
CALTABLE_FILE = "caltables/CalTable-509-LBA_SPARSE_EVEN-10_90.dat"

CLOCK_HZ = 200e6
N_SUBBANDS = 512
SPEED_OF_LIGHT = 299_792_458.0


def subband_frequency(subband: int, clock_hz: float = CLOCK_HZ) -> float:
    """Centre frequency in Hz of a LOFAR station subband.

    Parameters
    ----------
    subband : int
        Subband number, 0 to 511.
    clock_hz : float
        Sampling clock (200 MHz or 160 MHz).

    Returns
    -------
    float
        ``subband * clock_hz / 1024``.
    """
    if not 0 <= int(subband) < N_SUBBANDS:
        raise ValueError(f"subband must be in 0..{N_SUBBANDS - 1}, got {subband}")
    return float(subband) * clock_hz / 1024.0


# ----------------------------------------------------------------------------- XST
@dataclass(frozen=True)
class XST:
    """One station cross-correlation snapshot.

    Attributes
    ----------
    matrix : ndarray, shape (n_rcu, n_rcu), complex128
        Correlations of every RCU pair as stored (row ``p``, column ``q``).
    time_utc : str
        Observation time, ISO format (from the file name).
    subband : int
        Subband number (from the file name).
    frequency_hz : float
        Subband centre frequency at the 200 MHz clock.
    station : str
        Station name.
    """

    matrix: np.ndarray
    time_utc: str
    subband: int
    frequency_hz: float
    station: str

    @property
    def n_rcu(self) -> int:
        """Number of RCUs (rows of :attr:`matrix`)."""
        return self.matrix.shape[0]


_XST_NAME = re.compile(r"(\d{8})_(\d{6})_sb(\d+)_xst\.dat$")


def read_xst(path: str | Path, n_rcu: int = 96, station: str = "RS509") -> XST:
    """Read one XST file (raw complex128, one ``n_rcu x n_rcu`` matrix per time slot).

    Parameters
    ----------
    path : str or Path
        The file; its name must look like ``YYYYMMDD_HHMMSS_sbNNN_xst.dat``.
    n_rcu : int
        RCUs in the station (96 for a Dutch station, 192 for an international one).
    station : str
        Station name recorded in the result.

    Returns
    -------
    XST
        The first time slot.

    Raises
    ------
    DataError
        If the name does not carry time and subband, or the size is not a whole number of
        ``n_rcu x n_rcu`` complex128 matrices.
    """
    path = Path(path)
    m = _XST_NAME.search(path.name)
    if m is None:
        raise DataError(f"{path}: XST file name must look like YYYYMMDD_HHMMSS_sbNNN_xst.dat")
    raw = path.read_bytes()
    per = n_rcu * n_rcu * 16
    if len(raw) == 0 or len(raw) % per:
        raise DataError(f"{path}: {len(raw)} bytes is not a whole number of {n_rcu}x{n_rcu} "
                        f"complex128 matrices ({per} bytes each)")
    cube = np.frombuffer(raw, dtype="<c16").reshape(-1, n_rcu, n_rcu)
    d, t, sb = m.groups()
    time_utc = f"{d[:4]}-{d[4:6]}-{d[6:]}T{t[:2]}:{t[2:4]}:{t[4:]}"
    subband = int(sb)
    return XST(matrix=np.array(cube[0], dtype=np.complex128), time_utc=time_utc, subband=subband,
               frequency_hz=subband_frequency(subband), station=station)


def load_xst() -> XST:
    """The real RS509 LBA XST snapshot of 2017-06-21 07:26:34 UTC, subband 350 (96 x 96)."""
    return read_xst(data.locate(DATASET, XST_FILE), n_rcu=96, station="RS509")


# ----------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class CalTable:
    """A station calibration table.

    Attributes
    ----------
    header : dict
        ``CalTableHeader.*`` keys (prefix removed) to their text values.
    gains : ndarray, shape (512, n_rcu), complex128
        Complex gain of every RCU in every subband.
    """

    header: dict
    gains: np.ndarray


def read_caltable(path: str | Path, n_rcu: int = 96) -> CalTable:
    """Read a LOFAR station calibration table (text header, then ``512 x n_rcu`` complex128).

    Parameters
    ----------
    path : str or Path
        The table file.
    n_rcu : int
        RCUs in the station.

    Returns
    -------
    CalTable

    Raises
    ------
    DataError
        If the header markers are missing or the binary part has the wrong size.
    """
    path = Path(path)
    raw = path.read_bytes()
    start, stop = raw.find(b"HeaderStart"), raw.find(b"HeaderStop")
    if start != 0 or stop < 0:
        raise DataError(f"{path}: not a calibration table (no HeaderStart ... HeaderStop header)")
    end = raw.index(b"\n", stop) + 1
    header = {}
    for lineno, line in enumerate(raw[:stop].decode("ascii", "replace").splitlines()[1:], start=2):
        if not line.strip():
            continue
        if "=" not in line:
            raise DataError(f"{path}, line {lineno}: header line without '=': {line!r}")
        k, v = line.split("=", 1)
        header[k.strip().removeprefix("CalTableHeader.")] = v.strip()
    body = raw[end:]
    want = N_SUBBANDS * n_rcu * 16
    if len(body) != want:
        raise DataError(f"{path}: {len(body)} bytes of gains after the header, expected {want} "
                        f"({N_SUBBANDS} subbands x {n_rcu} RCUs x complex128)")
    gains = np.frombuffer(body, dtype="<c16").reshape(N_SUBBANDS, n_rcu).copy()
    return CalTable(header=header, gains=gains)


def load_caltable() -> CalTable:
    """The RS509 LBA_SPARSE_EVEN calibration table (observed 2017-03-25)."""
    return read_caltable(data.locate(DATASET, CALTABLE_FILE))


def stokes_i_visibilities(xst: XST, gains: np.ndarray | None = None) -> np.ndarray:
    """Antenna-by-antenna Stokes-I-like correlations ``XX + YY`` of an XST snapshot.

    Parameters
    ----------
    xst : XST
        The snapshot (``n_rcu x n_rcu``; RCU ``2k`` = X, ``2k+1`` = Y of antenna ``k``).
    gains : ndarray, shape (n_rcu,), optional
        Complex RCU gains of the subband (a row of :attr:`CalTable.gains`). When given, the
        correlation of RCUs ``p, q`` is divided by ``conj(g_p) * g_q`` before summing.

    Returns
    -------
    ndarray, shape (n_rcu // 2, n_rcu // 2), complex128
    """
    m = xst.matrix
    if gains is not None:
        g = np.asarray(gains, dtype=np.complex128)
        if g.shape != (xst.n_rcu,):
            raise ValueError(f"gains must have shape ({xst.n_rcu},), got {g.shape}")
        if np.any(g == 0):
            raise ValueError("gains contain zeros; cannot divide by them")
        m = m / (np.conj(g)[:, None] * g[None, :])
    # note: a dead RCU (zero autocorrelation) gives zero rows here; see Snapshot.flagged
    return m[0::2, 0::2] + m[1::2, 1::2]


# ------------------------------------------------------------------ sky directions
# J2000 positions (NED / 3C catalogue): literals so that no name resolver is ever queried.
BRIGHT_SOURCES = {
    "Cas A": ("23h23m24.0s", "+58d48m54s"),
    "Cyg A": ("19h59m28.36s", "+40d44m02.1s"),
}


def source_directions(time, location, include_sun: bool = True) -> dict[str, tuple[float, float]]:
    """Direction cosines ``(l, m)`` (east, north) of bright sources above the horizon.

    Parameters
    ----------
    time : str or astropy.time.Time
        UTC time of the observation, e.g. ``"2017-06-21T07:26:34"``.
    location : astropy.coordinates.EarthLocation
        Where the station is (:func:`repro.sparse.layout.station_location`).
    include_sun : bool
        Also give the Sun (astropy's built-in ephemeris).

    Returns
    -------
    dict
        ``{name: (l, m)}`` for Cas A, Cyg A and the Sun, only those above the horizon, with
        ``l = cos(alt) sin(az)``, ``m = cos(alt) cos(az)``.

    Notes
    -----
    Runs offline: IERS auto-download and internet access are switched off for the duration
    of the call (``set_temp``), so the bundled IERS-B table is used (it covers 2017).
    """
    from astropy import units as u
    from astropy.coordinates import AltAz, SkyCoord, get_body
    from astropy.time import Time
    from astropy.utils import data as adata
    from astropy.utils import iers

    t = time if isinstance(time, Time) else Time(time, scale="utc")
    with iers.conf.set_temp("auto_download", False), adata.conf.set_temp("allow_internet", False), \
            iers.conf.set_temp("iers_degraded_accuracy", "warn"):
        frame = AltAz(obstime=t, location=location)
        coords = {k: SkyCoord(ra, dec, frame="icrs") for k, (ra, dec) in BRIGHT_SOURCES.items()}
        if include_sun:
            coords["Sun"] = get_body("sun", t, location)
        out = {}
        for name, c in coords.items():
            aa = c.transform_to(frame)
            alt, az = aa.alt.to_value(u.rad), aa.az.to_value(u.rad)
            if alt > 0:
                out[name] = (float(np.cos(alt) * np.sin(az)), float(np.cos(alt) * np.cos(az)))
    return out


@dataclass(frozen=True)
class Snapshot:
    """The real RS509 observation, ready for imaging.

    Attributes
    ----------
    station : Station
        The full LBA field.
    antennas : ndarray of int, shape (48,)
        Indices of the active antennas (RCU pair order).
    positions_enu : ndarray, shape (48, 3)
        East, north, up positions (m) of the active antennas about the phase centre.
    correlations : ndarray, shape (48, 48), complex128
        ``XX + YY`` correlations, divided by the calibration gains when ``calibrated``.
    frequency_hz : float
    time_utc : str
    calibrated : bool
    flagged : ndarray of bool, shape (48,)
        Antennas with a dead RCU (zero autocorrelation in X or Y); at RS509 on this date
        RCUs 92 and 93, i.e. antenna pair 46.
    """

    station: Station
    antennas: np.ndarray
    positions_enu: np.ndarray
    correlations: np.ndarray
    frequency_hz: float
    time_utc: str
    calibrated: bool
    flagged: np.ndarray

    @property
    def n_good(self) -> int:
        """Number of unflagged antennas."""
        return int((~self.flagged).sum())

    def pairs(self) -> np.ndarray:
        """Baselines ``(p, q)``, ``p < q``, between unflagged antennas (indices 0..47)."""
        good = np.flatnonzero(~self.flagged)
        p, q = np.triu_indices(good.size, k=1)
        return np.stack([good[p], good[q]], axis=1)

    def visibilities(self, pairs: np.ndarray) -> np.ndarray:
        """Measured visibilities for antenna pairs ``(p, q)`` in the sign convention of
        :class:`repro.sparse.operators.StationOperator`.

        The XST stores the correlation with the opposite phase sign to
        ``exp(-2 pi i (r_p - r_q).s / lambda)``: the dirty image of ``matrix[p, q]`` puts
        Cas A at the mirrored position ``(-l, -m)``, that of ``matrix[q, p]`` (its complex
        conjugate, the matrix being Hermitian) on Cas A. So this returns ``matrix[q, p]``.

        Parameters
        ----------
        pairs : ndarray of int, shape (n_bl, 2)
            Antenna pairs (:meth:`pairs`).

        Returns
        -------
        ndarray, shape (n_bl,), complex128
        """
        pairs = np.asarray(pairs)
        return self.correlations[pairs[:, 1], pairs[:, 0]]


def load_snapshot(calibrate: bool = True, antenna_set: str = "LBA_SPARSE_EVEN") -> Snapshot:
    """The RS509 XST snapshot with its layout, optionally calibrated with the station table.

    Parameters
    ----------
    calibrate : bool
        Divide each correlation by ``conj(g_p) g_q`` (the gains of subband 350 from the
        table of 2017-03-25, three months before the snapshot; cable delays and RCU gains
        are stable over months, and the calibrated image is sharper: peak/rms 8.5 vs 4.3).
    antenna_set : str
        See :func:`active_antennas`.
    """
    xst = load_xst()
    station = load_station("RS509", "LBA")
    idx = active_antennas(station, antenna_set)
    gains = load_caltable().gains[xst.subband] if calibrate else None
    auto = xst.matrix.diagonal().real
    flagged = (auto[0::2] <= 0) | (auto[1::2] <= 0)
    return Snapshot(station=station, antennas=idx, positions_enu=station.enu()[idx],
                    correlations=stokes_i_visibilities(xst, gains), frequency_hz=xst.frequency_hz,
                    time_utc=xst.time_utc, calibrated=bool(calibrate), flagged=flagged)

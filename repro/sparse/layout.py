"""Antenna layouts of LOFAR stations, from the tables of the data set ``lofar-station-xst-and-layouts``.

The tables give the ETRS89 positions of every LOFAR antenna with the RCUs of its two dipoles
(``etrs-antenna-positions.csv``), each field's phase centre (``etrs-phase-centres.csv``) and
the rotation from station-local P, Q, R coordinates to ETRS (``rotation_matrices.dat``).
A Dutch LBA field lists 96 antennas and has 48 RCU pairs; the antenna set of an observation
says which 48 are connected (:func:`active_antennas`).

Example
-------
>>> from repro.sparse import layout
>>> st = layout.load_station("RS509")                 # doctest: +SKIP
>>> st.n_antennas, layout.active_antennas(st).size    # doctest: +SKIP
(96, 48)
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data
from ..errors import DataError

__all__ = ["DATASET", "ANTENNA_SETS", "Station", "etrs_to_enu", "read_positions", "read_phase_centres",
           "read_rotations", "load_station", "active_antennas", "station_location"]

DATASET = "lofar-station-xst-and-layouts"
POSITIONS_FILE = "antenna_positions/etrs-antenna-positions.csv"
PHASE_CENTRES_FILE = "antenna_positions/etrs-phase-centres.csv"
ROTATIONS_FILE = "antenna_positions/rotation_matrices.dat"


@dataclass(frozen=True)
class Station:
    """Antenna layout of one antenna field of one LOFAR station.

    Attributes
    ----------
    name : str
        Station name, e.g. ``"RS509"``.
    field : str
        ``"LBA"`` or ``"HBA"`` (``"HBA0"``/``"HBA1"`` for core-station halves in the
        phase-centre table; positions use ``"HBA"``).
    etrs : ndarray, shape (n_ant, 3)
        Antenna positions, ETRS89 X, Y, Z in metres.
    rcu_x, rcu_y : ndarray of int, shape (n_ant,)
        RCU numbers of the X and Y dipoles.
    phase_centre : ndarray, shape (3,)
        ETRS position of the field's phase centre.
    pqr_to_etrs : ndarray, shape (3, 3)
        Rotation from station-local P, Q, R to ETRS (``etrs - centre = M @ pqr``).
    """

    name: str
    field: str
    etrs: np.ndarray
    rcu_x: np.ndarray
    rcu_y: np.ndarray
    phase_centre: np.ndarray
    pqr_to_etrs: np.ndarray = field(repr=False)

    @property
    def n_antennas(self) -> int:
        """Number of antennas of the field."""
        return self.etrs.shape[0]

    def pqr(self) -> np.ndarray:
        """Station-local P, Q, R coordinates (metres), shape (n_ant, 3)."""
        return (self.etrs - self.phase_centre) @ self.pqr_to_etrs

    def enu(self) -> np.ndarray:
        """Local east, north, up coordinates (metres) about the phase centre, shape (n_ant, 3).

        Uses the geodetic longitude/latitude of the phase centre (WGS84 via astropy;
        ETRS89 and ITRF differ by well under a metre here).
        """
        return etrs_to_enu(self.etrs, self.phase_centre)


def etrs_to_enu(xyz: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Rotate ETRS/ITRF positions to local east, north, up about ``centre``.

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
        Geocentric positions in metres.
    centre : ndarray, shape (3,)
        Geocentric reference position in metres.

    Returns
    -------
    ndarray, shape (n, 3)
    """
    from astropy import units as u
    from astropy.coordinates import EarthLocation

    loc = EarthLocation.from_geocentric(*np.asarray(centre, float), unit=u.m)
    lon, lat = loc.lon.rad, loc.lat.rad
    rot = np.array([
        [-np.sin(lon), np.cos(lon), 0.0],
        [-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)],
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)],
    ])
    return (np.asarray(xyz, float) - np.asarray(centre, float)) @ rot.T


def _read_csv(path: Path, header_start: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or not rows[0] or rows[0][0].strip() != header_start:
        raise DataError(f"{path}, line 1: expected a header starting with '{header_start}'")
    return rows[0], [(i, r) for i, r in enumerate(rows[1:], start=2) if r and not r[0].startswith("#")]


def read_positions(path: str | Path) -> dict[tuple[str, str], dict]:
    """Read ``etrs-antenna-positions.csv``.

    Parameters
    ----------
    path : str or Path
        The CSV file (columns STATION, ANTENNA-TYPE, ANTENNA-ID, ETRS-X/Y/Z, RCU-X, RCU-Y).

    Returns
    -------
    dict
        ``{(station, field): {"id", "etrs", "rcu_x", "rcu_y"}}``, antennas sorted by id.

    Raises
    ------
    DataError
        Wrong header, field count or a non-numeric value (the message names the line).
    """
    path = Path(path)
    head, rows = _read_csv(path, "STATION")
    want = ["STATION", "ANTENNA-TYPE", "ANTENNA-ID", "ETRS-X", "ETRS-Y", "ETRS-Z", "RCU-X", "RCU-Y"]
    if [h.strip() for h in head] != want:
        raise DataError(f"{path}, line 1: columns {head} differ from the expected {want}")
    acc: dict[tuple[str, str], list] = {}
    for lineno, r in rows:
        if len(r) != len(want):
            raise DataError(f"{path}, line {lineno}: {len(r)} fields, expected {len(want)}")
        try:
            rec = (int(r[2]), float(r[3]), float(r[4]), float(r[5]), int(r[6]), int(r[7]))
        except ValueError:
            raise DataError(f"{path}, line {lineno}: non-numeric antenna id, position or RCU") from None
        acc.setdefault((r[0].strip(), r[1].strip()), []).append(rec)
    out = {}
    for key, recs in acc.items():
        a = np.array(recs, dtype=float)
        order = np.argsort(a[:, 0], kind="stable")
        a = a[order]
        out[key] = {"id": a[:, 0].astype(int), "etrs": a[:, 1:4].copy(),
                    "rcu_x": a[:, 4].astype(int), "rcu_y": a[:, 5].astype(int)}
    return out


def read_phase_centres(path: str | Path) -> dict[tuple[str, str], np.ndarray]:
    """Read ``etrs-phase-centres.csv``.

    Parameters
    ----------
    path : str or Path
        The CSV file (STATION, FIELD, X, Y, Z).

    Returns
    -------
    dict
        ``{(station, field): ndarray of shape (3,)}``, ETRS metres.

    Raises
    ------
    DataError
        A malformed line (the message names it).
    """
    path = Path(path)
    _, rows = _read_csv(path, "STATION")
    out = {}
    for lineno, r in rows:
        try:
            out[(r[0].strip(), r[1].strip())] = np.array([float(v) for v in r[2:5]])
        except (ValueError, IndexError):
            raise DataError(f"{path}, line {lineno}: expected STATION,FIELD,X,Y,Z") from None
    return out


def read_rotations(path: str | Path) -> dict[tuple[str, str], np.ndarray]:
    """Read ``rotation_matrices.dat``.

    Parameters
    ----------
    path : str or Path
        The table (STATION, FIELD, then nine entries, row-major).

    Returns
    -------
    dict
        ``{(station, field): 3x3 PQR-to-ETRS matrix}``.

    Raises
    ------
    DataError
        A non-numeric entry or a wrong number of entries (the message names the line).
    """
    path = Path(path)
    _, rows = _read_csv(path, "STATION")
    out = {}
    for lineno, r in rows:
        try:
            vals = [float(v) for v in r[2:]]
        except ValueError:
            raise DataError(f"{path}, line {lineno}: non-numeric rotation matrix entry") from None
        if len(vals) != 9:
            raise DataError(f"{path}, line {lineno}: {len(vals)} matrix entries, expected 9")
        out[(r[0].strip(), r[1].strip())] = np.array(vals).reshape(3, 3)
    return out


def load_station(name: str = "RS509", field: str = "LBA") -> Station:
    """Antenna layout of one station field from the real LOFAR position tables.

    Parameters
    ----------
    name : str
        Station name such as ``"RS509"``, ``"CS002"`` or ``"DE603"``; a trailing field
        (``"RS509LBA"``) is accepted.
    field : str
        ``"LBA"`` or ``"HBA"``.

    Returns
    -------
    Station

    Raises
    ------
    ValueError
        Unknown station or field (the message lists the available stations).
    """
    if field not in ("LBA", "HBA"):
        raise ValueError(f"field must be 'LBA' or 'HBA', got {field!r}")
    name = str(name).upper()
    if name.endswith(field):
        name = name[: -len(field)]
    pos = read_positions(data.locate(DATASET, POSITIONS_FILE))
    if (name, field) not in pos:
        avail = sorted(s for (s, f) in pos if f == field)
        raise ValueError(f"station {name!r} has no {field} field in the LOFAR layout; "
                         f"available ({len(avail)}): {', '.join(avail)}")
    centres = read_phase_centres(data.locate(DATASET, PHASE_CENTRES_FILE))
    rots = read_rotations(data.locate(DATASET, ROTATIONS_FILE))
    key = (name, field)
    rot_key = key if key in rots else (name, field + "0")
    cen_key = key if key in centres else (name, field + "0")
    if rot_key not in rots or cen_key not in centres:
        raise DataError(f"station {name} {field}: no phase centre or rotation matrix in data set "
                        f"'{DATASET}' ({PHASE_CENTRES_FILE}, {ROTATIONS_FILE})")
    p = pos[key]
    return Station(name=name, field=field, etrs=p["etrs"], rcu_x=p["rcu_x"], rcu_y=p["rcu_y"],
                   phase_centre=centres[cen_key], pqr_to_etrs=rots[rot_key])


ANTENNA_SETS = ("LBA_INNER", "LBA_OUTER", "LBA_SPARSE_EVEN", "LBA_SPARSE_ODD")


def active_antennas(station: Station, antenna_set: str = "LBA_SPARSE_EVEN") -> np.ndarray:
    """Indices (into ``station.etrs``) of the antenna behind each RCU pair ``k = 0..47``.

    A Dutch LBA field lists 96 antennas but has 48 RCU pairs. In the position table the
    first 48 form the dense inner set (mean radius 11 m at RS509) and the last 48 the outer
    ring (mean radius 29 m). ``LBA_INNER`` uses antennas ``k``, ``LBA_OUTER`` antennas
    ``k + 48``; ``LBA_SPARSE_EVEN`` uses ``k`` for even ``k`` and ``k + 48`` for odd ``k``
    (``LBA_SPARSE_ODD`` the reverse).

    The RS509 XST snapshot of the data set is imaged sharpest with ``LBA_SPARSE_EVEN``, the
    antenna set of its calibration table (calibrated dirty-image peak/rms 8.5, against at
    most 6.1 for the other three), with its peak on Cas A; that is why it is the default.

    Parameters
    ----------
    station : Station
        A 96-antenna LBA field (any other field: every antenna is returned).
    antenna_set : str
        One of :data:`ANTENNA_SETS`.
    """
    n = station.n_antennas
    if antenna_set not in ANTENNA_SETS:
        raise ValueError(f"antenna_set must be one of {', '.join(ANTENNA_SETS)}, got {antenna_set!r}")
    if not (station.field == "LBA" and n == 96):
        return np.arange(n)
    k = np.arange(48)
    return {"LBA_INNER": k, "LBA_OUTER": k + 48,
            "LBA_SPARSE_EVEN": np.where(k % 2 == 0, k, k + 48),
            "LBA_SPARSE_ODD": np.where(k % 2 == 0, k + 48, k)}[antenna_set]


def station_location(station: Station):
    """Where a station field is.

    Parameters
    ----------
    station : Station

    Returns
    -------
    astropy.coordinates.EarthLocation
        The field's phase centre (ETRS taken as ITRF).
    """
    from astropy import units as u
    from astropy.coordinates import EarthLocation

    return EarthLocation.from_geocentric(*station.phase_centre, unit=u.m)

"""Loaders of the SDSS Stripe 82 / CRTS quasar variability data set (``s82-quasar-variability``).

Origin: github.com/suberlak/quasars-sdss (K. Suberlak), data of MacLeod et al. (2010, ApJ 721,
1014). The DRW fits are JAVELIN posteriors (16/50/84 % bounds) of σ (mag) and τ (days, observed
frame) per quasar and band; SF∞ = √2·σ. The CRTS light curves are Catalina Real-time Transient
Survey photometry (MJD, mag, mag_err, flag). A missing or malformed file raises
:class:`repro.errors.DataError` naming the data set and the file.

Example
-------
>>> from repro.astro.agn import s82
>>> drw = s82.load_drw_fits("r")                         # doctest: +SKIP
>>> len(drw), list(drw.columns)[:2]                      # doctest: +SKIP
(9133, ['dbID', 'sigma_lo'])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import data
from ...errors import DataError

__all__ = ["DATASET", "BANDS", "LightCurve", "load_drw_fits", "load_lc_stats", "load_crts_lightcurves"]

DATASET = "s82-quasar-variability"
BANDS = ("u", "g", "r", "i", "z")
DRW_COLUMNS = ("chain_file", "sigma_lo", "sigma_med", "sigma_hi", "tau_lo", "tau_med", "tau_hi")


def _read_table(relpath: str, names, **kw) -> pd.DataFrame:
    path = data.locate(DATASET, relpath)
    try:
        df = pd.read_csv(path, sep=r"\s+", header=None, names=list(names), comment="#", **kw)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{DATASET}: cannot parse {relpath}: {exc}") from None
    if df.isna().any().any():
        bad = int(df.isna().any(axis=1).values.argmax()) + 1
        raise DataError(f"{DATASET}: {relpath} has a malformed row (line {bad})")
    return df


def load_drw_fits(band: str = "r") -> pd.DataFrame:
    """JAVELIN DRW fits of the S82 quasars in one band.

    Parameters
    ----------
    band : {"u", "g", "r", "i", "z"}
        SDSS band.

    Returns
    -------
    pandas.DataFrame
        One row per quasar: ``dbID`` (int), ``sigma_lo/med/hi`` (mag) and ``tau_lo/med/hi``
        (days, observed frame).

    Raises
    ------
    ValueError
        If ``band`` is not an SDSS band.
    repro.errors.DataError
        If the file is missing, corrupted or malformed.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}; got {band!r}")
    df = _read_table(f"drw_javelin_fits/javelin_SDSS_chain_results_{band}_band.txt", DRW_COLUMNS)
    df.insert(0, "dbID", df.pop("chain_file").str.split(".").str[0].astype(np.int64))
    return df


def load_lc_stats() -> pd.DataFrame:
    """Per-quasar light-curve statistics of the S82 quasars.

    Returns
    -------
    pandas.DataFrame
        One row per quasar: ``dbID``, ``ra``, ``dec`` and, for each band ``b``, ``n_epochs_b``,
        ``mean_mag_b`` and ``mean_err_b``.

    Raises
    ------
    repro.errors.DataError
        If the file is missing, corrupted or malformed.
    """
    cols = ["dbID", "ra", "dec"] + [f"{k}_{b}" for b in BANDS for k in ("n_epochs", "mean_mag", "mean_err")]
    df = _read_table("SDSS_lc_stats_multiband.txt", cols)
    df["dbID"] = df["dbID"].astype(np.int64)
    return df


@dataclass(frozen=True)
class LightCurve:
    """One CRTS quasar light curve.

    Attributes
    ----------
    name : str
        SDSS name without the ``SDSS J`` prefix (the file's stem).
    mjd : numpy.ndarray
        Epochs (MJD), increasing.
    mag : numpy.ndarray
        V magnitudes.
    err : numpy.ndarray
        Quoted 1-sigma errors (mag).
    """

    name: str
    mjd: np.ndarray
    mag: np.ndarray
    err: np.ndarray

    @property
    def years(self) -> np.ndarray:
        """Time since the first epoch in years."""
        return (self.mjd - self.mjd.min()) / 365.25


def load_crts_lightcurves(good_only: bool = True) -> list[LightCurve]:
    """The 12 CRTS quasar light curves, sorted by name.

    Parameters
    ----------
    good_only : bool, optional
        Keep only the rows with ``flag == 0``.

    Returns
    -------
    list of LightCurve
        Each sorted by MJD.

    Raises
    ------
    repro.errors.DataError
        If the registry lists no light curves, or a file is missing or malformed.
    """
    ds = data.dataset(DATASET)
    rels = sorted(e["path"] for e in ds.files if e.get("path", "").startswith("crts_lightcurves/"))
    if not rels:
        raise DataError(f"{DATASET}: the registry lists no crts_lightcurves/ files")
    out = []
    for rel in rels:
        df = _read_table(rel, ("mjd", "mag", "err", "flag"))
        if good_only:
            df = df[df["flag"] == 0]
        df = df.sort_values("mjd")
        name = rel.split("/")[-1].removesuffix(".dat")
        out.append(LightCurve(name, df["mjd"].to_numpy(float), df["mag"].to_numpy(float), df["err"].to_numpy(float)))
    return out

"""Loaders for the SDSS Stripe 82 / CRTS quasar variability data set (``s82-quasar-variability``).

Origin: github.com/suberlak/quasars-sdss (K. Suberlak), data of MacLeod et al. (2010, ApJ 721,
1014). The DRW fits are JAVELIN posteriors (16/50/84 % bounds) of σ (mag) and τ (days, observed
frame) per quasar and band; SF∞ = √2·σ. The CRTS light curves are Catalina Real-time Transient
Survey photometry (MJD, mag, mag_err, flag).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data
from ..errors import DataError

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

    Returns a frame with columns ``dbID`` (int), ``sigma_lo/med/hi`` (mag) and
    ``tau_lo/med/hi`` (days, observed frame), one row per quasar.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}; got {band!r}")
    df = _read_table(f"drw_javelin_fits/javelin_SDSS_chain_results_{band}_band.txt", DRW_COLUMNS)
    df.insert(0, "dbID", df.pop("chain_file").str.split(".").str[0].astype(np.int64))
    return df


def load_lc_stats() -> pd.DataFrame:
    """Per-quasar light-curve statistics (epochs, mean magnitude and error in each band)."""
    cols = ["dbID", "ra", "dec"] + [f"{k}_{b}" for b in BANDS for k in ("n_epochs", "mean_mag", "mean_err")]
    df = _read_table("SDSS_lc_stats_multiband.txt", cols)
    df["dbID"] = df["dbID"].astype(np.int64)
    return df


@dataclass(frozen=True)
class LightCurve:
    name: str
    mjd: np.ndarray
    mag: np.ndarray
    err: np.ndarray

    @property
    def years(self) -> np.ndarray:
        """Time since the first epoch in years."""
        return (self.mjd - self.mjd.min()) / 365.25


def load_crts_lightcurves(good_only: bool = True) -> list[LightCurve]:
    """The 12 CRTS quasar light curves, sorted by name (``good_only``: flag == 0 rows)."""
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

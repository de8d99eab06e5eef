"""Non-parametric galaxy morphology (CAS, Gini–M20) through statmorph, and the classic merger baselines.

- :func:`r_band`: the r-like channel of an SDSS gri colour cutout (green: the composites map
  i, r, g to red, green, blue), block-averaged by an integer factor;
- :func:`background`: sky level and noise from photutils estimators (sigma clipping, sources
  masked by a first detection pass), with a floor for 8-bit quantised images;
- :func:`segment`: a photutils segmentation map; the target is the segment at (or nearest to)
  the image centre, other sources are masked;
- :func:`measure` / :func:`measure_many`: statmorph's concentration C, asymmetry A,
  smoothness S, Gini G and M20 of one galaxy / of many, in parallel over processes; every
  galaxy gets a row with a ``status`` ("ok" or why it failed) and statmorph's ``flag`` —
  none is dropped;
- :func:`lotz_merger`: the merger line in the Gini–M20 plane (Lotz et al. 2004, 2008);
  :func:`conselice_merger`: A > 0.35 (Conselice 2003);
- :func:`cv_classifier`: a logistic-regression classifier on CAS or Gini–M20 features,
  trained and tested on the same cross-validation splits as the CNNs (failed measurements
  are imputed with the training folds' medians and counted).
"""
from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

import numpy as np
import pandas as pd

FEATURES = {"cas": ("concentration", "asymmetry", "smoothness"), "gini_m20": ("gini", "m20")}
ALL_FEATURES = ("concentration", "asymmetry", "smoothness", "gini", "m20")
FEATURE_LABELS = {"cas": "CAS classifier", "gini_m20": "Gini–M20 classifier",
                  "lotz": "Lotz line (Gini–M20)", "conselice": "A > 0.35 (CAS)"}
# Lotz et al. (2008, ApJ 672, 177), eq. 1: mergers lie above G = -0.14 M20 + 0.33.
LOTZ_2008 = (-0.14, 0.33)
# Lotz, Primack & Madau (2004, AJ 128, 163): mergers lie above G = -0.115 M20 + 0.384.
LOTZ_2004 = (-0.115, 0.384)
CONSELICE_A = 0.35  # Conselice (2003, ApJS 147, 1): A > 0.35 marks major mergers
STATUS_OK = "ok"


def r_band(image: np.ndarray, factor: int = 1) -> np.ndarray:
    """The r-like (green) channel of an ``(H, W, 3)`` gri cutout as float, block-averaged by ``factor``."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] < 2:
        raise ValueError(f"expected an (H, W, 3) colour image, got shape {img.shape}")
    x = img[:, :, 1].astype(np.float64)
    return block_average(x, factor)


def block_average(x: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks (edges that do not fill a block are cut)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if factor == 1:
        return np.asarray(x, float)
    ny, nx = (x.shape[0] // factor) * factor, (x.shape[1] // factor) * factor
    return x[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor).mean(axis=(1, 3))


def background(img: np.ndarray, rms_floor: float = 0.5, nsigma: float = 2.0, npixels: int = 10) -> tuple[float, float]:
    """``(sky level, sky rms)`` of an image with a galaxy in it.

    A first pass (median and MAD-std with 3-sigma clipping) finds the sources; with them
    masked, the SExtractor-style mode estimate and the MAD-std of the remaining pixels give
    the sky. ``rms_floor`` keeps the noise positive for 8-bit images whose sky is flat.
    """
    from astropy.convolution import convolve
    from astropy.stats import SigmaClip
    from photutils.background import MADStdBackgroundRMS, MedianBackground, SExtractorBackground
    from photutils.segmentation import detect_sources, make_2dgaussian_kernel
    sc = SigmaClip(sigma=3.0, maxiters=10)
    b0 = float(MedianBackground(sc).calc_background(img))
    r0 = max(float(MADStdBackgroundRMS(sc).calc_background_rms(img)), rms_floor)
    kernel = make_2dgaussian_kernel(2.0, size=5)
    seg = detect_sources(convolve(img - b0, kernel), nsigma * r0, npixels)
    if seg is None:
        return b0, r0
    mask = seg.make_source_mask(footprint=np.ones((5, 5), bool))
    if mask.mean() > 0.95:  # almost everything is source: keep the first pass
        return b0, r0
    masked = np.ma.array(img, mask=mask)
    b = float(SExtractorBackground(sc).calc_background(masked))
    r = max(float(MADStdBackgroundRMS(sc).calc_background_rms(masked)), rms_floor)
    return b, r


def segment(sub: np.ndarray, rms: float, nsigma: float = 1.5, npixels: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(segmap, mask)`` for statmorph: the central source labelled 1, other sources masked.

    Raises ``ValueError`` when nothing is detected.
    """
    from astropy.convolution import convolve
    from photutils.segmentation import detect_sources, make_2dgaussian_kernel
    seg = detect_sources(convolve(sub, make_2dgaussian_kernel(2.0, size=5)), nsigma * rms, npixels)
    if seg is None:
        raise ValueError("no source detected above the sky")
    d = seg.data
    cy, cx = d.shape[0] // 2, d.shape[1] // 2
    label = d[cy, cx]
    if label == 0:
        yy, xx = np.nonzero(d)
        i = int(np.argmin((yy - cy) ** 2 + (xx - cx) ** 2))
        label = d[yy[i], xx[i]]
    return (d == label).astype(np.int32), (d > 0) & (d != label)


def measure(img: np.ndarray, rms_floor: float = 0.5, sersic_maxiter: int = 10) -> dict:
    """CAS and Gini–M20 of the central galaxy of a single-band image (never raises).

    Returns a dict with ``concentration, asymmetry, smoothness, gini, m20`` (NaN where not
    measured), ``flag`` (statmorph: 0 good, 1 suspect, 2 bad, 4 catastrophic; -1 not run),
    ``status`` ("ok" or the reason of the failure), ``sky``, ``sky_rms``, ``seconds``.
    """
    import statmorph
    t0 = time.perf_counter()
    out = {k: np.nan for k in ALL_FEATURES}
    out.update({"flag": -1, "status": STATUS_OK, "sky": np.nan, "sky_rms": np.nan})
    try:
        img = np.asarray(img, float)
        if img.ndim != 2 or min(img.shape) < 16:
            raise ValueError(f"expected a 2-D image of at least 16x16 pixels, got shape {img.shape}")
        if not np.all(np.isfinite(img)):
            raise ValueError("image has non-finite pixels")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sky, rms = background(img, rms_floor)
            out["sky"], out["sky_rms"] = sky, rms
            sub = img - sky
            segmap, mask = segment(sub, rms)
            m = statmorph.SourceMorphology(sub, segmap, 1, mask=mask, weightmap=np.full(img.shape, rms),
                                           sersic_maxiter=sersic_maxiter)
        out["flag"] = int(m.flag)
        vals = {k: float(m[k]) for k in ALL_FEATURES}
        if m.flag >= 4:
            out["status"] = "statmorph: catastrophic (flag 4)"
        else:
            bad = [k for k, v in vals.items() if not np.isfinite(v) or v == -99.0]
            if bad:
                out["status"] = "statmorph: not measured: " + ", ".join(bad)
            for k, v in vals.items():
                out[k] = v if np.isfinite(v) and v != -99.0 else np.nan
    except Exception as exc:  # one galaxy's failure is recorded, never fatal
        out["status"] = f"{type(exc).__name__}: {str(exc)[:120]}"
    out["seconds"] = time.perf_counter() - t0
    return out


def _measure_chunk(args):
    imgs, rms_floor = args
    return [measure(im, rms_floor) for im in imgs]


def measure_many(images: Sequence[np.ndarray], n_jobs: int = 2, rms_floor: float = 0.5, chunk: int = 8,
                 progress: bool = True) -> pd.DataFrame:
    """:func:`measure` for every image, in ``n_jobs`` processes; one row per image, in order.

    A ``failed`` column is True where ``status`` is not "ok".
    """
    from tqdm.auto import tqdm
    images = list(images)
    chunks = [images[i:i + chunk] for i in range(0, len(images), chunk)]
    rows: list[dict] = []
    bar = tqdm(total=len(images), desc="statmorph", unit="gal", disable=not progress)
    if n_jobs <= 1 or len(chunks) <= 1:
        for c in chunks:
            rows.extend(_measure_chunk((c, rms_floor)))
            bar.update(len(c))
    else:
        env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        os.environ.update({k: "1" for k in env})
        try:
            import multiprocessing as mp
            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as ex:
                for res in ex.map(_measure_chunk, [(c, rms_floor) for c in chunks]):
                    rows.extend(res)
                    bar.update(len(res))
        finally:
            for k, v in env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    bar.close()
    df = pd.DataFrame(rows)
    df["failed"] = df["status"] != STATUS_OK
    return df


def lotz_merger(gini, m20, line: tuple[float, float] = LOTZ_2008) -> np.ndarray:
    """True above the Lotz merger line G = a M20 + b (NaN inputs give False)."""
    a, b = line
    g = np.asarray(gini, float)
    m = np.asarray(m20, float)
    with np.errstate(invalid="ignore"):
        return g > a * m + b


def conselice_merger(asymmetry, threshold: float = CONSELICE_A) -> np.ndarray:
    """True where the asymmetry exceeds ``threshold`` (NaN gives False)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(asymmetry, float) > threshold


def rule_scores(morph: pd.DataFrame) -> dict[str, np.ndarray]:
    """0/1 'probabilities' of the fixed-rule baselines (Lotz line, A > 0.35) for every galaxy."""
    return {"lotz": lotz_merger(morph["gini"], morph["m20"]).astype(float),
            "conselice": conselice_merger(morph["asymmetry"]).astype(float)}


def _impute(train: np.ndarray, *others: np.ndarray):
    med = np.nanmedian(train, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    fill = lambda a: np.where(np.isfinite(a), a, med)  # noqa: E731
    return (fill(train),) + tuple(fill(o) for o in others)


def fit_classifier(X: np.ndarray, y: np.ndarray, seed: int = 0):
    """Standardised logistic regression with balanced class weights; NaNs imputed by training medians.

    Returns a function ``score(X_new) -> merger probability``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X = np.asarray(X, float)
    Xf, = _impute(X)
    clf = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000, random_state=seed))
    clf.fit(Xf, np.asarray(y, int))

    def score(Xn):
        _, Xn_f = _impute(X, np.asarray(Xn, float))
        return clf.predict_proba(Xn_f)[:, 1]
    return score


def cv_classifier(morph: pd.DataFrame, y: np.ndarray, splits: list[dict], features: str,
                  test_sets: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Train the feature classifier on every split's training part and score its test part.

    ``features`` is "cas" or "gini_m20". ``test_sets`` optionally maps a condition name to
    measurements of degraded images (same rows as ``morph``): their test parts are scored with
    the classifier trained on the clean training part. Returns rows ``condition, repeat, fold,
    index, y, p_merger, failed``.
    """
    cols = list(FEATURES[features])
    y = np.asarray(y, int)
    X = morph[cols].to_numpy(float)
    conds = {"clean": morph}
    conds.update(test_sets or {})
    out = []
    for s in splits:
        score = fit_classifier(X[s["train"]], y[s["train"]], seed=s["repeat"])
        for name, df in conds.items():
            te = s["test"]
            Xt = df[cols].to_numpy(float)[te]
            out.append(pd.DataFrame({"condition": name, "repeat": s["repeat"], "fold": s["fold"], "index": te,
                                     "y": y[te], "p_merger": score(Xt),
                                     "failed": df["failed"].to_numpy()[te]}))
    return pd.concat(out, ignore_index=True)


def sersic_image(n: float, r_eff: float, size: int = 101, amplitude: float = 100.0, ellip: float = 0.0,
                 theta: float = 0.0, noise: float = 0.0, seed: int = 0, oversample: int = 5) -> np.ndarray:
    """A centred Sérsic galaxy (pixel-integrated by oversampling) with optional Gaussian noise."""
    from astropy.modeling.models import Sersic2D
    c = (size - 1) / 2.0
    k = oversample
    g = (np.arange(size * k) + 0.5) / k - 0.5
    xx, yy = np.meshgrid(g, g)
    model = Sersic2D(amplitude=amplitude, r_eff=r_eff, n=n, x_0=c, y_0=c, ellip=ellip, theta=theta)
    img = model(xx, yy).reshape(size, k, size, k).mean(axis=(1, 3))
    if noise:
        img = img + np.random.default_rng(seed).normal(0, noise, img.shape)
    return img


def petrosian_concentration(n: float, r_eff: float, eta: float = 0.2, extent: float = 1.5) -> float:
    """Concentration 5 log10(r80/r20) of a circular Sérsic profile, computed from the profile itself.

    Uses statmorph's conventions (Lotz et al. 2004): the Petrosian radius where the surface
    brightness at r is ``eta`` times the mean within r, and the total flux inside
    ``extent`` Petrosian radii. An independent reference for tests.
    """
    from scipy.optimize import brentq
    from scipy.special import gammaincinv
    b = gammaincinv(2 * n, 0.5)
    r = np.linspace(1e-4, 40 * r_eff, 400001)
    I = np.exp(-b * ((r / r_eff) ** (1.0 / n) - 1.0))
    L = np.concatenate([[0.0], np.cumsum(0.5 * (I[1:] * r[1:] + I[:-1] * r[:-1]) * np.diff(r))]) * 2 * np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = I / (L / (np.pi * r ** 2))
    ratio[0] = 1.0
    rp = r[np.argmax(ratio < eta)]
    total = np.interp(extent * rp, r, L)
    r20 = brentq(lambda x: np.interp(x, r, L) - 0.2 * total, r[1], extent * rp)
    r80 = brentq(lambda x: np.interp(x, r, L) - 0.8 * total, r[1], extent * rp)
    return float(5 * np.log10(r80 / r20))


def cached_measure(cache, images: Sequence[np.ndarray], keys: Sequence[str], n_jobs: int = 2,
                   rms_floor: float = 0.5, progress: bool = True) -> pd.DataFrame:
    """:func:`measure_many` with an ``.npz`` cache (reused only for exactly the same ``keys``)."""
    from pathlib import Path

    from ..io import read_npz, write_npz
    cache = Path(cache)
    keys = np.asarray([str(k) for k in keys])
    if cache.exists():
        got = read_npz(cache)
        if np.array_equal(got.get("key", np.array([])).astype(str), keys):
            df = pd.DataFrame({k: v for k, v in got.items() if k != "key"})
            df["status"] = df["status"].astype(str)
            df["failed"] = df["failed"].astype(bool)
            return df
    df = measure_many(images, n_jobs=n_jobs, rms_floor=rms_floor, progress=progress)
    write_npz(cache, key=keys, **{c: _plain_column(df[c]) for c in df.columns})
    return df


def _plain_column(col: pd.Series) -> np.ndarray:
    if col.name == "status":
        return col.to_numpy().astype(str)
    a = col.to_numpy()
    if a.dtype == object:
        try:
            return a.astype(float)
        except (TypeError, ValueError):
            return a.astype(str)
    return a

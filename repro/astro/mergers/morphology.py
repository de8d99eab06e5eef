"""Non-parametric galaxy morphology (CAS, Gini-M20) through statmorph, and the classic merger baselines.

- :func:`r_band`: the r-like channel of an SDSS gri colour cutout (green: the composites map
  i, r, g to red, green, blue), block-averaged by an integer factor;
- :func:`background`: sky level and noise from photutils estimators (sigma clipping, sources
  masked by a first detection pass), with a floor for 8-bit quantised images;
- :func:`segment`: a photutils segmentation map; the target is the segment at (or nearest to)
  the image centre, other sources are masked;
- :func:`measure` / :func:`measure_many` / :func:`cached_measure`: statmorph's concentration C,
  asymmetry A, smoothness S, Gini G and M20 of one galaxy / of many, in parallel over processes
  / with an ``.npz`` cache; every galaxy gets a row with a ``status`` ("ok" or why it failed)
  and statmorph's ``flag`` -- none is dropped;
- :func:`lotz_merger`: the merger line in the Gini-M20 plane, mergers above
  ``G = a M20 + b`` (Lotz et al. 2004: a = -0.115, b = 0.384; 2008: a = -0.14, b = 0.33);
  :func:`conselice_merger`: ``A > 0.35`` (Conselice 2003); :func:`rule_scores`: both as 0/1 scores;
- :func:`fit_classifier` / :func:`cv_classifier`: a logistic-regression classifier on CAS or
  Gini-M20 features, trained and tested on the same cross-validation splits as the CNNs
  (failed measurements are imputed with the training folds' medians and counted).

Example
-------
>>> from repro.astro.mergers import morphology as mo
>>> mo.lotz_merger([0.48, 0.46], [-1.0, -1.0]).tolist()      # the 2008 line is at G = 0.47 for M20 = -1
[True, False]
>>> mo.measure(img)["concentration"]                          # doctest: +SKIP
"""
from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ...io import read_npz, write_npz

__all__ = ["FEATURES", "ALL_FEATURES", "FEATURE_LABELS", "LOTZ_2004", "LOTZ_2008", "CONSELICE_A", "STATUS_OK",
           "r_band", "block_average", "background", "segment", "measure", "measure_many", "cached_measure",
           "lotz_merger", "conselice_merger", "rule_scores", "fit_classifier", "cv_classifier"]

FEATURES = {"cas": ("concentration", "asymmetry", "smoothness"), "gini_m20": ("gini", "m20")}
"""The feature sets of the two classifiers."""
ALL_FEATURES = ("concentration", "asymmetry", "smoothness", "gini", "m20")
"""Every statmorph measurement kept."""
FEATURE_LABELS = {"cas": "CAS classifier", "gini_m20": "Gini–M20 classifier",
                  "lotz": "Lotz line (Gini–M20)", "conselice": "A > 0.35 (CAS)"}
"""How tables and figures name the baselines."""
LOTZ_2008 = (-0.14, 0.33)
"""Lotz et al. (2008, ApJ 672, 177), eq. 1: mergers lie above G = -0.14 M20 + 0.33."""
LOTZ_2004 = (-0.115, 0.384)
"""Lotz, Primack & Madau (2004, AJ 128, 163): mergers lie above G = -0.115 M20 + 0.384."""
CONSELICE_A = 0.35
"""Conselice (2003, ApJS 147, 1): A > 0.35 marks major mergers."""
STATUS_OK = "ok"
"""The ``status`` of a successful measurement."""


def r_band(image: np.ndarray, factor: int = 1) -> np.ndarray:
    """The r-like (green) channel of a gri colour cutout, block-averaged.

    Parameters
    ----------
    image : array_like, shape (H, W, 3)
        The colour cutout.
    factor : int
        Block-averaging factor (:func:`block_average`).

    Returns
    -------
    numpy.ndarray, shape (H // factor, W // factor), float64

    Raises
    ------
    ValueError
        Not a colour image, or ``factor`` below 1.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] < 2:
        raise ValueError(f"expected an (H, W, 3) colour image, got shape {img.shape}")
    x = img[:, :, 1].astype(np.float64)
    return block_average(x, factor)


def block_average(x: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks (edges that do not fill a block are cut).

    Parameters
    ----------
    x : array_like, shape (H, W)
    factor : int
        At least 1 (1 returns ``x`` as float).

    Returns
    -------
    numpy.ndarray, shape (H // factor, W // factor)

    Raises
    ------
    ValueError
        ``factor`` below 1.
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if factor == 1:
        return np.asarray(x, float)
    ny, nx = (x.shape[0] // factor) * factor, (x.shape[1] // factor) * factor
    return x[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor).mean(axis=(1, 3))


def background(img: np.ndarray, rms_floor: float = 0.5, nsigma: float = 2.0, npixels: int = 10) -> tuple[float, float]:
    """Sky level and sky noise of an image with a galaxy in it.

    A first pass (median and MAD-std with 3-sigma clipping) finds the sources; with them
    masked, the SExtractor-style mode estimate and the MAD-std of the remaining pixels give
    the sky. When sources cover more than 95 % of the image the first pass is kept.

    Parameters
    ----------
    img : numpy.ndarray, shape (H, W)
    rms_floor : float
        Least noise returned (8-bit images whose sky is flat would otherwise give 0).
    nsigma : float
        Detection threshold of the first pass, in first-pass noise.
    npixels : int
        Least connected pixels of a source.

    Returns
    -------
    sky, rms : float
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
    """The segmentation map and mask for statmorph: the central source labelled 1, other sources masked.

    Parameters
    ----------
    sub : numpy.ndarray, shape (H, W)
        Sky-subtracted image.
    rms : float
        Sky noise.
    nsigma : float
        Detection threshold in ``rms`` (after a 2-pixel Gaussian smoothing).
    npixels : int
        Least connected pixels of a source.

    Returns
    -------
    segmap : numpy.ndarray of int32
        1 on the source at (or nearest to) the centre, 0 elsewhere.
    mask : numpy.ndarray of bool
        The other sources.

    Raises
    ------
    ValueError
        Nothing is detected.
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
    """CAS and Gini-M20 of the central galaxy of a single-band image (never raises).

    Parameters
    ----------
    img : array_like, shape (H, W)
        At least 16 x 16 finite pixels.
    rms_floor : float
        Least sky noise (:func:`background`).
    sersic_maxiter : int
        Iterations of statmorph's Sérsic fit, whose results are not used (kept short).

    Returns
    -------
    dict
        ``concentration, asymmetry, smoothness, gini, m20`` (NaN where not measured),
        ``flag`` (statmorph: 0 good, 1 suspect, 2 bad, 4 catastrophic; -1 not run),
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
    """:func:`measure` for every image, in parallel processes; one row per image, in order.

    The worker processes are spawned with one BLAS / OpenMP thread each; the results do not
    depend on ``n_jobs``.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        Single-band images.
    n_jobs : int
        Processes (1: in this process).
    rms_floor : float
        See :func:`measure`.
    chunk : int
        Images per task.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        The fields of :func:`measure` and ``failed`` (True where ``status`` is not "ok").
    """
    from tqdm import tqdm
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


def cached_measure(cache, images: Sequence[np.ndarray], keys: Sequence[str], n_jobs: int = 2,
                   rms_floor: float = 0.5, progress: bool = True) -> pd.DataFrame:
    """:func:`measure_many` with an ``.npz`` cache, reused only for exactly the same ``keys``.

    Parameters
    ----------
    cache : path-like
        The ``.npz`` file.
    images : sequence of numpy.ndarray
        Single-band images (not read when the cache is used).
    keys : sequence of str
        One key per image (e.g. the SDSS objid).
    n_jobs, rms_floor, progress
        As in :func:`measure_many`.

    Returns
    -------
    pandas.DataFrame
        As :func:`measure_many`.
    """
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


def lotz_merger(gini, m20, line: tuple[float, float] = LOTZ_2008) -> np.ndarray:
    """Whether each galaxy lies above the Lotz merger line ``G = a M20 + b``.

    Parameters
    ----------
    gini, m20 : array_like of float
    line : (float, float)
        ``(a, b)``: :data:`LOTZ_2008` or :data:`LOTZ_2004`.

    Returns
    -------
    numpy.ndarray of bool
        NaN inputs give False.
    """
    a, b = line
    g = np.asarray(gini, float)
    m = np.asarray(m20, float)
    with np.errstate(invalid="ignore"):
        return g > a * m + b


def conselice_merger(asymmetry, threshold: float = CONSELICE_A) -> np.ndarray:
    """Whether each galaxy's asymmetry exceeds ``threshold``.

    Parameters
    ----------
    asymmetry : array_like of float
    threshold : float

    Returns
    -------
    numpy.ndarray of bool
        NaN gives False.
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(asymmetry, float) > threshold


def rule_scores(morph: pd.DataFrame) -> dict[str, np.ndarray]:
    """0/1 scores of the fixed-rule baselines for every galaxy.

    Parameters
    ----------
    morph : pandas.DataFrame
        Columns ``gini``, ``m20``, ``asymmetry``.

    Returns
    -------
    dict
        ``{"lotz": ..., "conselice": ...}``: float arrays of 0 and 1 (:func:`lotz_merger` with
        the 2008 line, :func:`conselice_merger`).
    """
    return {"lotz": lotz_merger(morph["gini"], morph["m20"]).astype(float),
            "conselice": conselice_merger(morph["asymmetry"]).astype(float)}


def _impute(train: np.ndarray, *others: np.ndarray):
    med = np.nanmedian(train, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    fill = lambda a: np.where(np.isfinite(a), a, med)  # noqa: E731
    return (fill(train),) + tuple(fill(o) for o in others)


def fit_classifier(X: np.ndarray, y: np.ndarray, seed: int = 0):
    """A standardised logistic regression with balanced class weights.

    NaNs (failed measurements) are replaced by the training medians of their column, in
    training and in scoring.

    Parameters
    ----------
    X : array_like, shape (n, features)
        Training features.
    y : array_like of int
        Training labels.
    seed : int
        ``random_state`` of the regression.

    Returns
    -------
    callable
        ``score(X_new) -> merger probabilities``.
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

    Parameters
    ----------
    morph : pandas.DataFrame
        Measurements of the sample (:func:`measure_many`), one row per image.
    y : array_like of int
        Labels.
    splits : list of dict
        ``{"repeat", "fold", "train", "test"}`` (the CNNs' splits); the classifier of a split
        is seeded with its repeat.
    features : {"cas", "gini_m20"}
        The feature set (:data:`FEATURES`).
    test_sets : dict, optional
        Condition name -> measurements of degraded images (same rows as ``morph``): their test
        parts are scored with the classifier trained on the clean training part.

    Returns
    -------
    pandas.DataFrame
        Rows ``condition, repeat, fold, index, y, p_merger, failed``.
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

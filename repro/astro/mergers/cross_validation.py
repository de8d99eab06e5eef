"""Cross-validation of the ``mergers`` CNNs: repeated stratified k-fold splits, subsamples, the training loop.

Every comparison of the chain is paired over the same splits: a split is a dict
``{"repeat", "fold", "train", "test", "seed"}`` (index arrays into the sample, and the training
seed that both arms use on it). :func:`run_cv` trains every arm on every split (and, for the
learning curve, on stratified fractions of each training part) and scores the test part.

Example
-------
>>> import numpy as np
>>> from repro.astro.mergers import cross_validation as cv
>>> y = np.r_[np.ones(4), np.zeros(8)].astype(int)
>>> splits = cv.cv_splits(y, n_folds=2, repeat_seeds=[0, 1000])
>>> [(s["repeat"], s["fold"], len(s["test"])) for s in splits]
[(0, 0, 6), (0, 1, 6), (1, 0, 6), (1, 1, 6)]
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .cnn import TrainConfig, kept_epochs, predict_proba, save_model, train

__all__ = ["cv_splits", "train_val_split", "subsample", "run_cv"]


def cv_splits(y: np.ndarray, n_folds: int, repeat_seeds: Sequence[int]) -> list[dict]:
    """Repeated stratified k-fold splits, one shuffle per seed.

    Parameters
    ----------
    y : array_like of int
        Labels (0/1).
    n_folds : int
        Folds per repeat; every image is a test image once per repeat.
    repeat_seeds : sequence of int
        ``random_state`` of scikit-learn's ``StratifiedKFold`` for each repeat (its length is
        the number of repeats).

    Returns
    -------
    list of dict
        ``{"repeat", "fold", "train", "test"}`` with index arrays, repeats in order.

    Raises
    ------
    ValueError
        A class has fewer than ``n_folds`` images.
    """
    from sklearn.model_selection import StratifiedKFold
    y = np.asarray(y)
    if np.bincount(y, minlength=2).min() < n_folds:
        raise ValueError(f"{n_folds} folds need at least {n_folds} images of each class; got {np.bincount(y).tolist()}")
    out = []
    for r, seed in enumerate(repeat_seeds):
        skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(seed))
        for f, (tr, te) in enumerate(skf.split(np.zeros(len(y)), y)):
            out.append({"repeat": r, "fold": f, "train": tr, "test": te})
    return out


def train_val_split(idx: np.ndarray, y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training indices into training and validation parts, stratified by class.

    Parameters
    ----------
    idx : numpy.ndarray of int
        Training indices of a split.
    y : array_like of int
        Labels of the whole sample.
    val_fraction : float
        Share held out for validation.
    seed : int
        ``random_state`` of scikit-learn's ``train_test_split``.

    Returns
    -------
    train, validation : numpy.ndarray of int
        Sorted.
    """
    from sklearn.model_selection import train_test_split
    tr, va = train_test_split(idx, test_size=val_fraction, stratify=np.asarray(y)[idx], random_state=seed)
    return np.sort(tr), np.sort(va)


def subsample(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int, min_per_class: int = 2) -> np.ndarray:
    """A stratified share of some indices.

    Parameters
    ----------
    idx : numpy.ndarray of int
        Indices to draw from.
    y : array_like of int
        Labels of the whole sample.
    fraction : float
        Share kept of each class, in (0, 1]; 1 keeps all.
    seed : int
        Seed of the ``numpy.random.default_rng`` that draws non-mergers, then mergers.
    min_per_class : int
        Least number kept of each class (all of a class smaller than that).

    Returns
    -------
    numpy.ndarray of int
        Sorted.

    Raises
    ------
    ValueError
        ``fraction`` outside (0, 1].
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return np.sort(idx)
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    keep = []
    for cls in (0, 1):
        c = idx[y[idx] == cls]
        k = min(len(c), max(min_per_class, int(round(fraction * len(c)))))
        keep.append(rng.choice(c, size=k, replace=False))
    return np.sort(np.concatenate(keep))


def run_cv(X: np.ndarray, y: np.ndarray, splits: list[dict], arms: Sequence[str], cfg: TrainConfig, *,
           val_fraction: float, fractions: Sequence[float] = (1.0,), model_dir: Path | None = None,
           progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every arm on every split (and training-set fraction) and score the split's test part.

    For each split the training part is divided into training and validation
    (:func:`train_val_split`) and, below fraction 1, subsampled (:func:`subsample`), all with
    the split's ``seed``, which is also the training seed of both arms (paired).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, s, s, 3)
        The sample's CNN images.
    y : numpy.ndarray of int, shape (n,)
        Labels.
    splits : list of dict
        ``{"repeat", "fold", "train", "test", "seed"}`` (see the module docstring).
    arms : sequence of str
        Arms of :class:`~repro.astro.mergers.cnn.TrainConfig`.
    cfg : TrainConfig
        Schedule; its ``arm`` and ``seed`` are replaced per run.
    val_fraction : float
        Share of each training part held out for early stopping.
    fractions : sequence of float
        Training-set shares (learning curve).
    model_dir : pathlib.Path, optional
        Where the models at fraction 1 are saved as ``<arm>_r<repeat>_f<fold>.keras``
        (:func:`~repro.astro.mergers.cnn.save_model`).
    progress : bool
        Show a progress bar.

    Returns
    -------
    predictions : pandas.DataFrame
        One row per (split, arm, fraction, test image): ``repeat, fold, arm, fraction, index``
        (row of ``X``), ``y``, ``p_merger``.
    runs : pandas.DataFrame
        One row per trained network: ``repeat, fold, arm, fraction, seed, n_train,
        n_train_mergers, n_val, epochs, kept_epochs`` (phase -> epochs up to the kept one,
        :func:`~repro.astro.mergers.cnn.kept_epochs`), ``best_val_loss, seconds``.

    Raises
    ------
    ValueError
        A split has no ``seed``.
    """
    import keras
    from tqdm import tqdm
    missing = [(s["repeat"], s["fold"]) for s in splits if "seed" not in s]
    if missing:
        raise ValueError(f"splits {missing[:3]} have no training 'seed' (see repro.papers.mergers.Setup.splits)")
    jobs = [(s, a, fr) for s in splits for fr in fractions for a in arms]
    preds, runs = [], []
    bar = tqdm(jobs, desc="train", unit="net", disable=not progress)
    for s, arm, fr in bar:
        seed = int(s["seed"])
        tr, va = train_val_split(s["train"], y, val_fraction, seed)
        tr = subsample(tr, y, fr, seed)
        bar.set_postfix(arm=arm, repeat=s["repeat"], fold=s["fold"], fraction=fr)
        t0 = time.perf_counter()
        model, hist = train(X[tr], y[tr], X[va], y[va], replace(cfg, arm=arm, seed=seed))
        p = predict_proba(model, X[s["test"]])
        secs = time.perf_counter() - t0
        if model_dir is not None and fr == 1.0:
            save_model(model, Path(model_dir) / f"{arm}_r{s['repeat']}_f{s['fold']}.keras", cfg.crop)
        preds.append(pd.DataFrame({"repeat": s["repeat"], "fold": s["fold"], "arm": arm, "fraction": fr,
                                   "index": s["test"], "y": y[s["test"]], "p_merger": p}))
        runs.append({"repeat": s["repeat"], "fold": s["fold"], "arm": arm, "fraction": fr, "seed": seed,
                     "n_train": len(tr), "n_train_mergers": int(y[tr].sum()), "n_val": len(va),
                     "epochs": len(hist), "kept_epochs": kept_epochs(hist),
                     "best_val_loss": float(min(h["val_loss"] for h in hist)),
                     "seconds": secs})
        keras.backend.clear_session()
    return pd.concat(preds, ignore_index=True), pd.DataFrame(runs)

"""The driver of the ``mergers`` chain (Ackermann et al. 2018, arXiv:1805.10289).

:func:`setup` is the one place that reads the chain's parameter names for what its notebooks
share: the named seeds, TensorFlow's threads (applied) and the statmorph processes, the sample,
its labels and cross-validation splits, the cached images (the CNN's view and the r band for
statmorph, decoded on first use into the run folder) and the training configuration. The
computing lives in :mod:`repro.astro.mergers`; here is only what exists to run this paper's
experiments: the robustness subset and its degraded images (``05_robustness``), the scoring
of saved models on them, and the flattening of prediction tables into arrays.

Example
-------
A notebook of the chain begins::

    from repro import chains
    from repro.papers import mergers as paper

    run = chains.start("mergers", profile, overrides, notebook="03_train")
    P = run.params
    S = paper.setup(P, run)
    preds, runs = mergers.run_cv(S.images["cnn"], S.y, S.splits, mergers.ARMS, S.train_config, ...)

Without a run, the seeds and the configuration are there but not the images:

>>> from repro import params
>>> from repro.papers import mergers as paper
>>> S = paper.setup(params.load("mergers", "smoke"))                      # doctest: +SKIP
>>> S.seeds.fold_shuffle(1), S.seeds.split(1, 2), S.seeds.robustness     # doctest: +SKIP
(1000, 102, 5)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..astro.mergers import cnn, cross_validation, images, morphology
from ..errors import ChainError

__all__ = ["Seeds", "Setup", "setup", "train_config", "robustness_rows", "condition_name", "degraded_images",
           "predict_saved", "preds_to_arrays"]


@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds.

    Today's values are all derived from the parameter ``seed`` as the record was made (see
    :func:`setup`); the per-repeat and per-split seeds are the methods.

    Attributes
    ----------
    sample : int
        Which non-mergers (and mergers, below all of them) form the sample (``select_sample``).
    examples : int
        The example images shown in ``01_data``.
    folds : int
        Root of the fold shuffles (:meth:`fold_shuffle`).
    training : int
        Root of the per-split training seeds (:meth:`split`).
    robustness : int
        The non-mergers of the robustness subset (:func:`robustness_rows`).
    degrade : int
        The noise added to the robustness images (:func:`degraded_images`).
    bootstrap : int
        Every bootstrap interval of the chain (``summarize``, ``paired_bootstrap_diff``).
    final : int
        The training of the shipped classifier on all images (``07_model``).
    """

    sample: int
    examples: int
    folds: int
    training: int
    robustness: int
    degrade: int
    bootstrap: int
    final: int

    def fold_shuffle(self, repeat: int) -> int:
        """The ``StratifiedKFold`` seed of a repeat: ``folds + 1000 repeat``.

        Parameters
        ----------
        repeat : int

        Returns
        -------
        int
        """
        return self.folds + 1000 * int(repeat)

    def split(self, repeat: int, fold: int) -> int:
        """The training seed of a split, the same for both arms: ``training + 100 repeat + fold``.

        It seeds the train/validation split, the learning-curve subsample, the initialisation,
        the batches and the augmentation of the split's networks.

        Parameters
        ----------
        repeat, fold : int

        Returns
        -------
        int
        """
        return self.training + 100 * int(repeat) + int(fold)


@dataclass
class Setup:
    """What the notebooks of the ``mergers`` chain share (built by :func:`setup`).

    Expensive members are computed when first used, so a notebook pays only for what it needs.

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    run : repro.chains.RunContext or None
        The run (needed for the image cache in its folder).
    seeds : Seeds
        The named seeds.
    threads : int
        TensorFlow's intra-op threads (applied by :func:`setup`) and statmorph's processes.
    """

    params: Any
    run: Any
    seeds: Seeds
    threads: int

    @cached_property
    def sample(self) -> pd.DataFrame:
        """The sample: all ``n_mergers`` mergers and ``n_nonmergers`` non-mergers, in file order.

        Returns
        -------
        pandas.DataFrame
            Rows of :func:`repro.astro.mergers.load_labels`.
        """
        P = self.params
        return images.select_sample(images.load_labels(), P.n_mergers, P.n_nonmergers, self.seeds.sample)

    @cached_property
    def y(self) -> np.ndarray:
        """Labels of the sample (1: merger).

        Returns
        -------
        numpy.ndarray of int
        """
        return self.sample["is_merger"].to_numpy(int)

    @cached_property
    def splits(self) -> list[dict]:
        """The repeated stratified k-fold splits every comparison shares.

        Returns
        -------
        list of dict
            ``{"repeat", "fold", "train", "test", "seed"}``; ``seed`` is :meth:`Seeds.split`.
        """
        P = self.params
        out = cross_validation.cv_splits(self.y, P.n_folds, [self.seeds.fold_shuffle(r) for r in range(P.n_repeats)])
        for s in out:
            s["seed"] = self.seeds.split(s["repeat"], s["fold"])
        return out

    @cached_property
    def views(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """What each method sees of a native ``(H, W, 3)`` cutout.

        Returns
        -------
        dict
            ``"cnn"``: the central ``crop`` area-averaged to ``image_size`` px (uint8);
            ``"rband"``: the green channel block-averaged by ``morph_downsample`` (float64).
        """
        size, crop, factor = int(self.params.image_size), float(self.params.crop), int(self.params.morph_downsample)
        return {"cnn": lambda img: images.cnn_view(img, size, crop),
                "rband": lambda img: morphology.r_band(img, factor)}

    @cached_property
    def images(self) -> dict[str, np.ndarray]:
        """The sample's images as each method sees them (:attr:`views`), cached in the run folder.

        Returns
        -------
        dict
            ``"cnn"``: ``(n, image_size, image_size, 3)`` uint8; ``"rband"``: ``(n, h, w)``
            float32 (stored in single precision).

        Raises
        ------
        ChainError
            No run was given.
        """
        P = self.params
        cnn_key, r_key = f"cnn{P.image_size}_c{P.crop:g}", f"rband{P.morph_downsample}"
        name = f"images_m{P.n_mergers}_n{P.n_nonmergers}_s{self.seeds.sample}.npz"
        views = self.views
        arrays = images.cached_images(self._run().dir / name, self.sample,
                                      {cnn_key: views["cnn"],
                                       r_key: lambda img: views["rband"](img).astype(np.float32)})
        return {"cnn": arrays[cnn_key], "rband": arrays[r_key]}

    @cached_property
    def train_config(self) -> cnn.TrainConfig:
        """The training configuration of the run (:func:`train_config`).

        Returns
        -------
        repro.astro.mergers.TrainConfig
        """
        return train_config(self.params, self.seeds.training)

    @cached_property
    def conditions(self) -> list[tuple[str, float]]:
        """The degradations of ``05_robustness``: ``("noise", level)`` for every ``noise_levels``,
        then ``("blur", sigma)`` for every ``blur_sigmas``.

        Returns
        -------
        list of (str, float)
        """
        P = self.params
        return [("noise", float(v)) for v in P.noise_levels] + [("blur", float(b)) for b in P.blur_sigmas]

    def _run(self):
        if self.run is None:
            raise ChainError("this needs the run's folder: call setup(params, run) with the run of "
                             "chains.start('mergers', ...)")
        return self.run


def setup(params, run=None) -> Setup:
    """Read the ``mergers`` parameters, apply TensorFlow's thread settings, name the seeds.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The run; without it the cached images are not available.

    Returns
    -------
    Setup
    """
    seed = int(params.seed)
    # Today's values, kept so that the numbers do not change: one seed for the sample, the
    # examples, the fold shuffles (+ 1000 per repeat), the training (+ 100 per repeat + fold),
    # the degradations and the bootstraps; seed + 5 for the robustness subset. The shipped
    # model's training seed is new: seed + 7.
    seeds = Seeds(sample=seed, examples=seed, folds=seed, training=seed, robustness=seed + 5, degrade=seed,
                  bootstrap=seed, final=seed + 7)
    threads = int(params.threads)
    cnn.configure_threads(threads)
    return Setup(params=params, run=run, seeds=seeds, threads=threads)


def train_config(params, seed: int) -> cnn.TrainConfig:
    """The :class:`~repro.astro.mergers.TrainConfig` of a run's parameters.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters.
    seed : int
        Default training seed (:func:`repro.astro.mergers.run_cv` replaces it by each split's).

    Returns
    -------
    repro.astro.mergers.TrainConfig
    """
    P = params
    return cnn.TrainConfig(image_size=P.image_size, crop=P.crop, batch_size=P.batch_size,
                           steps_per_epoch=P.steps_per_epoch, head_epochs=P.head_epochs,
                           finetune_epochs=P.finetune_epochs, head_lr=P.head_lr, finetune_lr=P.finetune_lr,
                           scratch_lr=P.scratch_lr, bn_momentum=P.bn_momentum, patience=P.patience,
                           dense_units=P.dense_units, augment=P.augment, seed=seed)


def robustness_rows(y: np.ndarray, n_nonmergers: int, seed: int) -> np.ndarray:
    """The robustness subset: every merger of the sample and ``n_nonmergers`` non-mergers at random.

    Parameters
    ----------
    y : array_like of int
        Labels of the sample.
    n_nonmergers : int
        Non-mergers drawn (at most all of them).
    seed : int
        Seed of the ``numpy.random.default_rng`` of the draw.

    Returns
    -------
    numpy.ndarray of int
        Sorted rows of the sample.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    nonm = np.flatnonzero(y == 0)
    return np.sort(np.r_[np.flatnonzero(y == 1), rng.choice(nonm, min(n_nonmergers, len(nonm)), replace=False)])


def condition_name(kind: str, level: float) -> str:
    """The name of a degradation: ``"noise 10"``, ``"blur 3"``, ``"clean"``.

    Parameters
    ----------
    kind : {"none", "noise", "blur"}
    level : float

    Returns
    -------
    str
    """
    return "clean" if kind == "none" else f"{kind} {level:g}"


def degraded_images(paths: Sequence, conditions: Sequence[tuple[str, float]], transforms: dict[str, Callable],
                    seed: int, progress: bool = True) -> dict[tuple[str, str], np.ndarray]:
    """Degrade every native image under every condition and transform the result.

    The noise of image ``i`` is drawn with the seed ``SeedSequence([seed, i]).generate_state(1)[0]``,
    so every method sees the same degraded pixels.

    Parameters
    ----------
    paths : sequence of path-like
        Native cutouts.
    conditions : sequence of (str, float)
        ``(kind, level)`` of :func:`repro.astro.mergers.perturb`.
    transforms : dict
        Name -> function of a float ``(H, W, 3)`` image (e.g. :attr:`Setup.views`).
    seed : int
        Root of the noise seeds.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``{(condition name, transform name): stacked arrays}`` (:func:`condition_name`).
    """
    from tqdm import tqdm
    out: dict[tuple[str, str], list] = {(condition_name(k, v), t): [] for k, v in conditions for t in transforms}
    for i, p in enumerate(tqdm(paths, desc="degrade", unit="img", disable=not progress)):
        img = images.decode_jpeg(p)
        for kind, level in conditions:
            x = images.perturb(img, kind, level, seed=int(np.random.SeedSequence([seed, i]).generate_state(1)[0]))
            for t, f in transforms.items():
                out[(condition_name(kind, level), t)].append(f(x))
    return {k: np.stack(v) for k, v in out.items()}


def predict_saved(model_dir, arms: Sequence[str], splits: list[dict], images_by_condition: dict[str, np.ndarray],
                  rows: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Score the test images of each split with that split's saved models, under several conditions.

    Only rows in a split's test part are scored by its models.

    Parameters
    ----------
    model_dir : path-like
        Folder of ``<arm>_r<repeat>_f<fold>.keras`` (written by ``03_train``).
    arms : sequence of str
        Arms to score.
    splits : list of dict
        ``{"repeat", "fold", "test", ...}``.
    images_by_condition : dict
        Condition -> ``(len(rows), s, s, 3)`` CNN images of the sample rows ``rows``.
    rows : array_like of int
        Sample rows of the images.
    y : array_like of int
        Labels of the whole sample.

    Returns
    -------
    pandas.DataFrame
        Rows ``condition, arm, repeat, fold, index, y, p_merger``.

    Raises
    ------
    repro.astro.mergers.ModelError
        A model is missing or unreadable.
    """
    import keras
    rows = np.asarray(rows)
    pos = {r: i for i, r in enumerate(rows)}
    out = []
    for s in splits:
        te = np.array([r for r in s["test"] if r in pos], dtype=int)
        if len(te) == 0:
            continue
        take = np.array([pos[r] for r in te])
        for arm in arms:
            model = cnn.load_model(Path(model_dir) / f"{arm}_r{s['repeat']}_f{s['fold']}.keras")
            for cond, X in images_by_condition.items():
                out.append(pd.DataFrame({"condition": cond, "arm": arm, "repeat": s["repeat"], "fold": s["fold"],
                                         "index": te, "y": np.asarray(y)[te],
                                         "p_merger": cnn.predict_proba(model, X[take])}))
            keras.backend.clear_session()
    return pd.concat(out, ignore_index=True)


def preds_to_arrays(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """A predictions table as plain arrays for ``run.save_arrays`` (strings as unicode).

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    dict
        Column name -> array; object columns become unicode arrays.
    """
    out = {}
    for c in df.columns:
        a = df[c].to_numpy()
        out[c] = a.astype(str) if a.dtype == object else a
    return out

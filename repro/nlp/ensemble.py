"""Training members (CNN or RNN, one seed each), rare-class handling, and combining members.

- class weights: "balanced" weights n / (k · n_c) in the loss;
- upsampling: every class with fewer than ``upsample_to`` × (size of the largest class)
  examples is topped up to that size by drawing its examples again (with replacement);
- a CNN and an RNN of the same seed are combined by a weighted mean of their class
  probabilities, with weight ``rnn_weight_long`` on the RNN for spans longer than
  ``long_span`` tokens and ``rnn_weight_short`` otherwise (the paper gave the RNN more say on
  long spans);
- an ensemble is the mean of its members' probabilities.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import models
from .features import Encoded


@dataclass
class TrainConfig:
    """How a member is built and trained.

    Attributes
    ----------
    epochs, batch_size : int
        Passes over the (upsampled) training set and minibatch size.
    lr, dropout : float
        Adam's learning rate; dropout (see :func:`repro.nlp.models.build_cnn`).
    filters : int
        CNN filters per kernel width.
    kernel_sizes : tuple of int
        CNN kernel widths.
    units : int
        RNN units per direction.
    cell : {"lstm", "gru"}
        RNN cell.
    pos_dim : int
        Size of the position embeddings.
    class_weights : bool
        Balanced class weights in the loss.
    upsample_to : float
        Rare classes drawn again up to this share of the largest (0: no upsampling).
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    dropout: float = 0.5
    filters: int = 100
    kernel_sizes: tuple = (2, 3, 4, 5)
    units: int = 64
    cell: str = "lstm"
    pos_dim: int = 20
    class_weights: bool = True
    upsample_to: float = 0.0

    def model_kwargs(self) -> dict:
        """The settings that :func:`repro.nlp.models.build` takes.

        Returns
        -------
        dict
        """
        d = asdict(self)
        return {k: d[k] for k in ("filters", "kernel_sizes", "units", "cell", "pos_dim", "dropout", "lr")}


def balanced_class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """Balanced class weights: n / (k · n_c) for every class present (k classes present), 1 for absent ones.

    Parameters
    ----------
    y : ndarray of int
        Class indices.
    n_classes : int

    Returns
    -------
    dict of int to float
    """
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes)
    present = counts > 0
    k = int(present.sum())
    return {c: (len(y) / (k * counts[c]) if counts[c] else 1.0) for c in range(n_classes)}


def upsample_indices(y: np.ndarray, upsample_to: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of the training set with rare classes drawn again (see the module docstring).

    Parameters
    ----------
    y : ndarray of int
        Class indices.
    upsample_to : float
        Target share of the largest class (``<= 0``: no upsampling).
    rng : numpy.random.Generator
        Draws the extra indices.

    Returns
    -------
    ndarray of int
        ``0..n-1``, then the extra draws class by class.
    """
    y = np.asarray(y)
    idx = np.arange(len(y))
    if upsample_to <= 0:
        return idx
    counts = np.bincount(y)
    target = int(np.ceil(upsample_to * counts.max()))
    extra = []
    for c in np.nonzero(counts)[0]:
        if counts[c] < target:
            extra.append(rng.choice(np.nonzero(y == c)[0], target - counts[c], replace=True))
    return np.concatenate([idx] + extra) if extra else idx


def fit_predict(kind: str, emb_matrix: np.ndarray, n_pos: int, n_classes: int, max_len: int,
                X: Encoded, y: np.ndarray, tests: list[Encoded], cfg: TrainConfig, seed: int) -> list[np.ndarray]:
    """Train one member with ``seed`` and return its class probabilities on each of ``tests``.

    The member's seed fixes everything random in it: Keras's seeds (weights, dropout, batch
    order) are ``seed`` and the upsampling draws come from ``default_rng(seed + 7919)``.

    Parameters
    ----------
    kind : {"cnn", "rnn"}
    emb_matrix : ndarray, shape (vocabulary, dim)
    n_pos, n_classes, max_len : int
        See :func:`repro.nlp.models.build_cnn`.
    X : repro.nlp.features.Encoded
        Training spans.
    y : ndarray of int
        Their classes.
    tests : list of repro.nlp.features.Encoded
    cfg : TrainConfig
    seed : int

    Returns
    -------
    list of ndarray, shape (len(test), n_classes)
    """
    import keras
    keras.utils.set_random_seed(int(seed))
    rng = np.random.default_rng(int(seed) + 7919)
    idx = upsample_indices(y, cfg.upsample_to, rng)
    Xt, yt = X.take(idx), np.asarray(y)[idx]
    model = models.build(kind, emb_matrix, n_pos, n_classes, max_len, **cfg.model_kwargs())
    cw = balanced_class_weights(yt, n_classes) if cfg.class_weights else None
    model.fit(Xt.inputs(), yt, epochs=cfg.epochs, batch_size=cfg.batch_size, class_weight=cw,
              shuffle=True, verbose=0)
    out = [model.predict(t.inputs(), batch_size=256, verbose=0) for t in tests]
    keras.backend.clear_session()
    return out


def combine(p_cnn: np.ndarray, p_rnn: np.ndarray, length: np.ndarray, *, rnn_weight_short: float = 0.5,
            rnn_weight_long: float = 0.7, long_span: int = 15) -> np.ndarray:
    """Length-dependent weighted mean of CNN and RNN probabilities (rows: instances).

    Parameters
    ----------
    p_cnn, p_rnn : ndarray, shape (n, classes)
    length : ndarray, shape (n,)
        Span lengths.
    rnn_weight_short, rnn_weight_long : float
        The RNN's weight for spans of at most / more than ``long_span`` tokens.
    long_span : int

    Returns
    -------
    ndarray, shape (n, classes)
    """
    w = np.where(np.asarray(length) > long_span, rnn_weight_long, rnn_weight_short)[:, None]
    return (1.0 - w) * p_cnn + w * p_rnn


def mean_probs(members) -> np.ndarray:
    """The mean of the members' probabilities.

    Parameters
    ----------
    members : iterable of ndarray

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        No members.
    """
    members = list(members)
    if not members:
        raise ValueError("an ensemble needs at least one member")
    return np.mean(np.stack(members), axis=0)


@dataclass
class MemberRuns:
    """Test probabilities of every (kind, seed) member.

    Attributes
    ----------
    probs : dict
        ``probs[kind][seed][test index]``: ndarray of class probabilities.
    seconds : float
        Training time.
    """

    probs: dict = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, kind, seed, outs):
        """Add the test probabilities ``outs`` of member ``(kind, seed)``.

        Parameters
        ----------
        kind : str
        seed : int
        outs : list of ndarray
        """
        self.probs.setdefault(kind, {})[int(seed)] = outs

    def seeds(self, kind) -> list[int]:
        """The seeds of the members of ``kind``, sorted.

        Parameters
        ----------
        kind : str

        Returns
        -------
        list of int
        """
        return sorted(self.probs.get(kind, {}))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Flat arrays for an ``.npz`` file, named ``<prefix>__<kind>__<seed>__<test>``.

        Parameters
        ----------
        prefix : str

        Returns
        -------
        dict of str to ndarray
        """
        out = {}
        for kind, by_seed in self.probs.items():
            for seed, outs in by_seed.items():
                for t, p in enumerate(outs):
                    out[f"{prefix}__{kind}__{seed}__{t}"] = p
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> "MemberRuns":
        """The runs stored under ``prefix`` by :meth:`to_arrays`.

        Parameters
        ----------
        arrays : mapping of str to ndarray
        prefix : str

        Returns
        -------
        MemberRuns
        """
        r = cls()
        for k, v in arrays.items():
            parts = k.split("__")
            if len(parts) == 4 and parts[0] == prefix:
                _, kind, seed, t = parts
                lst = r.probs.setdefault(kind, {}).setdefault(int(seed), [])
                while len(lst) <= int(t):
                    lst.append(None)
                lst[int(t)] = v
        return r


def train_members(kinds, seeds, emb_matrix, n_pos, n_classes, max_len, X, y, tests, cfg: TrainConfig,
                  progress: str = "") -> MemberRuns:
    """Train every (kind, seed) member (seed by seed), with a progress bar.

    Parameters
    ----------
    kinds : list of {"cnn", "rnn"}
    seeds : list of int
    emb_matrix, n_pos, n_classes, max_len, X, y, tests, cfg
        As in :func:`fit_predict`.
    progress : str
        Label of the progress bar.

    Returns
    -------
    MemberRuns
    """
    from tqdm import tqdm   # text bars (tqdm.auto warns, with a path of the machine, when ipywidgets is absent)
    runs = MemberRuns()
    t0 = time.perf_counter()
    jobs = [(k, s) for s in seeds for k in kinds]
    for kind, seed in tqdm(jobs, desc=progress or "members", leave=False):
        runs.add(kind, seed, fit_predict(kind, emb_matrix, n_pos, n_classes, max_len, X, y, tests, cfg, seed))
    runs.seconds = time.perf_counter() - t0
    return runs


def member_probs(runs: MemberRuns, seed: int, test: int, what: str, length: np.ndarray, **weights) -> np.ndarray:
    """Probabilities of one seed's model on one test set.

    Parameters
    ----------
    runs : MemberRuns
    seed : int
    test : int
        Index of the test set.
    what : {"cnn", "rnn", "cnn+rnn"}
        One member, or the seed's CNN and RNN combined (:func:`combine`).
    length : ndarray
        Span lengths of the test set (for the combination).
    **weights
        Keyword arguments of :func:`combine`.

    Returns
    -------
    ndarray
    """
    if what == "cnn+rnn":
        return combine(runs.probs["cnn"][seed][test], runs.probs["rnn"][seed][test], length, **weights)
    return runs.probs[what][seed][test]


def ensemble_probs(runs: MemberRuns, seeds, test: int, what: str, length: np.ndarray, **weights) -> np.ndarray:
    """Mean over ``seeds`` of :func:`member_probs`.

    Parameters
    ----------
    runs : MemberRuns
    seeds : iterable of int
    test : int
    what : {"cnn", "rnn", "cnn+rnn"}
    length : ndarray
    **weights
        Keyword arguments of :func:`combine`.

    Returns
    -------
    ndarray
    """
    return mean_probs(member_probs(runs, s, test, what, length, **weights) for s in seeds)

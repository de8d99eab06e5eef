"""Quality and cost matrices for model selection, and prior/user splits.

Two real sources (see ``data/<name>.yaml`` and the SOURCE.md next to the data):

``ds3lab-gp-ucb-model-selection`` (the faithful one: the authors' group's own 2017 matrices)
    Accuracies of 9 CNN architectures (column 2 is GoogLeNet) on image data sets, spread over
    several files of ``MS/``, ``TS-MS/`` and ``multi_user/`` that overlap heavily. We read every
    file whose columns are in the canonical 9-model order (the ``*_disorder`` files permute the
    columns and the 8-column ``*_without_googlenet`` files drop one, so they are left out), and
    keep each distinct data set once: rows that differ in at most ``max_differing`` columns (one
    model re-run) are one data set. Training times (seconds) are known per data set only for the 8 data sets of
    ``TS-MS/test.txt`` (``TS-MS/test_time.txt``, row by row); for every other data set the cost
    of a model is that model's median over the 22 measured rows of ``TS-MS/time.txt``. The
    ``synthetic_*`` folders are never read.

``oboe-openml-error-matrix``
    Cross-validated balanced error of scikit-learn configurations on OpenML data sets
    (quality = 1 - error) and their training times (cost, seconds).

A :class:`Matrices` holds both tables with data set and model names; :func:`split` draws which
data sets are users (never seen by the kernel) and which are the prior.

Example
-------
>>> from repro.automl import data
>>> sp = data.split(31, 20, seed=0)
>>> len(sp.users), len(sp.prior), bool(set(sp.users) & set(sp.prior))
(20, 11, False)
>>> m = data.load_ds3lab()                           # doctest: +SKIP
>>> m.quality.shape                                  # doctest: +SKIP
(31, 9)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import data as registry
from ..errors import DataError
from .errors import MatrixError

__all__ = ["DS3LAB", "OBOE", "Matrices", "check_matrices", "read_whitespace_matrix", "distinct_rows", "load_ds3lab",
           "load_oboe", "load", "Split", "split"]

DS3LAB = "ds3lab-gp-ucb-model-selection"
OBOE = "oboe-openml-error-matrix"

# Files of DS3Lab's repo whose 9 columns are in the canonical model order, in reading order.
DS3LAB_QUALITY_FILES = (
    "multi_user/prior.txt", "multi_user/test8.txt",
    "TS-MS/prior.txt", "TS-MS/test.txt",
    "MS/prior_with_googlenet.txt", "MS/test.txt", "MS/test2.txt", "MS/test_second.txt",
)
DS3LAB_COST_PAIR = ("TS-MS/test.txt", "TS-MS/test_time.txt")  # row i of one is row i of the other
DS3LAB_COST_POOL = "TS-MS/time.txt"
DS3LAB_MODELS = tuple(f"cnn{j}" for j in range(1, 10))  # the repo names no model; column 2 is GoogLeNet


@dataclass
class Matrices:
    """Quality (higher is better) and cost (seconds, > 0) of every model on every data set.

    Attributes
    ----------
    quality, cost : ndarray, shape (n_datasets, n_models)
        Checked by :func:`check_matrices` when the object is made.
    datasets, models : list of str
        Row and column names.
    source : str
        Name of the data set in the registry.
    notes : dict
        What the loader wants to remember (files read, rows merged, ...).

    Raises
    ------
    MatrixError
        Malformed matrices, or names that do not match their shape.
    """

    quality: np.ndarray
    cost: np.ndarray
    datasets: list[str]
    models: list[str]
    source: str
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        self.quality, self.cost = check_matrices(self.quality, self.cost)
        if len(self.datasets) != self.quality.shape[0] or len(self.models) != self.quality.shape[1]:
            raise MatrixError(f"{self.source}: {len(self.datasets)} data set names and {len(self.models)} model "
                              f"names for a {self.quality.shape} matrix")

    @property
    def n_datasets(self) -> int:
        """Number of data sets (rows)."""
        return self.quality.shape[0]

    @property
    def n_models(self) -> int:
        """Number of models (columns)."""
        return self.quality.shape[1]

    def rows(self, index) -> "Matrices":
        """The sub-matrices of some data sets (same models).

        Parameters
        ----------
        index : array_like of int
            Row numbers.

        Returns
        -------
        Matrices
        """
        index = np.asarray(index, dtype=int)
        return Matrices(self.quality[index], self.cost[index], [self.datasets[i] for i in index],
                        list(self.models), self.source, dict(self.notes))

    def summary(self) -> dict:
        """Sizes, ranges and medians of the two matrices, for a table.

        Returns
        -------
        dict
            Plain numbers keyed by what they are (e.g. ``"cost median (s)"``).
        """
        best = self.quality.max(axis=1)
        return {"source": self.source, "data sets": self.n_datasets, "models": self.n_models,
                "quality min": float(self.quality.min()), "quality max": float(self.quality.max()),
                "best quality, median over data sets": float(np.median(best)),
                "cost min (s)": float(self.cost.min()), "cost median (s)": float(np.median(self.cost)),
                "cost max (s)": float(self.cost.max())}


def check_matrices(quality, cost=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a quality matrix (and a cost matrix of the same shape).

    Parameters
    ----------
    quality : array_like, shape (n_datasets, n_models)
    cost : array_like, optional
        Same shape, seconds.

    Returns
    -------
    quality, cost : ndarray
        Float copies (``cost`` is None when none was given).

    Raises
    ------
    MatrixError
        Not two-dimensional, empty, NaN or infinite entries (named by position), shapes that
        differ, or a cost that is not > 0.
    """
    q = np.array(quality, dtype=float)
    if q.ndim != 2 or q.shape[0] < 1 or q.shape[1] < 1:
        raise MatrixError(f"a quality matrix must be 2-D (data sets x models) and non-empty, got shape {q.shape}")
    bad = np.argwhere(~np.isfinite(q))
    if bad.size:
        i, j = bad[0]
        raise MatrixError(f"quality matrix has {len(bad)} NaN/inf entries, the first at data set {i}, model {j}")
    if cost is None:
        return q, None
    c = np.array(cost, dtype=float)
    if c.shape != q.shape:
        raise MatrixError(f"cost matrix shape {c.shape} differs from quality matrix shape {q.shape}")
    bad = np.argwhere(~np.isfinite(c))
    if bad.size:
        i, j = bad[0]
        raise MatrixError(f"cost matrix has {len(bad)} NaN/inf entries, the first at data set {i}, model {j}")
    bad = np.argwhere(c <= 0)
    if bad.size:
        i, j = bad[0]
        raise MatrixError(f"every cost must be > 0 seconds; {len(bad)} are not, the first is {c[i, j]!r} "
                          f"at data set {i}, model {j}")
    return q, c


def read_whitespace_matrix(path) -> np.ndarray:
    """A matrix written as whitespace-separated numbers (tabs and spaces mixed), one row a line.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    ndarray, shape (rows, columns)

    Raises
    ------
    repro.errors.DataError
        Unreadable file, a line that is not numbers (named by line number), no numbers at all,
        or rows of different lengths.
    """
    rows = []
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    for ln, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            raise DataError(f"{path}, line {ln}: not a row of numbers: {line.strip()[:60]!r}") from None
    if not rows:
        raise DataError(f"{path} holds no numbers")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise DataError(f"{path}: rows of different lengths {sorted(widths)}")
    return np.array(rows)


def distinct_rows(blocks: list[tuple[str, np.ndarray]], max_differing: int = 0,
                  tol: float = 1e-9) -> tuple[np.ndarray, list[str], list[list[str]]]:
    """Rows of the stacked blocks, each kept once.

    A row is a repeat of a kept row when they differ (by more than ``tol``) in at most
    ``max_differing`` columns: the same data set with one model re-run.

    Parameters
    ----------
    blocks : list of (str, ndarray)
        Named matrices with the same number of columns, in reading order.
    max_differing : int
        How many columns a repeat may differ in.
    tol : float
        Two entries differ when they are more than ``tol`` apart.

    Returns
    -------
    kept : ndarray
        The kept rows (the first of each group).
    first : list of str
        Where each kept row was first read, ``"name:row"`` (1-based).
    origins : list of list of str
        Per kept row, every place it was read.
    """
    kept: list[np.ndarray] = []
    first: list[str] = []
    origins: list[list[str]] = []
    for name, mat in blocks:
        for r, row in enumerate(mat):
            where = f"{name}:{r + 1}"
            hit = next((k for k, x in enumerate(kept) if np.sum(np.abs(x - row) > tol) <= max_differing), None)
            if hit is None:
                kept.append(row)
                first.append(where)
                origins.append([where])
            else:
                origins[hit].append(where)
    return np.array(kept), first, origins


def load_ds3lab(max_differing: int = 1) -> Matrices:
    """DS3Lab's 9-model accuracy matrix, each distinct data set once, with training times.

    Parameters
    ----------
    max_differing : int
        Rows that differ in at most this many of the 9 accuracies are one data set (the first
        one read is kept); 0 keeps every row that differs at all.

    Returns
    -------
    Matrices
        Data sets ``ds00``, ``ds01``, ...; ``notes`` record the files, the origins of every row
        and which data sets have their own measured times (``own_cost``).

    Raises
    ------
    repro.errors.DataError
        A missing or malformed file of the data set.
    """
    blocks = [(f, read_whitespace_matrix(registry.locate(DS3LAB, f))) for f in DS3LAB_QUALITY_FILES]
    for name, mat in blocks:
        if mat.shape[1] != len(DS3LAB_MODELS):
            raise DataError(f"{DS3LAB}/{name}: expected {len(DS3LAB_MODELS)} columns, found {mat.shape[1]}")
    quality, first, origins = distinct_rows(blocks, max_differing)
    pair_q = read_whitespace_matrix(registry.locate(DS3LAB, DS3LAB_COST_PAIR[0]))
    pair_c = read_whitespace_matrix(registry.locate(DS3LAB, DS3LAB_COST_PAIR[1]))
    pool = read_whitespace_matrix(registry.locate(DS3LAB, DS3LAB_COST_POOL))
    if pair_q.shape != pair_c.shape:
        raise DataError(f"{DS3LAB}: {DS3LAB_COST_PAIR[0]} {pair_q.shape} and {DS3LAB_COST_PAIR[1]} {pair_c.shape} differ")
    median_cost = np.median(pool, axis=0)
    cost = np.tile(median_cost, (len(quality), 1))
    own = np.zeros(len(quality), dtype=bool)
    for r, row in enumerate(pair_q):
        k = int(np.argmin(np.max(np.abs(quality - row), axis=1)))
        cost[k] = pair_c[r]
        own[k] = True
    names = [f"ds{i:02d}" for i in range(len(quality))]
    notes = {"files": list(DS3LAB_QUALITY_FILES), "rows read": int(sum(len(m) for _, m in blocks)),
             "origins": {n: o for n, o in zip(names, origins)}, "own_cost": own.tolist(),
             "cost_pool_rows": int(len(pool)), "max_differing": max_differing}
    return Matrices(quality, cost, names, list(DS3LAB_MODELS), DS3LAB, notes)


def load_oboe() -> Matrices:
    """OBOE's OpenML matrices: quality = 1 - balanced error, cost = training time (s).

    Returns
    -------
    Matrices
        Data sets ``openml<id>``, models named ``algorithm(hyperparameters)``.

    Raises
    ------
    repro.errors.DataError
        Missing or unreadable matrices, or two matrices that do not line up.
    """
    err_path = registry.locate(OBOE, "error_matrix.csv")
    run_path = registry.locate(OBOE, "runtime_matrix.csv")
    try:
        err = pd.read_csv(err_path, index_col=0)
        run = pd.read_csv(run_path, index_col=0)
    except (OSError, ValueError) as exc:
        raise DataError(f"{OBOE}: cannot read the matrices: {exc}") from None
    if err.shape != run.shape or not (err.index == run.index).all() or not (err.columns == run.columns).all():
        raise DataError(f"{OBOE}: error_matrix.csv {err.shape} and runtime_matrix.csv {run.shape} do not line up")
    models = [_oboe_model_name(c) for c in err.columns]
    datasets = [f"openml{int(i)}" for i in err.index]
    notes = {"columns in file": int(err.shape[1]), "rows in file": int(err.shape[0])}
    return Matrices(1.0 - err.to_numpy(float), run.to_numpy(float), datasets, models, OBOE, notes)


def _oboe_model_name(header: str) -> str:
    """``"{'algorithm': 'KNN', 'hyperparameters': {'n_neighbors': 5, ...}}"`` -> ``"KNN(n_neighbors=5, ...)"``."""
    import ast
    try:
        d = ast.literal_eval(header)
        hp = ", ".join(f"{k}={v}" for k, v in d.get("hyperparameters", {}).items())
        return f"{d['algorithm']}({hp})"
    except (ValueError, SyntaxError, KeyError, TypeError):
        return str(header)


def load(source: str, **kw) -> Matrices:
    """One source's matrices by its short name.

    Parameters
    ----------
    source : {"ds3lab", "oboe"}
    **kw
        Passed to :func:`load_ds3lab` or :func:`load_oboe`.

    Returns
    -------
    Matrices

    Raises
    ------
    MatrixError
        An unknown source.
    """
    if source == "ds3lab":
        return load_ds3lab(**kw)
    if source == "oboe":
        return load_oboe(**kw)
    raise MatrixError(f"unknown source {source!r}; choose 'ds3lab' or 'oboe'")


@dataclass(frozen=True)
class Split:
    """Which data sets are users and which are the prior, for one seed.

    Attributes
    ----------
    seed : int
    users, prior : ndarray of int
        Sorted row numbers; they never overlap.
    """

    seed: int
    users: np.ndarray
    prior: np.ndarray


def split(n_datasets: int, n_users: int, seed: int, n_prior: int | None = None) -> Split:
    """Draw ``n_users`` user data sets at random; the prior is (up to ``n_prior`` of) the rest.

    Users and prior never overlap, so the kernel never sees a user's qualities.

    Parameters
    ----------
    n_datasets : int
    n_users : int
        At least 1, leaving at least 2 prior data sets.
    seed : int
        Seed of :func:`numpy.random.default_rng`; one permutation decides both sets.
    n_prior : int, optional
        Keep only this many prior data sets (default: all the rest).

    Returns
    -------
    Split

    Raises
    ------
    MatrixError
        Too few users, or too few data sets left for the prior.
    """
    if n_users < 1:
        raise MatrixError(f"n_users must be >= 1, got {n_users}")
    rest = n_datasets - n_users
    if rest < 2:
        raise MatrixError(f"{n_datasets} data sets leave {rest} for the prior with {n_users} users; "
                          f"the kernel needs at least 2 prior data sets")
    if n_prior is not None and not 2 <= n_prior <= rest:
        raise MatrixError(f"n_prior must be in [2, {rest}] with {n_datasets} data sets and {n_users} users, got {n_prior}")
    perm = np.random.default_rng(seed).permutation(n_datasets)
    users = np.sort(perm[:n_users])
    prior = np.sort(perm[n_users:] if n_prior is None else perm[n_users:n_users + n_prior])
    return Split(seed, users, prior)

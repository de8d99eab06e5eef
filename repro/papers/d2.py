r"""The ``d2`` chain: D-PSGD against D² over label-skewed data (Tang, Lian, Yan, Zhang & Liu 2018,
arXiv:1803.07068).

The chain trains one model with three synchronous algorithms of :mod:`repro.sgd.algorithms`
— centralized minibatch SGD (``allreduce``), D-PSGD (``dpsgd``) and D² (``d2``) — on the
same partitions of MNIST, for several worker counts, several levels of skew
(:func:`repro.sgd.partition.parse_skew`) and several seeds, and compares their training loss
and held-out accuracy after the same number of epochs.

* :func:`setup` — what the notebooks share: the problem, the model, the skew levels, the
  named seeds, BLAS threads;
* :func:`mixing_matrices`, :func:`mixing_table` — the gossip matrices (D-PSGD gets the
  Metropolis–Hastings matrix W of the graph; D² gets :func:`~repro.sgd.topology.fix_for_d2`
  of it, i.e. W itself when :math:`\lambda_{\min}(W) > -1/3`, else :math:`(W + I)/2`);
* :func:`partition_for`, :func:`partition_table` — the shards of every (workers, skew, seed),
  their sizes and data variance ζ²;
* :func:`train_grid` — every (workers, skew, seed, algorithm) run, returned as two tidy
  tables: the curves (one row per record) and the final values (one row per run), with ζ²
  measured at the initial model and at centralized SGD's final model;
* :func:`summarize`, :func:`curve_bands`, :func:`zeta_points` — tables for the figures;
  :func:`excess_loss`, :func:`zeta_sensitivity`, :func:`claim_numbers` — the numbers the
  claims are made of; :func:`to_arrays` — a table as arrays for ``run.save_arrays``.

Seeds: seed ``s`` fixes the partition, the initial model and the minibatch order; within a
seed the three algorithms see the same partition, the same initial model and the same
minibatches (common random numbers), so their differences are the algorithms'.

Example
-------
>>> from repro import params
>>> from repro.papers import d2
>>> S = d2.setup(params.load("d2", "smoke"))
>>> S.seeds.runs, S.skews
([0, 1], ['iid', 'labels:2', 'sorted'])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from ..sgd import algorithms, models, partition, topology
from ..sgd.problem import Problem, mnist_problem

__all__ = [
    "ALGORITHMS", "ALGORITHM_LABELS", "Seeds", "Setup", "setup", "build_model", "Mixing", "mixing_matrices",
    "mixing_table", "partition_for", "partition_table", "train_grid", "to_arrays", "summarize", "curve_bands",
    "excess_loss", "zeta_points", "zeta_sensitivity", "claim_numbers",
]

ALGORITHMS = ("allreduce", "dpsgd", "d2")
ALGORITHM_LABELS = {"allreduce": "centralized SGD (AllReduce)", "dpsgd": "D-PSGD", "d2": "D²"}


# ------------------------------------------------------------------------------ the set-up
@dataclass(frozen=True)
class Seeds:
    """The chain's seeds, each named after what it fixes.

    Attributes
    ----------
    data : int
        The MNIST subsample and the held-out split (``seed``).
    partitions : int
        The partitions shown in ``01_data`` (``seed``: the first training seed's).
    runs : list of int
        One per repeat of every (workers, skew): partition, initial model and minibatches
        (``seed, seed + 1, ..., seed + n_seeds - 1``).
    """

    data: int
    partitions: int
    runs: list


@dataclass
class Setup:
    """What the notebooks of the ``d2`` chain share (see :func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
    skews : list of str
        The checked skew levels.
    seeds : Seeds
    threads : int
        BLAS threads in use.
    problem : repro.sgd.problem.Problem
        MNIST, split and standardized (loaded on first use).
    model : repro.sgd.models.LogisticRegression or MLP
    """

    params: Any
    skews: list
    seeds: Seeds
    threads: int

    @cached_property
    def problem(self) -> Problem:
        """The MNIST problem (loaded on first use)."""
        P = self.params
        return mnist_problem(P.n_samples, P.test_fraction, self.seeds.data)

    @cached_property
    def model(self):
        """The model of the chain on :attr:`problem`'s features."""
        P = self.params
        return build_model(P.model, self.problem.n_features, self.problem.n_classes, P.n_hidden, P.l2)


def setup(params, run=None) -> Setup:
    """Read the chain's parameters once: skew levels, seeds, BLAS threads.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The notebook's run (unused; accepted so that every chain's ``setup`` reads alike).

    Returns
    -------
    Setup

    Raises
    ------
    ValueError
        A skew level is malformed or repeated, or ``iid`` / ``claim_skew`` is not among them.
    """
    from threadpoolctl import threadpool_limits

    P = params
    skews = partition.check_skews(P.skews, P.claim_skew, need_iid=True)
    threadpool_limits(limits=int(P.threads), user_api="blas")
    # today's values, written once: data and partitions from `seed`, runs seed ... seed + n_seeds - 1
    seeds = Seeds(data=P.seed, partitions=P.seed, runs=list(range(P.seed, P.seed + P.n_seeds)))
    return Setup(params=P, skews=skews, seeds=seeds, threads=int(P.threads))


def build_model(name: str, n_features: int, n_classes: int, n_hidden: int = 32, l2: float = 1e-4):
    """The chain's model.

    Parameters
    ----------
    name : {"logistic", "mlp"}
        Softmax regression, or one hidden ReLU layer of ``n_hidden`` units.
    n_features, n_classes, n_hidden : int
    l2 : float

    Returns
    -------
    repro.sgd.models.LogisticRegression or repro.sgd.models.MLP

    Raises
    ------
    ValueError
        Unknown model name.
    """
    kw = {"n_hidden": n_hidden} if name == "mlp" else {}
    return models.make_model(name, n_features, n_classes, l2=l2, **kw)


# ------------------------------------------------------------------------------ mixing
@dataclass
class Mixing:
    """The gossip matrices of one topology: ``W`` for D-PSGD, ``W_d2`` for D²."""

    topology: str
    n_workers: int
    W: np.ndarray
    W_d2: np.ndarray
    message: str

    def for_algorithm(self, name: str):
        """The matrix an algorithm uses (None for AllReduce)."""
        return {"allreduce": None, "dpsgd": self.W, "d2": self.W_d2}[name]


def mixing_matrices(topology_name: str, n_workers: int) -> Mixing:
    """Metropolis–Hastings weights on a named graph, and D²'s version of them.

    D-PSGD uses W itself (the faster-mixing choice: it has no eigenvalue condition); D²
    needs :math:`\\lambda_{\\min}(W) > -1/3` and gets :func:`~repro.sgd.topology.fix_for_d2`
    of W. A ring of an even number of workers has :math:`\\lambda_{\\min}(W) = -1/3`
    exactly and so is replaced by :math:`(W + I)/2`, which halves its spectral gap: D² then
    gossips more slowly than D-PSGD, a handicap we keep rather than slow D-PSGD down too.

    Raises
    ------
    ValueError
        Unknown topology or ``n_workers < 2``.
    """
    if topology_name not in ("ring", "torus", "complete"):
        raise ValueError(f"unknown topology {topology_name!r} for the d2 chain; choose 'ring', 'torus' or 'complete'")
    if not isinstance(n_workers, Integral) or isinstance(n_workers, bool) or n_workers < 2:
        raise ValueError(f"n_workers must be an integer >= 2 for decentralized training, got {n_workers!r}")
    W = topology.mixing_matrix(topology.graph(topology_name, int(n_workers)))
    W_d2, msg = topology.fix_for_d2(W)
    return Mixing(topology_name, int(n_workers), W, W_d2, msg)


def mixing_table(topology_name: str, n_workers_list) -> pd.DataFrame:
    """Spectral summary of W (D-PSGD) and D²'s matrix for every worker count: one row per
    (n_workers, matrix) with ``lambda_min``, ``lambda_2``, ``spectral_gap``, ``d2_ok``."""
    rows = []
    for n in n_workers_list:
        mx = mixing_matrices(topology_name, n)
        for which, W in (("W (D-PSGD)", mx.W), ("W for D²", mx.W_d2)):
            info = topology.check_mixing(W)
            rows.append({"n_workers": n, "matrix": which, "lambda_min": info.lambda_min, "lambda_2": info.lambda_2,
                         "spectral_gap": info.spectral_gap, "d2_ok": info.d2_ok,
                         "fixed": bool(which.startswith("W for") and not np.array_equal(mx.W, mx.W_d2))})
    return pd.DataFrame(rows)


def _partition_rng(seed: int, n_workers: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(n_workers)])


def partition_for(problem: Problem, n_workers: int, skew: str, seed: int, min_size: int = 1) -> list[np.ndarray]:
    """The shards :func:`train_grid` trains on for this (n_workers, skew, seed)."""
    ok, why = partition.feasible(skew, n_workers, problem.n_classes)
    if not ok:
        raise ValueError(f"skew {skew!r} is not possible with {n_workers} workers: {why}")
    return partition.make_partition(problem.train_labels, n_workers, skew, _partition_rng(seed, n_workers), min_size)


def partition_table(problem: Problem, model, n_workers_list, skews, seed: int, min_size: int = 1) -> pd.DataFrame:
    """What every partition looks like, for seed ``seed``.

    One row per (n_workers, skew): ``feasible`` (and ``reason`` when not), the smallest and
    largest shard, the mean number of classes a worker holds, and ζ² at the model's initial
    parameters (:func:`repro.sgd.partition.data_variance`). The partitions are the ones
    :func:`train_grid` trains on with the same seed.
    """
    partition.check_skews(skews)
    x0 = model.init(int(seed))
    rows = []
    for n in n_workers_list:
        for spec in skews:
            ok, why = partition.feasible(spec, n, problem.n_classes)
            row = {"n_workers": n, "skew": spec, "label": partition.skew_label(spec), "feasible": ok, "reason": why}
            if ok:
                shards = partition_for(problem, n, spec, seed, min_size)
                counts = partition.class_counts(problem.train_labels, shards, problem.n_classes)
                sizes = counts.sum(axis=1)
                row.update(min_shard=int(sizes.min()), max_shard=int(sizes.max()),
                           classes_per_worker=float((counts > 0).sum(axis=1).mean()),
                           zeta2_init=partition.data_variance(model, x0, problem.train_features,
                                                              problem.train_labels, shards))
            rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ training
def _check_positive(v, name, integer=True):
    kind = Integral if integer else Real
    if not isinstance(v, kind) or isinstance(v, bool) or not v > 0:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {v!r}")


def train_grid(problem: Problem, model, n_workers_list, skews, seeds, *, epochs: float, batch_size: int,
               lr: float, topology_name: str = "ring", evals_per_epoch: float = 1.0,
               algorithms_list=ALGORITHMS, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every algorithm on every feasible (n_workers, skew) for every seed.

    Parameters
    ----------
    problem : Problem
    model : a :mod:`repro.sgd.models` model
    n_workers_list : list of int (each >= 2)
    skews : list of str (see :func:`~repro.sgd.partition.parse_skew`); infeasible (n_workers, skew) pairs are
        skipped (:func:`~repro.sgd.partition.feasible`; :func:`partition_table` lists them)
    seeds : list of int
    epochs : float
        Passes over the training set; ``ceil(epochs * N / (n_workers * batch_size))`` steps.
    batch_size : int
        Samples per worker per step.
    lr : float
        Constant step size γ, the same for every algorithm (as in the paper).
    topology_name : {"ring", "torus", "complete"}
    evals_per_epoch : float
        Records per epoch (training loss on the whole training objective and held-out
        accuracy of the averaged model); 0.5 records every second epoch. The first and the
        last step are always recorded.
    algorithms_list : subset of :data:`ALGORITHMS`
        Must contain ``"allreduce"`` when ζ² at the centralized solution is wanted (it is
        NaN otherwise).
    progress : bool
        A tqdm bar over runs.

    Returns
    -------
    curves : DataFrame
        One row per record: ``n_workers, skew, algorithm, seed, step, epoch, train_loss,
        train_acc, test_loss, test_acc, consensus``.
    finals : DataFrame
        One row per run: the last record's values, ``diverged``, ``n_steps``, ``zeta2_init``
        (ζ² at the initial model) and ``zeta2_ref`` (ζ² at centralized SGD's final model of
        the same partition and seed, a stand-in for the optimum :math:`x^*`).
    """
    from tqdm import tqdm

    partition.check_skews(skews)
    for a in algorithms_list:
        if a not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {a!r} for the d2 chain; choose from {', '.join(ALGORITHMS)}")
    _check_positive(batch_size, "batch_size")
    _check_positive(evals_per_epoch, "evals_per_epoch", integer=False)
    _check_positive(epochs, "epochs", integer=False)
    _check_positive(lr, "lr", integer=False)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    order = sorted(algorithms_list, key=lambda a: a != "allreduce")  # AllReduce first: its model is zeta2's reference
    F, y = problem.train_features, problem.train_labels
    jobs = [(n, spec, s) for n in n_workers_list for spec in skews for s in seeds
            if partition.feasible(spec, n, problem.n_classes)[0]]
    mixes = {n: mixing_matrices(topology_name, n) for n in n_workers_list}
    curves, finals = [], []
    bar = tqdm(total=len(jobs) * len(order), disable=not progress, desc="runs")
    for n, spec, s in jobs:
        shards = partition_for(problem, n, spec, s, min_size=batch_size)
        steps_per_epoch = problem.n_train / (n * batch_size)
        n_steps = max(1, math.ceil(epochs * steps_per_epoch))
        every = max(1, round(steps_per_epoch / evals_per_epoch))
        zeta_init = partition.data_variance(model, model.init(s), F, y, shards)
        zeta_ref = float("nan")
        for a in order:
            h = algorithms.simulate(a, model, F, y, shards, n_steps=n_steps, batch_size=batch_size, lr=lr, seed=s,
                                    W=mixes[n].for_algorithm(a), eval_every=every,
                                    eval_sets={"test": (problem.test_features, problem.test_labels)},
                                    keep_final=(a == "allreduce"))
            if a == "allreduce" and not h.diverged:
                zeta_ref = partition.data_variance(model, h.final_X[0], F, y, shards)
            key = {"n_workers": n, "skew": spec, "algorithm": a, "seed": s}
            rec = pd.DataFrame({"step": h.steps, "epoch": h.epochs, **h.metrics})
            curves.append(rec.assign(**key))
            last = {k: float(v[-1]) for k, v in h.metrics.items()}
            finals.append({**key, **last, "epoch": float(h.epochs[-1]), "n_steps": n_steps,
                           "diverged": bool(h.diverged)})
            bar.update()
        for row in finals[-len(order):]:
            row.update(zeta2_init=zeta_init, zeta2_ref=zeta_ref)
    bar.close()
    head = ["n_workers", "skew", "algorithm", "seed"]
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=head)
    curves_df = curves_df[head + [c for c in curves_df.columns if c not in head]]
    return curves_df, pd.DataFrame(finals)


def to_arrays(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Columns of a table as plain numpy arrays (text columns as fixed-width strings), to
    save with ``numpy.savez`` and read back without pickle: ``pd.DataFrame(arrays)``."""
    numeric = pd.api.types.is_numeric_dtype
    return {c: (table[c].to_numpy() if numeric(table[c]) else np.array(table[c].astype(str).tolist(), dtype=str))
            for c in table.columns}


# --------------------------------------------------------------------------- the numbers
def summarize(finals: pd.DataFrame, metrics=("train_loss", "test_acc")) -> pd.DataFrame:
    """Mean, standard deviation, min and max over seeds of ``metrics`` for every
    (n_workers, skew, algorithm), with the seed-mean ζ² columns."""
    g = finals.groupby(["n_workers", "skew", "algorithm"], sort=False)
    out = g[list(metrics)].agg(["mean", "std", "min", "max"])
    out.columns = [f"{m}_{stat}" for m, stat in out.columns]
    out["n_seeds"] = g.size()
    for z in ("zeta2_init", "zeta2_ref"):
        if z in finals:
            out[z] = g[z].mean()
    return out.reset_index()


def curve_bands(curves: pd.DataFrame, metric: str = "train_loss") -> pd.DataFrame:
    """Mean, min and max of ``metric`` over seeds at every record of every
    (n_workers, skew, algorithm): columns ``n_workers, skew, algorithm, epoch, mean, min, max``.
    Records line up across seeds (same steps for the same worker count and data)."""
    if metric not in curves:
        raise ValueError(f"unknown metric {metric!r}; the curves have {', '.join(map(str, curves.columns))}")
    g = curves.groupby(["n_workers", "skew", "algorithm", "step"], sort=False)
    out = g[metric].agg(["mean", "min", "max"])
    out["epoch"] = g["epoch"].mean()
    return out.reset_index()


def zeta_points(finals: pd.DataFrame, zeta: str = "zeta2_ref") -> pd.DataFrame:
    """One point per (n_workers, skew, algorithm) for the final-loss-against-ζ² figure:
    seed-mean ``zeta2`` and, over seeds, mean / min / max of the final training loss and of
    the excess loss over centralized SGD (:func:`excess_loss`)."""
    ex = excess_loss(finals)
    g = ex.groupby(["n_workers", "skew", "algorithm"], sort=False)
    out = g[["train_loss", "excess_loss"]].agg(["mean", "min", "max"])
    out.columns = [f"{m}_{stat}" for m, stat in out.columns]
    out["zeta2"] = g[zeta].mean()
    return out.reset_index()


def _paired(finals: pd.DataFrame, n_workers: int, skew: str, metric: str) -> pd.DataFrame:
    """``metric`` per seed, one column per algorithm, for one (n_workers, skew)."""
    sel = finals[(finals["n_workers"] == n_workers) & (finals["skew"] == skew)]
    if sel.empty:
        raise ValueError(f"no runs with n_workers={n_workers} and skew={skew!r} (was it in the grid, and feasible?)")
    wide = sel.pivot(index="seed", columns="algorithm", values=metric)
    missing = [a for a in ALGORITHMS if a not in wide]
    if missing:
        raise ValueError(f"runs of {', '.join(missing)} are missing for n_workers={n_workers}, skew={skew!r}")
    return wide


def excess_loss(finals: pd.DataFrame) -> pd.DataFrame:
    """``finals`` with ``excess_loss``: final training loss minus centralized SGD's on the
    same (n_workers, skew, seed) — what decentralization costs on that partition's own
    objective :math:`\\frac1n\\sum_i f_i` (which changes with the partition)."""
    key = ["n_workers", "skew", "seed"]
    ref = finals[finals["algorithm"] == "allreduce"].set_index(key)["train_loss"].rename("ref_loss")
    out = finals.join(ref, on=key)
    return out.assign(excess_loss=out.train_loss - out.ref_loss).drop(columns="ref_loss")


def zeta_sensitivity(finals: pd.DataFrame, n_workers: int, zeta: str = "zeta2_ref") -> pd.DataFrame:
    """How the final training loss moves with the measured data variance ζ², per algorithm.

    For one worker count, every skew level gives one point: x = seed-mean ζ² (``zeta``
    column), y = seed-mean excess loss over centralized SGD (:func:`excess_loss`). Returns
    one row per algorithm with the least-squares ``slope`` (loss per unit of ζ²), the
    ``range`` (max − min) of the points, ``n_points``, and the same two for the raw final
    loss (``slope_loss``, ``range_loss``).

    Raises
    ------
    ValueError
        With fewer than two skew levels, or when ζ² is not finite.
    """
    sel = excess_loss(finals[finals["n_workers"] == n_workers])
    if sel.empty:
        raise ValueError(f"no runs with n_workers={n_workers}")
    pts = sel.groupby(["algorithm", "skew"])[[zeta, "excess_loss", "train_loss"]].mean().reset_index()
    rows = []
    for a, g in pts.groupby("algorithm", sort=False):
        x = g[zeta].to_numpy(float)
        if len(x) < 2:
            raise ValueError(f"need at least two skew levels for n_workers={n_workers} to measure a slope, "
                             f"got {len(x)}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{zeta} is not finite for n_workers={n_workers} (did centralized SGD run and converge?)")
        e, l = g.excess_loss.to_numpy(float), g.train_loss.to_numpy(float)
        rows.append({"algorithm": a, "slope": float(np.polyfit(x, e, 1)[0]), "range": float(e.max() - e.min()),
                     "slope_loss": float(np.polyfit(x, l, 1)[0]), "range_loss": float(l.max() - l.min()),
                     "n_points": len(x), "zeta2_min": float(x.min()), "zeta2_max": float(x.max())})
    return pd.DataFrame(rows)


def _stats(v) -> dict:
    v = np.asarray(v, dtype=float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def claim_numbers(finals: pd.DataFrame, n_workers: int, skew: str, iid: str = "iid") -> dict:
    """The numbers behind the chain's claims for one worker count.

    On ``skew`` (paired by seed):

    * ``loss_reduction`` — :math:`1 - L_{D^2}/L_{D\\text{-}PSGD}` of the final training loss;
    * ``acc_gain`` — held-out accuracy of D² minus D-PSGD's;
    * ``d2_vs_allreduce`` — :math:`|L_{D^2} - L_{AR}|/L_{AR}`;

    on ``iid``: ``iid_loss_diff`` = :math:`|L_{D^2} - L_{D\\text{-}PSGD}|/L_{D\\text{-}PSGD}`
    and ``iid_acc_diff`` = :math:`|a_{D^2} - a_{D\\text{-}PSGD}|`; and ``zeta_ratio`` =
    :math:`|s_{D^2}|/|s_{D\\text{-}PSGD}|`, the ratio of the slopes of excess loss against ζ²
    (:func:`zeta_sensitivity`). Each (but ``zeta_ratio``) is a dict of mean / min / max / n
    over seeds; ``losses`` and ``accs`` hold the seed means of every algorithm on ``skew``.
    A diverged run counts with its last (non-finite) values, so it makes the numbers NaN.
    """
    loss = _paired(finals, n_workers, skew, "train_loss")
    acc = _paired(finals, n_workers, skew, "test_acc")
    out = {
        "n_workers": int(n_workers), "skew": skew, "seeds": [int(s) for s in loss.index],
        "loss_reduction": _stats(1.0 - loss.d2 / loss.dpsgd),
        "acc_gain": _stats(acc.d2 - acc.dpsgd),
        "d2_vs_allreduce": _stats((loss.d2 - loss.allreduce).abs() / loss.allreduce),
        "losses": {a: float(loss[a].mean()) for a in ALGORITHMS},
        "accs": {a: float(acc[a].mean()) for a in ALGORITHMS},
    }
    if iid is not None:
        li = _paired(finals, n_workers, iid, "train_loss")
        ai = _paired(finals, n_workers, iid, "test_acc")
        out["iid_loss_diff"] = _stats((li.d2 - li.dpsgd).abs() / li.dpsgd)
        out["iid_acc_diff"] = _stats((ai.d2 - ai.dpsgd).abs())
    z = zeta_sensitivity(finals, n_workers).set_index("algorithm")
    out["zeta_slopes"] = {a: float(z.loc[a, "slope"]) for a in z.index}
    out["zeta_ranges"] = {a: float(z.loc[a, "range"]) for a in z.index}
    sd = abs(out["zeta_slopes"]["dpsgd"])
    out["zeta_ratio"] = float(abs(out["zeta_slopes"]["d2"]) / sd) if sd > 0 else float("nan")
    return out

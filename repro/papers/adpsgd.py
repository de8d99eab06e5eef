r"""The ``adpsgd`` chain: AD-PSGD against AllReduce-SGD and synchronous D-PSGD in simulated
wall-clock time (Lian, Zhang, Zhang & Liu 2018, arXiv:1710.06952).

Everything but ``05_processes`` runs on the event-driven simulator :mod:`repro.sgd.asynchronous`:

* :func:`setup` — what the notebooks share: MNIST and the model, the networks, compute models
  and graphs, the named seeds, BLAS threads (:func:`check_settings` first);
* :func:`networks` and :func:`compute_models` — the settings, built from the chain's
  parameters: a fast and a slow (shared) network, and homogeneous workers, one ``k`` times
  slower straggler, or random transient slow-downs;
* :func:`run_grid` — every (network, compute model, algorithm, seed) run, as two tidy tables
  (the curves: loss against epoch and simulated time; the finals: time per epoch,
  staleness, gradients per worker);
* :func:`epoch_gap` — how far AD-PSGD's loss-per-epoch curve is from AllReduce-SGD's;
* :func:`time_ratios`, :func:`straggler_growth` — time per epoch of the synchronous
  algorithms over AD-PSGD's;
* :func:`speedup_runs`, :func:`speedup_table`, :func:`scaling_slope` — time to a target loss
  against the number of workers, relative to sequential SGD.

Seeds: within a seed every algorithm starts from the same model and every worker draws the
same minibatch stream (:class:`~repro.sgd.asynchronous.WorkerSampler`); only the order in
which AD-PSGD applies them depends on the timing.

Example
-------
>>> from repro import params
>>> from repro.papers import adpsgd
>>> S = adpsgd.setup(params.load("adpsgd", "smoke"))
>>> S.seeds.runs, sorted(S.nets), S.graphs
([0], ['fast', 'slow'], {'dpsgd': 'ring', 'adpsgd': 'bipartite'})
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from ..sgd import asynchronous, models, network as network_mod, partition
from ..sgd.problem import Problem, mnist_problem
from .d2 import to_arrays

__all__ = ["ALGORITHMS", "ALGORITHM_LABELS", "COLORS", "Seeds", "Setup", "setup", "check_settings", "networks",
           "compute_models", "shards_for", "run_grid", "epoch_gap", "time_ratios", "straggler_growth",
           "speedup_runs", "speedup_table", "scaling_slope", "to_arrays"]

ALGORITHMS = ("allreduce", "dpsgd", "adpsgd")
ALGORITHM_LABELS = {"allreduce": "AllReduce-SGD", "dpsgd": "D-PSGD (synchronous)", "adpsgd": "AD-PSGD",
                    "sgd": "sequential SGD"}


COLORS = {"allreduce": "k", "dpsgd": "C3", "adpsgd": "C0", "sgd": "grey"}


# ------------------------------------------------------------------------------ the set-up
@dataclass(frozen=True)
class Seeds:
    """The chain's seeds, each named after what it fixes (today all derive from ``seed``).

    Attributes
    ----------
    data : int
        The MNIST subsample and the held-out split (``seed``).
    shards : int
        The partition shown in ``01_data`` (``seed``: the first run's).
    compute_draws : int
        The compute-time draws of the histogram in ``01_data`` (``seed``).
    runs : list of int
        One per repeat: partition, initial model, minibatches, compute times
        (``seed, ..., seed + n_seeds - 1``).
    figure : int
        The run whose curves ``04_speedup`` draws (``seed``).
    processes : int
        The MPI runs of ``05_processes`` (``seed``).
    """

    data: int
    shards: int
    compute_draws: int
    runs: list
    figure: int
    processes: int


@dataclass
class Setup:
    """What the notebooks of the ``adpsgd`` chain share (see :func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
    seeds : Seeds
    threads : int
        BLAS threads in use.
    nets : dict
        ``{"fast", "slow"}`` networks (:func:`networks`).
    computes : dict
        ``{"homogeneous", "straggler", "random"}`` compute models (:func:`compute_models`).
    graphs : dict
        Graph name of each decentralized algorithm.
    problem : repro.sgd.problem.Problem
        MNIST, split and standardized (loaded on first use).
    model : repro.sgd.models.LogisticRegression
    """

    params: Any
    seeds: Seeds
    threads: int
    nets: dict
    computes: dict
    graphs: dict

    @cached_property
    def problem(self) -> Problem:
        """The MNIST problem (loaded on first use)."""
        P = self.params
        return mnist_problem(P.n_samples, P.test_fraction, self.seeds.data)

    @cached_property
    def model(self) -> models.LogisticRegression:
        """Softmax regression on :attr:`problem`'s pixels."""
        return models.LogisticRegression(self.problem.n_features, self.problem.n_classes, l2=self.params.l2)

    def mpi_config(self, algo: str, slow: bool):
        """The :class:`repro.sgd.mpi.Config` of one run of ``05_processes``.

        Parameters
        ----------
        algo : {"allreduce", "dpsgd", "adpsgd"}
        slow : bool
            Whether rank 1 sleeps ``mpi_slow_sleep_s`` per gradient.

        Returns
        -------
        repro.sgd.mpi.Config
            The smoke-sized problem (2,000 images, minibatches of 16) on a ring.
        """
        from ..sgd import mpi

        P = self.params
        return mpi.Config(algo=algo, steps=P.mpi_steps, batch_size=16, lr=P.lr, seed=self.seeds.processes,
                          n_samples=2000, graph="ring", l2=P.l2, slow_rank=1 if slow else -1,
                          slow_sleep_s=P.mpi_slow_sleep_s if slow else 0.0, comm_timeout_s=60.0)


def setup(params, run=None) -> Setup:
    """Check the chain's settings and read its parameters once.

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
    repro.errors.ParameterError
        The settings cannot run (see :func:`check_settings`).
    """
    from threadpoolctl import threadpool_limits

    P = params
    check_settings(P.n_workers, P.speedup_workers, P.adpsgd_graph, P.dpsgd_graph, P.target_epochs, P.speedup_epochs)
    threadpool_limits(limits=int(P.threads), user_api="blas")
    # today's values, written once: everything from `seed`; repeats seed ... seed + n_seeds - 1
    seeds = Seeds(data=P.seed, shards=P.seed, compute_draws=P.seed, runs=list(range(P.seed, P.seed + P.n_seeds)),
                  figure=P.seed, processes=P.seed)
    return Setup(params=P, seeds=seeds, threads=int(P.threads),
                 nets=networks(P.fast_latency_s, P.fast_bandwidth_bps, P.slow_latency_s, P.slow_bandwidth_bps),
                 computes=compute_models(P.compute_s, P.jitter, P.straggler_factor, P.slowdown_prob,
                                         P.slowdown_factor),
                 graphs={"dpsgd": P.dpsgd_graph, "adpsgd": P.adpsgd_graph})


def check_settings(n_workers: int, speedup_workers, adpsgd_graph: str, dpsgd_graph: str, target_epochs: float,
                   speedup_epochs: float) -> None:
    """Fail early, naming the parameter, when the chain's settings cannot run: AD-PSGD's
    graph must be bipartite for ``n_workers`` and every count in ``speedup_workers``, D-PSGD's
    graph must exist, and ``target_epochs <= speedup_epochs``.

    Raises
    ------
    repro.errors.ParameterError
    """
    from ..errors import ParameterError

    for name, counts in (("n_workers", [n_workers]), ("speedup_workers", list(speedup_workers))):
        for n in counts:
            try:
                asynchronous.bipartite_split(asynchronous.graph(adpsgd_graph, int(n)))
            except (asynchronous.AsyncSimError, ValueError) as exc:
                raise ParameterError(f"{name}={n} does not work with adpsgd_graph={adpsgd_graph!r}: {exc} "
                                     f"(use an even number of workers)") from None
    try:
        asynchronous.graph(dpsgd_graph, int(n_workers))
    except (asynchronous.AsyncSimError, ValueError) as exc:
        raise ParameterError(f"dpsgd_graph={dpsgd_graph!r} with n_workers={n_workers}: {exc}") from None
    if target_epochs > speedup_epochs:
        raise ParameterError(f"target_epochs={target_epochs:g} must not exceed speedup_epochs={speedup_epochs:g}")


def networks(fast_latency_s: float, fast_bandwidth_bps: float, slow_latency_s: float,
             slow_bandwidth_bps: float) -> dict:
    """``{"fast": Network, "slow": Network}`` from latencies (s) and bandwidths (bit/s)."""
    return {"fast": network_mod.Network(float(fast_latency_s), float(fast_bandwidth_bps)),
            "slow": network_mod.Network(float(slow_latency_s), float(slow_bandwidth_bps))}


def compute_models(compute_s: float, jitter: float, straggler_factor: float, slowdown_prob: float,
                   slowdown_factor: float, straggler: int = 0) -> dict:
    """``{"homogeneous", "straggler", "random"}`` compute-time models
    (:mod:`repro.sgd.asynchronous`): equal workers; worker ``straggler`` ``straggler_factor``
    times slower; every computation ``slowdown_factor`` times slower with probability
    ``slowdown_prob``."""
    return {"homogeneous": asynchronous.homogeneous(compute_s, jitter),
            "straggler": asynchronous.stragglers(compute_s, straggler_factor, (straggler,), jitter),
            "random": asynchronous.random_slowdowns(compute_s, slowdown_prob, slowdown_factor, jitter)}


def shards_for(problem, n_workers: int, seed: int) -> list[np.ndarray]:
    """The iid partition of the training images over ``n_workers`` for ``seed``."""
    return partition.partition_iid(problem.n_train, n_workers, np.random.default_rng([int(seed), int(n_workers)]))


def _pos(v, name, integer=False):
    kind = Integral if integer else Real
    if not isinstance(v, kind) or isinstance(v, bool) or not v > 0:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {v!r}")


def run_grid(problem, model, *, n_workers: int, nets: dict, computes: dict, seeds, epochs: float, batch_size: int,
             lr: float, graphs: dict, evals_per_epoch: float = 4.0, algorithms_list=ALGORITHMS,
             progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every (network, compute model, algorithm, seed) run with ``n_workers`` workers.

    Parameters
    ----------
    problem : repro.sgd.problem.Problem
    model : a :mod:`repro.sgd.models` model
    nets : dict name -> Network (see :func:`networks`)
    computes : dict name -> ComputeTimes (see :func:`compute_models`)
    seeds : list of int
    epochs, batch_size, lr : the same for every algorithm (constant step size)
    graphs : dict algorithm -> graph name (:data:`repro.sgd.asynchronous.GRAPHS`)
    evals_per_epoch : float

    Returns
    -------
    curves : DataFrame, one row per record: ``network, compute, algorithm, seed, epoch, time,
        train_loss, train_acc, test_loss, test_acc, consensus``
    finals : DataFrame, one row per run: the last record, ``time_per_epoch``,
        ``staleness_mean``, ``staleness_max``, ``local_staleness_mean``,
        ``grads_min``/``grads_max`` (gradients per worker), ``diverged``
    """
    from tqdm import tqdm

    _pos(n_workers, "n_workers", integer=True)
    _pos(epochs, "epochs")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    for a in algorithms_list:
        if a not in asynchronous.ALGORITHMS:
            raise ValueError(f"unknown algorithm {a!r}; choose from {', '.join(asynchronous.ALGORITHMS)}")
        if a != "allreduce" and a not in graphs:
            raise ValueError(f"no graph given for algorithm {a!r}")
    adj = {a: asynchronous.graph(graphs[a], n_workers) for a in algorithms_list if a != "allreduce"}
    curves, finals = [], []
    jobs = [(nn, cn, a, s) for nn in nets for cn in computes for s in seeds for a in algorithms_list]
    shards = {s: shards_for(problem, n_workers, s) for s in seeds}
    for nn, cn, a, s in tqdm(jobs, disable=not progress, desc="runs"):
        h = asynchronous.simulate(a, model, problem.train_features, problem.train_labels, shards[s],
                                  adjacency=adj.get(a), epochs=epochs, batch_size=batch_size, lr=lr, seed=s,
                                  compute=computes[cn], network=nets[nn], evals_per_epoch=evals_per_epoch,
                                  eval_sets={"test": (problem.test_features, problem.test_labels)}, keep_final=False)
        key = {"network": nn, "compute": cn, "algorithm": a, "seed": s}
        curves.append(pd.DataFrame({"epoch": h.epochs, "time": h.times, **h.metrics}).assign(**key))
        st = h.staleness_summary()
        finals.append({**key, **{k: float(v[-1]) for k, v in h.metrics.items()}, "epoch": float(h.epochs[-1]),
                       "time": float(h.times[-1]), "time_per_epoch": h.time_per_epoch,
                       "staleness_mean": st["mean"], "staleness_p99": st["p99"], "staleness_max": st["max"],
                       "local_staleness_mean": st["local_mean"], "grads_min": int(h.grads_per_worker.min()),
                       "grads_max": int(h.grads_per_worker.max()), "diverged": bool(h.diverged)})
    head = ["network", "compute", "algorithm", "seed"]
    c = pd.concat(curves, ignore_index=True)
    return c[head + [k for k in c.columns if k not in head]], pd.DataFrame(finals)


# ----------------------------------------------------------------------------- the numbers
def epoch_gap(curves: pd.DataFrame, *, algorithm: str = "adpsgd", reference: str = "allreduce",
              min_epoch: float = 1.0) -> pd.DataFrame:
    """Largest relative distance between two loss-per-epoch curves, per run setting.

    For every (network, compute, seed): :math:`\\max_e |L_a(e) - L_r(e)| / L_r(e)` over the
    reference's record epochs ``e >= min_epoch`` (``algorithm``'s curve interpolated
    linearly there). Returns one row per (network, compute, seed) with ``gap`` and the
    epoch where it is largest.
    """
    rows = []
    for (nn, cn, s), g in curves.groupby(["network", "compute", "seed"], sort=False):
        ref = g[g.algorithm == reference]
        alg = g[g.algorithm == algorithm]
        if ref.empty or alg.empty:
            raise ValueError(f"runs of {reference!r} and {algorithm!r} are both needed (network {nn}, compute {cn}, seed {s})")
        ref = ref[ref.epoch >= min_epoch]
        ref = ref[ref.epoch <= alg.epoch.max() + 1e-12]
        la = np.interp(ref.epoch, alg.epoch, alg.train_loss)
        rel = np.abs(la - ref.train_loss.to_numpy()) / ref.train_loss.to_numpy()
        k = int(np.argmax(rel))
        rows.append({"network": nn, "compute": cn, "seed": s, "gap": float(rel[k]),
                     "at_epoch": float(ref.epoch.iloc[k]), "final_gap": float(rel[-1])})
    return pd.DataFrame(rows)


def time_ratios(finals: pd.DataFrame, reference: str = "adpsgd") -> pd.DataFrame:
    """Seed-mean time per epoch of every algorithm, and its ratio to ``reference``'s, per
    (network, compute): columns ``network, compute, algorithm, time_per_epoch, ratio``
    (ratio > 1: slower than ``reference``)."""
    tpe = finals.groupby(["network", "compute", "algorithm"], sort=False)["time_per_epoch"].mean().reset_index()
    ref = tpe[tpe.algorithm == reference].set_index(["network", "compute"])["time_per_epoch"]
    if ref.empty:
        raise ValueError(f"no runs of {reference!r}")
    tpe["ratio"] = tpe.time_per_epoch / tpe.set_index(["network", "compute"]).index.map(ref).to_numpy()
    return tpe


def straggler_growth(finals: pd.DataFrame, network: str, slow: str = "straggler", base: str = "homogeneous",
                     baseline: str = "allreduce") -> dict:
    """How much AD-PSGD's advantage over ``baseline`` grows when a straggler appears.

    Returns ``{"base": r0, "slow": r1, "growth": r1 / r0}`` with ``r`` the seed-mean ratio of
    ``baseline``'s time per epoch to AD-PSGD's on ``network``.
    """
    r = time_ratios(finals).set_index(["network", "compute", "algorithm"])["ratio"]
    try:
        r0, r1 = float(r[(network, base, baseline)]), float(r[(network, slow, baseline)])
    except KeyError:
        raise ValueError(f"runs of {baseline!r} and 'adpsgd' on network {network!r} with compute models {base!r} and "
                         f"{slow!r} are needed") from None
    return {"base": r0, "slow": r1, "growth": r1 / r0}


# ------------------------------------------------------------------------------- speed-up
def speedup_runs(problem, model, n_workers_list, *, lr_base: float, epochs: float, batch_size: int, seeds, net,
                 compute, graph: str = "bipartite", evals_per_epoch: float = 8.0, algorithms_list=("adpsgd", "allreduce"),
                 progress: bool = False) -> pd.DataFrame:
    """Loss curves of sequential SGD (one worker, step ``lr_base``) and of every algorithm
    with ``n`` workers and the linearly scaled step ``n * lr_base`` (Goyal et al. 2017), for
    every ``n`` and seed.

    Returns the curves: ``algorithm, n_workers, seed, epoch, time, train_loss`` (sequential
    SGD has ``algorithm == "sgd"`` and ``n_workers == 1``).
    """
    from tqdm import tqdm

    _pos(lr_base, "lr_base")
    seeds = [int(s) for s in seeds]
    jobs = [(1, "sgd", s) for s in seeds] + [(n, a, s) for n in n_workers_list for a in algorithms_list for s in seeds]
    rows = []
    for n, a, s in tqdm(jobs, disable=not progress, desc="runs"):
        if not isinstance(n, Integral) or n < 1:
            raise ValueError(f"worker counts must be positive integers, got {n!r}")
        shards = shards_for(problem, n, s) if n > 1 else [np.arange(problem.n_train)]
        algo = "allreduce" if a == "sgd" else a
        h = asynchronous.simulate(algo, model, problem.train_features, problem.train_labels, shards,
                                  adjacency=None if algo == "allreduce" else asynchronous.graph(graph, n),
                                  epochs=epochs, batch_size=batch_size, lr=lr_base * n, seed=s, compute=compute,
                                  network=net, evals_per_epoch=evals_per_epoch, keep_final=False)
        rows.append(pd.DataFrame({"epoch": h.epochs, "time": h.times, "train_loss": h["train_loss"]})
                    .assign(algorithm=a, n_workers=n, seed=s))
    return pd.concat(rows, ignore_index=True)


def speedup_table(curves: pd.DataFrame, target_epochs: float) -> pd.DataFrame:
    """Speed-up in time to a target loss, per (algorithm, n_workers, seed).

    The target (per seed) is the loss sequential SGD reaches after ``target_epochs`` epochs;
    ``t_target`` is the first recorded simulated time at which a run's loss is at or below it
    (``inf`` if never) and ``speedup = t_sgd / t_target``.
    """
    rows = []
    for s, g in curves.groupby("seed", sort=False):
        sgd = g[g.algorithm == "sgd"]
        if sgd.empty:
            raise ValueError("the curves hold no sequential SGD run (algorithm 'sgd')")
        if target_epochs > sgd.epoch.max() + 1e-9:
            raise ValueError(f"target_epochs={target_epochs} is beyond the {sgd.epoch.max():.3g} epochs that were run")
        target = float(np.interp(target_epochs, sgd.epoch, sgd.train_loss))
        t1 = network_mod.time_to_target(sgd.time, sgd.train_loss, target)
        for (a, n), r in g[g.algorithm != "sgd"].groupby(["algorithm", "n_workers"], sort=False):
            t = network_mod.time_to_target(r.time, r.train_loss, target)
            rows.append({"algorithm": a, "n_workers": int(n), "seed": int(s), "target_loss": target, "t_sgd": t1,
                         "t_target": t, "speedup": t1 / t if t > 0 else float("nan"),
                         "epochs_to_target": float(np.interp(t, r.time, r.epoch)) if math.isfinite(t) else float("inf")})
    return pd.DataFrame(rows)


def scaling_slope(n_workers, speedup) -> float:
    """Least-squares slope of log(speed-up) against log(workers): 1 is linear speed-up.

    NaN when any speed-up is not positive and finite (a run never reached the target)."""
    n = np.asarray(n_workers, float)
    s = np.asarray(speedup, float)
    if len(n) < 2:
        raise ValueError("need at least two worker counts for a slope")
    if not np.all(np.isfinite(s) & (s > 0)):
        return float("nan")
    return float(np.polyfit(np.log(n), np.log(s), 1)[0])

"""Driver of the ``gpei`` chain: multi-device, multi-tenant model selection with GP-EI (Yu, Karlaš,
Zhong, Zhang & Liu 2018/2019, arXiv:1803.06561).

N users each want the best of K candidate models for their own data set and share M devices.
The computing is :mod:`repro.automl` (matrices, kernel, GP, the device simulation, regret
metrics); this module holds what exists only to run the paper's experiments:

* :func:`setup` — what the notebooks share: the two sources (DS3Lab's and OBOE's matrices,
  loaded on first use, with their user counts and horizons), the named seeds, BLAS threads;
* :func:`prepare` — one split: users drawn, the learned and the identity kernel fitted on the
  other (prior) data sets;
* :func:`single_user` (``02_single_user``), :func:`compare_schedulers` (``03_multi_tenant``),
  :func:`speedup` (``04_speedup``) — the loops over splits, policies and device counts, as
  tables;
* :func:`reductions`, :func:`spread`, :func:`wilcoxon_greater` — the numbers the claims are made
  of, and the significance test over the splits of the "significantly outperforms" claims.

Seeds: split ``s`` of ``seed, seed + 1, ..., seed + n_splits - 1`` draws which data sets are
users and seeds the random policies of the runs on that split; the random order of user ``u``
in the single-user comparison uses ``s * 100003 + u`` (:func:`random_order_seed`).

Threads: the simulations are many tiny solves, so each runs with ``threads`` BLAS threads
(:func:`repro.automl.scheduler.simulate`; 1 today); everything else keeps numpy's default.

Example
-------
>>> from repro import params
>>> from repro.papers import gpei as paper
>>> S = paper.setup(params.load("gpei", "smoke"))
>>> S.seeds.splits, S.threads
((0, 1), 1)
>>> S.sources["oboe"].label, S.sources["oboe"].n_users
('OBOE / OpenML', 8)
>>> S.sources["ds3lab"].matrices.quality.shape        # doctest: +SKIP
(31, 9)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..automl import data as data_mod
from ..automl import kernel as kernel_mod
from ..automl import metrics
from ..automl.errors import AutomlError
from ..automl.scheduler import POLICIES, simulate

__all__ = ["LABELS", "Seeds", "Source", "Setup", "setup", "random_order_seed", "Prepared", "prepare", "horizon",
           "compare_schedulers", "reductions", "spread", "wilcoxon_greater", "single_user", "speedup"]

LABELS = {"ds3lab": "DS3Lab (9 CNNs)", "oboe": "OBOE / OpenML"}


# ------------------------------------------------------------------------------ the set-up
@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds.

    Attributes
    ----------
    splits : tuple of int
        One seed per (users, prior) split, ``seed, seed + 1, ..., seed + n_splits - 1`` (as the
        record was made): :func:`repro.automl.data.split` draws the users with it, and the
        random policies of the runs on that split use it too.
    """

    splits: tuple


def random_order_seed(split_seed: int, user: int) -> int:
    """Seed of the random order of ``user`` on split ``split_seed`` (single-user comparison).

    ``split_seed * 100003 + user``, as the record was made: a distinct seed for every (split,
    user) pair as long as there are fewer than 100003 users.

    Parameters
    ----------
    split_seed : int
        One of :attr:`Seeds.splits`.
    user : int
        Index of the user within the split.

    Returns
    -------
    int
    """
    return split_seed * 100003 + user


@dataclass(frozen=True)
class Source:
    """One source of quality and cost matrices, with its settings in the chain.

    Attributes
    ----------
    name : str
        ``"ds3lab"`` or ``"oboe"``.
    label : str
        Name in tables and figures.
    n_users : int
        Users drawn in each split (the other data sets are the prior).
    evals_per_user : float
        Horizon of the scheduler comparison in runs of average cost per user.
    matrices : repro.automl.data.Matrices
        The matrices (loaded on first use).
    """

    name: str
    label: str
    n_users: int
    evals_per_user: float
    load: Callable[[], data_mod.Matrices] = field(repr=False, compare=False)

    @cached_property
    def matrices(self) -> data_mod.Matrices:
        """The quality and cost matrices (read on first use)."""
        return self.load()


@dataclass(frozen=True)
class Setup:
    """What the notebooks of the chain share (:func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    seeds : Seeds
        Named seeds.
    threads : int
        BLAS threads of each simulation.
    sources : dict of str to Source
        ``"ds3lab"`` and ``"oboe"``, in that order.
    """

    params: Any
    seeds: Seeds
    threads: int
    sources: dict


def setup(params, run=None) -> Setup:
    """Read the chain's parameters once: seeds, threads, the two sources (matrices on first use).

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The notebook's run (unused; accepted so that every chain's ``setup`` reads alike).

    Returns
    -------
    Setup
    """
    P = params
    seeds = Seeds(splits=tuple(range(P.seed, P.seed + P.n_splits)))
    sources = {
        "ds3lab": Source("ds3lab", LABELS["ds3lab"], P.ds3lab_users, P.ds3lab_evals_per_user,
                         lambda: data_mod.load_ds3lab(P.ds3lab_max_differing)),
        "oboe": Source("oboe", LABELS["oboe"], P.oboe_users, P.oboe_evals_per_user, data_mod.load_oboe),
    }
    return Setup(params=P, seeds=seeds, threads=P.threads, sources=sources)


# ------------------------------------------------------------------------------ one split
@dataclass
class Prepared:
    """One split: the users' matrices and the two kernels learned from the prior data sets.

    Attributes
    ----------
    split : repro.automl.data.Split
    users : repro.automl.data.Matrices
        The users' rows.
    kernels : dict of str to repro.automl.kernel.ModelKernel
        ``"learned"`` and ``"identity"``, both from the prior rows only.
    """

    split: data_mod.Split
    users: data_mod.Matrices
    kernels: dict


def prepare(mat: data_mod.Matrices, n_users: int, seed: int) -> Prepared:
    """Split ``mat`` with ``seed``; learn the kernel and the identity kernel on the prior rows.

    Parameters
    ----------
    mat : repro.automl.data.Matrices
    n_users : int
        Users to draw; all other data sets are the prior.
    seed : int
        The split's seed.

    Returns
    -------
    Prepared

    Raises
    ------
    repro.automl.errors.MatrixError, repro.automl.errors.KernelError
        Too few data sets for the prior, or a kernel that is not positive definite.
    """
    sp = data_mod.split(mat.n_datasets, n_users, seed)
    prior = mat.quality[sp.prior]
    kernels = {"learned": kernel_mod.learn_kernel(prior), "identity": kernel_mod.identity_kernel(prior)}
    return Prepared(sp, mat.rows(sp.users), kernels)


def horizon(users: data_mod.Matrices, n_devices: int, evals_per_user: float) -> float:
    """Simulated time T = e · N · (mean cost) / M: about ``e`` runs of average cost per user.

    Parameters
    ----------
    users : repro.automl.data.Matrices
        The users' matrices (N rows).
    n_devices : int
        M.
    evals_per_user : float
        e > 0.

    Returns
    -------
    float
        Seconds.

    Raises
    ------
    repro.automl.errors.AutomlError
        ``evals_per_user <= 0``.
    """
    if not evals_per_user > 0:
        raise AutomlError(f"evals_per_user must be > 0, got {evals_per_user}")
    return float(evals_per_user * users.cost.mean() * users.n_datasets / n_devices)


def _runs(policies, kernels_for_gp_ei):
    for pol in policies:
        if pol not in POLICIES:
            raise AutomlError(f"unknown policy {pol!r}; choose from {', '.join(POLICIES)}")
        yield pol, "learned"
        if pol == "gp_ei":
            for k in kernels_for_gp_ei:
                if k != "learned":
                    yield pol, k


# ------------------------------------------------------------------------------ the experiments
def compare_schedulers(mat: data_mod.Matrices, n_users: int, seeds, devices, policies, *,
                       evals_per_user: float, per_second_modes=(False, True), noise: float = 1e-4,
                       pending: str = "believer", grid_points: int = 61, threads: int | None = 1,
                       progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every policy (learned kernel; ``gp_ei`` also with the identity kernel) on every split (``03``).

    Every run of a split stops at the same horizon (:func:`horizon`) and is scored by its
    cumulative global regret.

    Parameters
    ----------
    mat : repro.automl.data.Matrices
    n_users : int
    seeds : iterable of int
        Split seeds (:attr:`Seeds.splits`); each also seeds the random policies on its split.
    devices : iterable of int
        Device counts M.
    policies : iterable of str
        Of :data:`repro.automl.scheduler.POLICIES`.
    evals_per_user : float
        Horizon in runs of average cost per user.
    per_second_modes : iterable of bool
        Score by EI (False) and/or by EI per second (True).
    noise : float
        Observation noise variance of the GPs.
    pending : str
        Rule for runs in progress (:data:`repro.automl.scheduler.PENDING_RULES`).
    grid_points : int
        Times of the curves, evenly spaced in [0, horizon].
    threads : int or None
        BLAS threads of each simulation.
    progress : bool
        Show a progress bar.

    Returns
    -------
    table : pandas.DataFrame
        One row per run: seed, n_devices, per_second, policy, kernel, mean_regret (cumulative
        global regret / (users x horizon)), final_regret (global, at the horizon, per user),
        n_finished, horizon.
    curves : pandas.DataFrame
        Global regret per user on a grid of ``grid_points`` times in [0, horizon]: seed,
        n_devices, per_second, policy, kernel, t_frac (time / horizon), time, regret.

    Raises
    ------
    repro.automl.errors.AutomlError
        An unknown policy or bad settings (see :func:`repro.automl.scheduler.simulate`).
    """
    rows, curves = [], []
    combos = [(s, m, ps) for s in seeds for m in devices for ps in per_second_modes]
    runs = list(_runs(policies, ("learned", "identity")))
    bar = tqdm(total=len(combos) * len(runs), desc=f"{mat.source[:6]} schedulers", disable=not progress)
    prepared = {}
    for seed, m, ps in combos:
        if seed not in prepared:
            prepared[seed] = prepare(mat, n_users, seed)
        p = prepared[seed]
        h = horizon(p.users, m, evals_per_user)
        frac = np.linspace(0.0, 1.0, grid_points)  # the same floats for every split
        grid = frac * h
        for pol, kname in runs:
            tr = simulate(p.users.quality, p.users.cost, p.kernels[kname], m, pol, pending=pending,
                          per_second=ps, noise=noise, horizon=h, seed=seed, threads=threads)
            n = p.users.n_datasets
            rows.append({"seed": seed, "n_devices": m, "per_second": ps, "policy": pol, "kernel": kname,
                         "mean_regret": metrics.mean_regret(tr, h),
                         "final_regret": float(metrics.regret_at(tr, [h])[0]) / n,
                         "n_finished": tr.n_finished, "horizon": h})
            r = metrics.regret_at(tr, grid) / n
            curves.append(pd.DataFrame({"seed": seed, "n_devices": m, "per_second": ps, "policy": pol,
                                        "kernel": kname, "t_frac": frac, "time": grid, "regret": r}))
            bar.update()
    bar.close()
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def reductions(table: pd.DataFrame, better: tuple[str, str], worse: tuple[str, str], **where) -> pd.DataFrame:
    """Per seed: 1 − mean_regret(better) / mean_regret(worse) of two (policy, kernel) pairs.

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`compare_schedulers`.
    better, worse : (str, str)
        (policy, kernel) of the scheduler judged and of the one it is compared with.
    **where
        Column filters, e.g. ``n_devices=4, per_second=False``.

    Returns
    -------
    pandas.DataFrame
        seed, better, worse (the two mean regrets), reduction; seeds where one is missing are
        dropped.

    Raises
    ------
    repro.automl.errors.AutomlError
        No seed has both runs.
    """
    t = table
    for k, v in where.items():
        t = t[t[k] == v]
    a = t[(t.policy == better[0]) & (t.kernel == better[1])].set_index("seed").mean_regret
    b = t[(t.policy == worse[0]) & (t.kernel == worse[1])].set_index("seed").mean_regret
    both = pd.concat({"better": a, "worse": b}, axis=1).dropna()
    if both.empty:
        raise AutomlError(f"no runs of {better} and {worse} with {where}")
    both["reduction"] = 1.0 - both.better / both.worse
    return both.reset_index()


def spread(x) -> dict:
    """Median, quartiles, extremes and the number of positive values of ``x``.

    Parameters
    ----------
    x : array_like of float

    Returns
    -------
    dict
        ``median``, ``q25``, ``q75``, ``min``, ``max`` (floats), ``wins`` (values > 0) and
        ``n`` (ints).
    """
    x = np.asarray(x, dtype=float)
    return {"median": float(np.median(x)), "q25": float(np.quantile(x, 0.25)), "q75": float(np.quantile(x, 0.75)),
            "min": float(x.min()), "max": float(x.max()), "wins": int(np.sum(x > 0)), "n": int(x.size)}


def wilcoxon_greater(x) -> float:
    """One-sided p-value that paired differences ``x`` lie above zero (Wilcoxon signed-rank test).

    The test of the paper's "significantly outperforms": ``x`` holds one value per split (e.g. the
    :func:`reductions` of multi-tenant GP-EI against a baseline), each split's two runs sharing its
    users, kernel and seed; the null hypothesis is that the differences are symmetric about zero,
    the alternative that they lie above it. Zeros are dropped (Wilcoxon's convention). Up to 50
    differences scipy uses the exact null distribution (tied values, unlikely for real-valued
    reductions, make it approximate), so with ``n`` splits the smallest attainable p-value is
    ``2**-n`` (10 splits: 0.00098).

    Parameters
    ----------
    x : array_like of float
        Paired differences, one per split.

    Returns
    -------
    float
        The p-value; 1.0 when no difference is non-zero (nothing to test).

    Raises
    ------
    repro.automl.errors.AutomlError
        ``x`` holds a NaN or an infinity.

    Examples
    --------
    >>> wilcoxon_greater([0.1, 0.2, 0.3, 0.4])   # all four positive: 1 / 2**4
    0.0625
    >>> wilcoxon_greater([0.0, 0.0])
    1.0
    """
    from scipy import stats
    x = np.asarray(x, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        raise AutomlError(f"wilcoxon_greater needs finite differences, got {x}")
    x = x[x != 0]
    if x.size == 0:
        return 1.0
    return float(stats.wilcoxon(x, alternative="greater").pvalue)


def single_user(mat: data_mod.Matrices, n_users: int, seeds, n_evals: int, *, noise: float = 1e-4,
                max_users: int | None = None, threads: int | None = 1, progress: bool = True) -> pd.DataFrame:
    """Sequential model selection for one user at a time, one device, unit costs (``02``).

    For each split and each of its users (up to ``max_users``): GP-EI with the learned kernel,
    GP-EI with the identity kernel and a random order (seeded by :func:`random_order_seed`).

    Parameters
    ----------
    mat : repro.automl.data.Matrices
    n_users : int
        Users drawn in each split.
    seeds : iterable of int
        Split seeds (:attr:`Seeds.splits`).
    n_evals : int
        Evaluations per user (at most the number of models).
    noise : float
        Observation noise variance of the GPs.
    max_users : int, optional
        Use only the first this many users of each split.
    threads : int or None
        BLAS threads of each simulation.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        seed, user, method, k (number of evaluations, 0..n_evals), regret (best quality minus
        the best found after k evaluations).
    """
    out = []
    seeds = list(seeds)
    bar = tqdm(total=len(seeds), desc=f"{mat.source[:6]} single user", disable=not progress)
    for seed in seeds:
        p = prepare(mat, n_users, seed)
        users = range(p.users.n_datasets if max_users is None else min(max_users, p.users.n_datasets))
        k_max = min(n_evals, mat.n_models)
        for u in users:
            q = p.users.quality[u:u + 1]
            ones = np.ones_like(q)
            for method, kname, pol in (("GP-EI, learned kernel", "learned", "gp_ei"),
                                       ("GP-EI, identity kernel", "identity", "gp_ei"),
                                       ("random order", "learned", "random")):
                tr = simulate(q, ones, p.kernels[kname], 1, pol, noise=noise, horizon=k_max + 0.5,
                              seed=random_order_seed(seed, u), threads=threads)
                reg = metrics.regret_at(tr, np.arange(k_max + 1, dtype=float))
                out.append(pd.DataFrame({"seed": seed, "user": p.users.datasets[u], "method": method,
                                         "k": np.arange(k_max + 1), "regret": reg}))
        bar.update()
    bar.close()
    return pd.concat(out, ignore_index=True)


def speedup(mat: data_mod.Matrices, n_users: int, seeds, devices, eps_per_user: float, *,
            policy: str = "gp_ei", per_second: bool = False, noise: float = 1e-4, pending: str = "believer",
            threads: int | None = 1, progress: bool = True) -> pd.DataFrame:
    """Time until the global regret is <= ``eps_per_user`` x users, for every device count (``04``).

    Parameters
    ----------
    mat : repro.automl.data.Matrices
    n_users : int
        Users drawn in each split.
    seeds : iterable of int
        Split seeds (:attr:`Seeds.splits`); each also seeds a random policy.
    devices : iterable of int
        Device counts M; the smallest is the reference of the speed-up.
    eps_per_user : float
        Target mean regret per user (>= 0).
    policy : str
        The scheduler (multi-tenant GP-EI by default).
    per_second : bool
        Score models by EI per second.
    noise : float
        Observation noise variance of the GPs.
    pending : str
        Rule for runs in progress.
    threads : int or None
        BLAS threads of each simulation.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        seed, n_devices, time (inf if never reached), n_finished, speedup (time at the smallest
        M / time), efficiency (speedup x smallest M / M; 1 is linear).

    Raises
    ------
    repro.automl.errors.AutomlError
        A negative target.
    """
    if not eps_per_user >= 0:
        raise AutomlError(f"eps_per_user must be >= 0, got {eps_per_user}")
    devices = sorted(devices)
    rows = []
    bar = tqdm(total=len(list(seeds)) * len(devices), desc=f"{mat.source[:6]} speed-up", disable=not progress)
    for seed in seeds:
        p = prepare(mat, n_users, seed)
        target = eps_per_user * p.users.n_datasets
        times = {}
        for m in devices:
            tr = simulate(p.users.quality, p.users.cost, p.kernels["learned"], m, policy, pending=pending,
                          per_second=per_second, noise=noise, stop_regret=target, seed=seed, threads=threads)
            times[m] = metrics.time_to_regret(tr, target)
            rows.append({"seed": seed, "n_devices": m, "time": times[m], "n_finished": tr.n_finished})
            bar.update()
        s = metrics.speedups(times)
        for r in rows[-len(devices):]:
            r["speedup"] = s[r["n_devices"]]
            r["efficiency"] = s[r["n_devices"]] * devices[0] / r["n_devices"]
    bar.close()
    return pd.DataFrame(rows)

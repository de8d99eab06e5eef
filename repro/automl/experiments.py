"""The loops of the ``gpei`` chain: splits x schedulers x device counts, summarised as tables.

Every function takes a :class:`~repro.automl.data.Matrices`, draws its prior/user splits from
explicit seeds (:func:`~repro.automl.data.split`), learns the kernel on the prior data sets
only, and returns :class:`pandas.DataFrame` objects that the notebooks save and plot.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import data as data_mod
from . import gp, metrics
from .errors import AutomlError
from .scheduler import POLICIES, simulate


@dataclass
class Prepared:
    """One split: the users' matrices and the two kernels learned from the prior data sets."""

    split: data_mod.Split
    users: data_mod.Matrices
    kernels: dict


def prepare(mat: data_mod.Matrices, n_users: int, seed: int, n_prior: int | None = None,
            shrinkage: float | None = None) -> Prepared:
    """Split ``mat`` with ``seed``; learn the kernel (and the identity kernel) on the prior rows."""
    sp = data_mod.split(mat.n_datasets, n_users, seed, n_prior)
    prior = mat.quality[sp.prior]
    kernels = {"learned": gp.learn_kernel(prior, shrinkage), "identity": gp.identity_kernel(prior)}
    return Prepared(sp, mat.rows(sp.users), kernels)


def horizon(users: data_mod.Matrices, n_devices: int, evals_per_user: float) -> float:
    """Simulated time for about ``evals_per_user`` runs of average cost per user on ``n_devices``."""
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


def compare_schedulers(mat: data_mod.Matrices, n_users: int, seeds, devices, policies, *,
                       evals_per_user: float, per_second_modes=(False, True), noise: float = 1e-4,
                       pending: str = "believer", n_prior: int | None = None, grid_points: int = 61,
                       progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every policy (learned kernel; ``gp_ei`` also with the identity kernel) on every split.

    Returns
    -------
    table
        One row per run: seed, n_devices, per_second, policy, kernel, mean_regret (cumulative
        global regret / (users x horizon)), final_regret (global, at the horizon, per user),
        n_finished, horizon.
    curves
        Global regret per user on a grid of ``grid_points`` times in [0, horizon]: seed,
        n_devices, per_second, policy, kernel, t_frac (time / horizon), time, regret.
    """
    rows, curves = [], []
    combos = [(s, m, ps) for s in seeds for m in devices for ps in per_second_modes]
    runs = list(_runs(policies, ("learned", "identity")))
    bar = tqdm(total=len(combos) * len(runs), desc=f"{mat.source[:6]} schedulers", disable=not progress)
    prepared = {}
    for seed, m, ps in combos:
        if seed not in prepared:
            prepared[seed] = prepare(mat, n_users, seed, n_prior)
        p = prepared[seed]
        h = horizon(p.users, m, evals_per_user)
        frac = np.linspace(0.0, 1.0, grid_points)  # the same floats for every split
        grid = frac * h
        for pol, kname in runs:
            tr = simulate(p.users.quality, p.users.cost, p.kernels[kname], m, pol, pending=pending,
                          per_second=ps, noise=noise, horizon=h, seed=seed)
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
    """Per seed: 1 − mean_regret(better) / mean_regret(worse) for (policy, kernel) pairs, rows filtered by ``where``."""
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
    """Median, quartiles, extremes and the share of positive values of ``x``."""
    x = np.asarray(x, dtype=float)
    return {"median": float(np.median(x)), "q25": float(np.quantile(x, 0.25)), "q75": float(np.quantile(x, 0.75)),
            "min": float(x.min()), "max": float(x.max()), "wins": int(np.sum(x > 0)), "n": int(x.size)}


def single_user(mat: data_mod.Matrices, n_users: int, seeds, n_evals: int, *, noise: float = 1e-4,
                max_users: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Sequential model selection for one user at a time (one device, unit costs).

    For each split and each of its users (up to ``max_users``): GP-EI with the learned kernel,
    GP-EI with the identity kernel and a random order. Returns seed, user, method, k (number of
    evaluations, 0..n_evals), regret (best quality minus best found after k evaluations).
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
                              seed=seed * 100003 + u)
                reg = metrics.regret_at(tr, np.arange(k_max + 1, dtype=float))
                out.append(pd.DataFrame({"seed": seed, "user": p.users.datasets[u], "method": method,
                                         "k": np.arange(k_max + 1), "regret": reg}))
        bar.update()
    bar.close()
    return pd.concat(out, ignore_index=True)


def speedup(mat: data_mod.Matrices, n_users: int, seeds, devices, eps_per_user: float, *,
            policy: str = "gp_ei", per_second: bool = False, noise: float = 1e-4, pending: str = "believer",
            progress: bool = True) -> pd.DataFrame:
    """Time until the global regret is <= ``eps_per_user`` x users, for every device count.

    Returns seed, n_devices, time (inf if never reached), n_finished, speedup (time at the
    smallest M / time), efficiency (speedup x smallest M / M; 1 is linear).
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
                          per_second=per_second, noise=noise, stop_regret=target, seed=seed)
            times[m] = metrics.time_to_regret(tr, target)
            rows.append({"seed": seed, "n_devices": m, "time": times[m], "n_finished": tr.n_finished})
            bar.update()
        s = metrics.speedups(times)
        for r in rows[-len(devices):]:
            r["speedup"] = s[r["n_devices"]]
            r["efficiency"] = s[r["n_devices"]] * devices[0] / r["n_devices"]
    bar.close()
    return pd.DataFrame(rows)

"""One event-driven simulation of M devices shared by N model-selection users.

Every user u has a data set; running ("evaluating") model j for user u occupies one device
for ``cost[u, j]`` seconds and then reveals ``quality[u, j]``. No (user, model) pair is run twice
and a device runs one job at a time. Whenever a device is free, the *policy* picks the next
(user, model) pair; each user models its own qualities with a GP over the models
(:mod:`repro.automl.gp`, with one shared prior learned from other data sets,
:mod:`repro.automl.kernel`).

Policies
--------
``round_robin`` (independent serving)
    Users take turns: a free device goes to the next user in cyclic order that has a model left;
    that user picks its own GP-EI model. Nobody compares users.
``random_user``
    A free device goes to a user drawn uniformly at random among those with a model left; the
    user picks its GP-EI model.
``random``
    A (user, model) pair drawn uniformly at random among those left (no GP at all).
``gp_ei`` (multi-tenant GP-EI, the paper's scheduler)
    The free device runs the (user, model) pair with the largest expected improvement over all
    users and all their remaining models: EI_u(j) measures how much user u's best quality is
    expected to rise if model j is run, and the sum of the users' regrets is what the
    provider minimises, so the pair with the largest EI is the largest expected drop of the
    global regret that one job can buy.

Cost-aware variants (``per_second=True``)
    Every GP-based policy scores a model by EI_u(j) / cost[u, j] instead of EI_u(j): the
    expected drop of the global regret per second of device time (costs are assumed known in
    advance, as in the data's cost matrices). For ``gp_ei`` this is the cost-aware
    multi-tenant scheduler; for ``round_robin`` and ``random_user`` it is each user's own
    cost-aware GP-EI, so the comparison stays like for like.

Pending evaluations (``pending``)
---------------------------------
With M > 1 devices some pairs are still running when a decision is made. The paper's exact
treatment of pending runs is not given in the material we have, so we state our choice:

``believer`` (default; the "kriging believer" of batch Bayesian optimisation)
    Each pending (u, j) is treated as if it had returned its current posterior mean
    μ_u(j) (given the finished runs of u). Conditioning a GP on a value equal to its own
    predictive mean leaves the posterior mean everywhere unchanged — the update is
    Σ_{·j}(Σ_jj + noise)⁻¹(y_j − μ_j) = 0 — so the rule is: mean from the finished runs,
    standard deviation from the finished *and* pending runs (the variance update does not depend
    on the values), and the incumbent f*_u = max(best finished value, fantasised values of the
    pending runs). A user whose first model is running thus looks as if it already had a model
    of about its expected quality, and the next device goes to another user.
``exclude``
    Pending pairs are only removed from the candidates; the GP and f*_u use finished runs only.

Both rules never choose a pending or finished pair. Before a user's first result, f*_u is
``baseline`` (0: the quality of having no model, the same convention as the regret).

Regret
------
The regret of user u at time t is ``best_u − max(baseline, best quality found by t)``, where
``best_u`` is the best quality in u's row; the global regret is the sum over users. The
simulation records both after every finished job (:class:`Trace`); :mod:`repro.automl.metrics`
integrates them.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from .data import check_matrices
from .errors import SchedulerError
from .gp import expected_improvement, posterior
from .kernel import ModelKernel

__all__ = ["POLICIES", "PENDING_RULES", "POLICY_LABELS", "Trace", "simulate", "check_trace"]

POLICIES = ("round_robin", "random_user", "random", "gp_ei")
PENDING_RULES = ("believer", "exclude")
POLICY_LABELS = {
    "round_robin": "independent (round-robin) GP-EI",
    "random_user": "random user, GP-EI",
    "random": "random (user, model)",
    "gp_ei": "multi-tenant GP-EI",
}


@dataclass
class Trace:
    """What one simulation did and how the regret moved.

    Attributes
    ----------
    policy, n_devices, pending, per_second
        The settings of the run (see :func:`simulate`).
    times : ndarray, shape (E + 1,)
        0 and the end of every finished job, in order.
    user_regret : ndarray, shape (E + 1, N)
        ``user_regret[k]``: the regret of every user just after ``times[k]`` (row 0: before any
        result).
    best : ndarray, shape (N,)
        Every user's best quality.
    jobs : dict of ndarray
        One entry per started job: ``user``, ``model``, ``device``, ``start``, ``end``,
        ``value``, and ``finished`` (False for jobs still running when the simulation stopped).
    horizon : float
        The horizon it ran to (inf without one).
    stopped : str
        Why it stopped: ``"every pair evaluated"``, ``"horizon"`` or ``"regret reached"``.
    """

    policy: str
    n_devices: int
    pending: str
    per_second: bool
    times: np.ndarray
    user_regret: np.ndarray
    best: np.ndarray
    jobs: dict = field(default_factory=dict)
    horizon: float = float("inf")
    stopped: str = ""

    @property
    def regret(self) -> np.ndarray:
        """Global regret (sum over users) after each event."""
        return self.user_regret.sum(axis=1)

    @property
    def n_users(self) -> int:
        """N, the number of users."""
        return self.user_regret.shape[1]

    @property
    def n_finished(self) -> int:
        """How many jobs finished."""
        return int(np.sum(self.jobs["finished"]))


class _User:
    """The GP state of one user: finished and pending models, scores of the candidates."""

    def __init__(self, kernel: ModelKernel, noise: float, pending_rule: str, baseline: float, xi: float):
        self.kernel, self.noise, self.rule, self.baseline, self.xi = kernel, noise, pending_rule, baseline, xi
        k = kernel.n_models
        self.done_idx: list[int] = []
        self.done_val: list[float] = []
        self.pending: list[int] = []
        self.free = np.ones(k, dtype=bool)  # neither finished nor pending
        self.ei = np.zeros(k)

    def rescore(self) -> None:
        """Recompute the EI of every model that is neither finished nor pending."""
        if not self.free.any():
            self.ei = np.full_like(self.ei, -np.inf)
            return
        mu, sd = posterior(self.kernel, self.done_idx, self.done_val, self.noise)
        fstar = max([self.baseline] + self.done_val)
        if self.rule == "believer" and self.pending:
            both = self.done_idx + self.pending
            fant = list(mu[self.pending])
            _, sd = posterior(self.kernel, both, self.done_val + fant, self.noise)
            fstar = max([fstar] + fant)
        ei = expected_improvement(mu, sd, fstar, self.xi)
        self.ei = np.where(self.free, ei, -np.inf)


def simulate(quality, cost, kernel: ModelKernel, n_devices: int, policy: str, *, pending: str = "believer",
             per_second: bool = False, noise: float = 1e-4, horizon: float | None = None,
             stop_regret: float | None = None, seed: int = 0, xi: float = 0.0, baseline: float = 0.0,
             threads: int | None = 1) -> Trace:
    """Run one schedule to the end (every pair evaluated), to ``horizon`` or to ``stop_regret``.

    Parameters
    ----------
    quality, cost : array_like, shape (N, K)
        True qualities of the users' data sets and run times in seconds (> 0).
    kernel : ModelKernel
        The GP prior over the K models (learned from data sets that are not users).
    n_devices : int
        M >= 1, at most N·K (the number of jobs).
    policy : str
        One of :data:`POLICIES`.
    pending : str
        One of :data:`PENDING_RULES` (see the module docstring).
    per_second : bool
        Score models by EI per second of their cost (the cost-aware variants).
    noise : float
        Observation noise variance of the GP.
    horizon : float, optional
        Stop at this simulated time (jobs ending later are not counted as finished).
    stop_regret : float, optional
        Stop as soon as the global regret is <= this.
    seed : int
        Seed of the generator of the random policies.
    xi : float
        EI's exploration margin ξ.
    baseline : float
        Quality of having no model yet (regret and f* before the first result).
    threads : int or None
        BLAS threads during the simulation (:func:`threadpoolctl.threadpool_limits`). The
        linear algebra is many tiny solves, so more threads only contend for the cores; 1 is
        the default. ``None`` leaves the process's setting alone.

    Returns
    -------
    Trace

    Raises
    ------
    SchedulerError
        Unknown policy or pending rule, M < 1, M greater than the number of jobs, a kernel of
        the wrong size, a horizon <= 0. :class:`~repro.automl.errors.MatrixError` for NaN
        qualities or costs <= 0.
    """
    kw = dict(pending=pending, per_second=per_second, noise=noise, horizon=horizon, stop_regret=stop_regret,
              seed=seed, xi=xi, baseline=baseline)
    if threads is None:
        return _simulate(quality, cost, kernel, n_devices, policy, **kw)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=threads):
        return _simulate(quality, cost, kernel, n_devices, policy, **kw)


def _simulate(quality, cost, kernel: ModelKernel, n_devices: int, policy: str, *, pending: str, per_second: bool,
              noise: float, horizon: float | None, stop_regret: float | None, seed: int, xi: float,
              baseline: float) -> Trace:
    """The simulation of :func:`simulate`, in the caller's BLAS thread setting."""
    q, c = check_matrices(quality, cost)
    n_users, n_models = q.shape
    if policy not in POLICIES:
        raise SchedulerError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if pending not in PENDING_RULES:
        raise SchedulerError(f"unknown pending rule {pending!r}; choose one of {', '.join(PENDING_RULES)}")
    if isinstance(n_devices, bool) or not isinstance(n_devices, (int, np.integer)) or n_devices < 1:
        raise SchedulerError(f"n_devices must be an integer >= 1, got {n_devices!r}")
    if n_devices > n_users * n_models:
        raise SchedulerError(f"{n_devices} devices but only {n_users * n_models} jobs ({n_users} users x "
                             f"{n_models} models): some devices could never run anything")
    if kernel.n_models != n_models:
        raise SchedulerError(f"the kernel is over {kernel.n_models} models, the matrices have {n_models}")
    if horizon is not None and not horizon > 0:
        raise SchedulerError(f"horizon must be > 0 seconds, got {horizon}")
    rng = np.random.default_rng(seed)
    users = [_User(kernel, noise, pending, baseline, xi) for _ in range(n_users)]
    top_s = np.full(n_users, -np.inf)  # each user's best score and its model (GP policies)
    top_j = np.zeros(n_users, dtype=int)

    def refresh(u: int) -> None:
        us = users[u]
        us.rescore()
        s = us.ei / c[u] if per_second else us.ei
        top_j[u] = int(np.argmax(s))
        top_s[u] = s[top_j[u]] if us.free.any() else -np.inf

    if policy != "random":
        for u in range(n_users):
            refresh(u)
    best = q.max(axis=1)
    found = np.full(n_users, baseline, dtype=float)
    regret_now = np.clip(best - found, 0.0, None)
    times, rows = [0.0], [regret_now.copy()]
    jobs = {k: [] for k in ("user", "model", "device", "start", "end", "value", "finished")}
    heap: list[tuple[float, int, int]] = []  # (end time, job number, device)
    pointer = [0]
    left = np.full(n_users, n_models)

    def choose() -> tuple[int, int] | None:
        if not left.any():
            return None
        if policy == "gp_ei":
            u = int(np.argmax(top_s))  # ties: the lowest user index
            return u, int(top_j[u])
        if policy == "random":
            u = int(rng.choice(np.flatnonzero(left)))
            return u, int(rng.choice(np.flatnonzero(users[u].free)))
        if policy == "round_robin":
            for step in range(n_users):
                u = (pointer[0] + step) % n_users
                if left[u]:
                    pointer[0] = u + 1
                    break
        else:  # random_user
            u = int(rng.choice(np.flatnonzero(left)))
        return u, int(top_j[u])

    def start(device: int, now: float) -> bool:
        pick = choose()
        if pick is None:
            return False
        u, j = pick
        us = users[u]
        if not us.free[j]:  # pragma: no cover - guarded by the scores
            raise SchedulerError(f"internal: pair (user {u}, model {j}) chosen twice")
        us.free[j] = False
        us.pending.append(j)
        left[u] -= 1
        if policy != "random":
            refresh(u)
        n = len(jobs["user"])
        for k, v in (("user", u), ("model", j), ("device", device), ("start", now), ("end", now + c[u, j]),
                     ("value", q[u, j]), ("finished", False)):
            jobs[k].append(v)
        heapq.heappush(heap, (now + c[u, j], n, device))
        return True

    stopped = "every pair evaluated"
    for d in range(n_devices):
        if not start(d, 0.0):
            break
    while heap:
        end, n, device = heapq.heappop(heap)
        if horizon is not None and end > horizon:
            stopped = "horizon"
            break
        u, j = jobs["user"][n], jobs["model"][n]
        jobs["finished"][n] = True
        us = users[u]
        us.pending.remove(j)
        us.done_idx.append(j)
        us.done_val.append(q[u, j])
        if policy != "random":
            refresh(u)
        found[u] = max(found[u], q[u, j])
        regret_now[u] = max(best[u] - found[u], 0.0)
        times.append(end)
        rows.append(regret_now.copy())
        if stop_regret is not None and regret_now.sum() <= stop_regret:
            stopped = "regret reached"
            break
        start(device, end)
    out = {k: np.asarray(v) for k, v in jobs.items()}
    return Trace(policy, int(n_devices), pending, bool(per_second), np.asarray(times), np.asarray(rows), best, out,
                 float(horizon) if horizon is not None else float("inf"), stopped)


def check_trace(trace: Trace) -> None:
    """Check the invariants of a simulation.

    No device runs two jobs at once; no (user, model) pair is started twice; no job ends before
    it starts; the recorded times never go back; the global regret never rises.

    Parameters
    ----------
    trace : Trace

    Raises
    ------
    SchedulerError
        Naming the first invariant that is broken.
    """
    j = trace.jobs
    if len(j["user"]):
        pairs = set(zip(j["user"].tolist(), j["model"].tolist()))
        if len(pairs) != len(j["user"]):
            raise SchedulerError("a (user, model) pair was started twice")
        for d in np.unique(j["device"]):
            sel = np.flatnonzero(j["device"] == d)
            order = sel[np.argsort(j["start"][sel], kind="stable")]
            if np.any(j["start"][order][1:] < j["end"][order][:-1] - 1e-9):
                raise SchedulerError(f"device {d} runs two jobs at once")
        if np.any(j["end"] <= j["start"]):
            raise SchedulerError("a job ends before it starts")
    if np.any(np.diff(trace.times) < 0):
        raise SchedulerError("time went backwards")
    if np.any(np.diff(trace.regret) > 1e-12):
        raise SchedulerError("the global regret rose")

r"""An event-driven simulator of synchronous and asynchronous decentralized SGD in
simulated wall-clock time (Lian, Zhang, Zhang & Liu 2018, arXiv:1710.06952, AD-PSGD).

Every worker alternates computing a minibatch gradient (its duration drawn from a
:class:`ComputeTimes` model: homogeneous, one or more ``k``-times slower stragglers, random
slow-downs) and communicating (its duration from the latency/bandwidth model of
:mod:`repro.sgd.network`). Three algorithms are compared on the same models, data and
minibatch streams:

* ``allreduce`` — AllReduce-SGD: every round all workers compute, then one ring AllReduce of
  the gradients; a round lasts the *slowest* worker's computation plus the AllReduce time;
  the update is :func:`repro.sgd.algorithms.allreduce_step`.
* ``dpsgd`` (and ``d2``) — synchronous decentralized SGD: worker ``i`` starts round ``k``
  once it and its neighbours have finished round ``k - 1`` (it needs their models), so
  :math:`e_i(k) = \max_{j \in N(i) \cup \{i\}} e_j(k-1) + c_i(k) + T_{\text{gossip}}`;
  the update is :func:`repro.sgd.algorithms.dpsgd_step` (or ``d2_step``).
* ``adpsgd`` — AD-PSGD (Algorithm 1 of the paper): a worker reads its model
  :math:`\hat x_i`, computes :math:`g_i = \nabla F_i(\hat x_i;\xi_i)` (meanwhile its model may be
  changed by neighbours: the gradient is stale), averages *atomically* with one uniformly
  chosen neighbour ``j``, :math:`x_i, x_j \leftarrow (x_i + x_j)/2`, and applies
  :math:`x_i \leftarrow x_i - \gamma g_i`. As in the paper the graph is split into two
  colour classes of a bipartite graph: *active* workers initiate averaging with *passive*
  neighbours, passive workers only answer (their communication runs beside their
  computation), so no two averagings wait on each other in a cycle (no deadlock). An
  averaging is one full-duplex swap of models over a link, lasting
  :meth:`Network.message_time(bits) <repro.sgd.network.Network.message_time>`; a worker's link
  serves one swap at a time (later requests queue).

AD-PSGD runs on a priority queue (:mod:`heapq`) of completion times — no threads, fully
deterministic for a given seed. For each applied gradient it records the **staleness**:
how many gradients (by any worker) were applied between the read of :math:`\hat x_i` and the
application, and how many times :math:`x_i` itself was changed in between.

Minibatches come from :class:`WorkerSampler` (one independent stream per worker, seeded by
``(seed, worker)``), so a synchronous run here and on real processes
(:mod:`repro.sgd.mpi`) draw identical minibatches. Compute-time draws use their own
generator, so changing the timing model never changes the minibatches.

The epoch counts samples: one epoch is ``N`` gradients' worth of samples (``N / b``
gradients) whatever the number of workers.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from tqdm import tqdm

from . import network as network_mod, topology
from ..errors import ReproError
from .compress import Identity

__all__ = [
    "ALGORITHMS", "ComputeTimes", "homogeneous", "stragglers", "random_slowdowns", "WorkerSampler",
    "GRAPHS", "complete_bipartite", "graph", "bipartite_split", "AsyncHistory", "simulate", "time_per_epoch", "interp_loss", "AsyncSimError",
]

ALGORITHMS = ("allreduce", "dpsgd", "d2", "adpsgd")


class AsyncSimError(ReproError, ValueError):
    """A setting the asynchronous simulator or the MPI backend cannot run (e.g. a graph that
    is not bipartite for AD-PSGD)."""


# ---------------------------------------------------------------------------- compute times
@dataclass(frozen=True)
class ComputeTimes:
    """How long one minibatch gradient takes on each worker (simulated seconds).

    A draw for worker ``i`` is ``mean_s * factor_i * J * S`` where ``factor_i`` is
    ``straggler_factor`` for the workers in ``stragglers`` (1 otherwise), ``J`` a log-normal
    jitter with mean 1 and coefficient of variation about ``jitter`` (``J = 1`` when 0), and
    ``S = slowdown_factor`` with probability ``slowdown_prob`` (a random, transient slow-down of
    one computation; 1 otherwise).
    """

    mean_s: float
    jitter: float = 0.0
    stragglers: tuple = ()
    straggler_factor: float = 1.0
    slowdown_prob: float = 0.0
    slowdown_factor: float = 1.0

    def __post_init__(self):
        if not isinstance(self.mean_s, Real) or not self.mean_s > 0:
            raise ValueError(f"mean_s must be a positive number of seconds, got {self.mean_s!r}")
        if not isinstance(self.jitter, Real) or not 0 <= self.jitter <= 2:
            raise ValueError(f"jitter must be in [0, 2], got {self.jitter!r}")
        if not isinstance(self.straggler_factor, Real) or not self.straggler_factor >= 1:
            raise ValueError(f"straggler_factor must be >= 1, got {self.straggler_factor!r}")
        if not isinstance(self.slowdown_factor, Real) or not self.slowdown_factor >= 1:
            raise ValueError(f"slowdown_factor must be >= 1, got {self.slowdown_factor!r}")
        if not isinstance(self.slowdown_prob, Real) or not 0 <= self.slowdown_prob <= 1:
            raise ValueError(f"slowdown_prob must be in [0, 1], got {self.slowdown_prob!r}")
        object.__setattr__(self, "stragglers", tuple(int(s) for s in self.stragglers))

    def factors(self, n_workers: int) -> np.ndarray:
        """The fixed slow-down of every worker, shape ``(n_workers,)``."""
        f = np.ones(n_workers)
        for s in self.stragglers:
            if not 0 <= s < n_workers:
                raise ValueError(f"straggler {s} is not a worker (there are {n_workers}: 0..{n_workers - 1})")
            f[s] = self.straggler_factor
        return f

    def draw(self, factors: np.ndarray, rng: np.random.Generator, workers=None) -> np.ndarray:
        """Durations of one computation for ``workers`` (default all), given :meth:`factors`."""
        f = factors if workers is None else factors[np.atleast_1d(workers)]
        t = self.mean_s * f
        if self.jitter > 0:
            s2 = math.log1p(self.jitter ** 2)
            t = t * rng.lognormal(-0.5 * s2, math.sqrt(s2), size=t.shape)
        if self.slowdown_prob > 0:
            t = t * np.where(rng.random(t.shape) < self.slowdown_prob, self.slowdown_factor, 1.0)
        return t

    def mean(self, n_workers: int) -> np.ndarray:
        """Expected duration per worker (jitter has mean 1)."""
        return (self.mean_s * self.factors(n_workers)
                * (1 + self.slowdown_prob * (self.slowdown_factor - 1)))


def homogeneous(mean_s: float, jitter: float = 0.1) -> ComputeTimes:
    """Every worker equally fast (log-normal jitter of about ``jitter`` relative spread)."""
    return ComputeTimes(mean_s, jitter)


def stragglers(mean_s: float, factor: float, workers=(0,), jitter: float = 0.1) -> ComputeTimes:
    """The workers in ``workers`` are ``factor`` times slower than the others."""
    return ComputeTimes(mean_s, jitter, stragglers=tuple(workers), straggler_factor=factor)


def random_slowdowns(mean_s: float, prob: float, factor: float, jitter: float = 0.1) -> ComputeTimes:
    """Every computation of every worker is ``factor`` times slower with probability ``prob``."""
    return ComputeTimes(mean_s, jitter, slowdown_prob=prob, slowdown_factor=factor)


# --------------------------------------------------------------------------------- sampling
class WorkerSampler:
    """Minibatches of one worker: passes over a fresh random permutation of its shard,
    ``batch_size`` samples at a time (an incomplete last batch of a pass is skipped).

    The generator is ``numpy.random.default_rng([seed, worker])``: independent streams per
    worker, identical in every process that builds the same sampler (the MPI backend).
    """

    def __init__(self, shard, batch_size: int, seed: int, worker: int):
        self.shard = np.asarray(shard, dtype=np.intp)
        if not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size > len(self.shard):
            raise ValueError(f"batch_size={batch_size} exceeds worker {worker}'s shard ({len(self.shard)} samples)")
        self.b = int(batch_size)
        self.rng = np.random.default_rng([int(seed), int(worker)])
        self.pos = len(self.shard)  # forces a shuffle on the first call
        self.perm = self.shard

    def next(self) -> np.ndarray:
        if self.pos + self.b > len(self.shard):
            self.perm = self.shard[self.rng.permutation(len(self.shard))]
            self.pos = 0
        out = self.perm[self.pos:self.pos + self.b]
        self.pos += self.b
        return out


# -------------------------------------------------------------------------------- topology
GRAPHS = ("ring", "bipartite", "torus")


def complete_bipartite(n: int) -> np.ndarray:
    """Adjacency of the complete bipartite graph between the even and the odd workers
    (``n >= 2`` even): every even worker is joined to every odd one.

    AD-PSGD's communication does not grow with the degree (one pairwise averaging per
    gradient, with one neighbour drawn at random), so a dense bipartite graph costs it nothing
    and mixes far faster than a ring.
    """
    if not isinstance(n, Integral) or isinstance(n, bool) or n < 2 or n % 2:
        raise AsyncSimError(f"the complete bipartite graph needs an even number of workers >= 2, got {n!r}")
    i = np.arange(n)
    return ((i[:, None] + i[None, :]) % 2 == 1).astype(np.int8)


def graph(name: str, n: int) -> np.ndarray:
    """Adjacency of a named graph of :data:`GRAPHS`: ``ring`` and ``torus`` from
    :mod:`repro.sgd.topology`, ``bipartite`` from :func:`complete_bipartite`."""
    if name == "bipartite":
        return complete_bipartite(n)
    if name in ("ring", "torus"):
        return topology.graph(name, n)
    raise AsyncSimError(f"unknown graph {name!r}; choose one of {', '.join(GRAPHS)}")


def bipartite_split(adjacency) -> np.ndarray:
    """Colour a connected graph with two colours (breadth-first search).

    Returns a boolean array, ``True`` for the *active* workers (the class of worker 0).

    Raises
    ------
    AsyncSimError
        If the graph is not bipartite (e.g. a ring of an odd number of workers): AD-PSGD's
        deadlock-free active/passive split needs every edge to join an active and a passive
        worker.
    """
    a = np.asarray(adjacency) != 0
    n = a.shape[0]
    colour = np.full(n, -1)
    colour[0] = 0
    queue = [0]
    while queue:
        i = queue.pop()
        for j in np.flatnonzero(a[i]):
            if colour[j] < 0:
                colour[j] = 1 - colour[i]
                queue.append(int(j))
            elif colour[j] == colour[i]:
                raise AsyncSimError(f"the graph is not bipartite (workers {i} and {j} are neighbours of the same "
                                    f"colour): AD-PSGD's active/passive split needs a bipartite graph, e.g. a ring of "
                                    f"an even number of workers")
    if (colour < 0).any():
        raise AsyncSimError("the graph is not connected")
    return colour == 0


# -------------------------------------------------------------------------------- history
@dataclass
class AsyncHistory:
    """What :func:`simulate` records.

    ``times`` (simulated seconds), ``epochs`` and ``grads`` (gradients applied so far) are
    aligned with every array in ``metrics`` (``train_loss``, ``train_acc``, ``consensus`` and
    ``<set>_loss`` / ``<set>_acc`` for every evaluation set; losses are those of the average
    model :math:`\\bar x`). ``staleness`` holds, for AD-PSGD, the global staleness of every
    applied gradient (gradients applied by anyone between its read and its application);
    ``local_staleness`` the number of changes to the worker's own model in between (for an
    active worker that includes the averaging it started itself); both are
    zeros for the synchronous algorithms (whose gradients are never stale).
    ``grads_per_worker`` counts the gradients each worker contributed.
    """

    algorithm: str
    n_workers: int
    batch_size: int
    seed: int
    times: np.ndarray
    epochs: np.ndarray
    grads: np.ndarray
    metrics: dict = field(default_factory=dict)
    staleness: np.ndarray | None = None
    local_staleness: np.ndarray | None = None
    grads_per_worker: np.ndarray | None = None
    diverged: bool = False
    final_X: np.ndarray | None = None

    def __getitem__(self, key):
        return self.metrics[key]

    @property
    def time_per_epoch(self) -> float:
        return time_per_epoch(self)

    def staleness_summary(self) -> dict:
        s = self.staleness if self.staleness is not None and len(self.staleness) else np.zeros(1)
        ls = self.local_staleness if self.local_staleness is not None and len(self.local_staleness) else np.zeros(1)
        return {"mean": float(np.mean(s)), "p99": float(np.percentile(s, 99)), "max": int(np.max(s)),
                "local_mean": float(np.mean(ls)), "local_max": int(np.max(ls))}

    def to_dict(self) -> dict:
        """JSON-ready (the per-gradient staleness arrays summarised, final models left out)."""
        return {"algorithm": self.algorithm, "n_workers": self.n_workers, "batch_size": self.batch_size,
                "seed": self.seed, "diverged": self.diverged, "times": self.times.tolist(),
                "epochs": self.epochs.tolist(), "grads": self.grads.tolist(),
                "metrics": {k: v.tolist() for k, v in self.metrics.items()},
                "staleness": self.staleness_summary(),
                "grads_per_worker": None if self.grads_per_worker is None else self.grads_per_worker.tolist()}


def time_per_epoch(history: AsyncHistory) -> float:
    """Simulated seconds per epoch over the whole run (last time / last epoch)."""
    return float(history.times[-1] / history.epochs[-1])


def interp_loss(history_or_epochs, losses=None, at=None) -> np.ndarray:
    """Training loss linearly interpolated at the epochs ``at``."""
    if losses is None:
        e, l = history_or_epochs.epochs, history_or_epochs["train_loss"]
    else:
        e, l = history_or_epochs, losses
    return np.interp(np.asarray(at, float), np.asarray(e, float), np.asarray(l, float))


# ------------------------------------------------------------------------------- simulator
def _check(v, name, kind=Real, positive=True):
    if not isinstance(v, kind) or isinstance(v, bool) or (positive and not v > 0):
        raise ValueError(f"{name} must be a positive {'integer' if kind is Integral else 'number'}, got {v!r}")


class _Recorder:
    def __init__(self, model, features, labels, shards, eval_sets):
        n = len(shards)
        idx = np.concatenate(shards)
        self.w = np.concatenate([np.full(len(s), 1.0 / (n * len(s))) for s in shards])
        self.f, self.y = features[idx], labels[idx]
        self.model, self.eval_sets = model, dict(eval_sets or {})
        self.recs = {"train_loss": [], "train_acc": [], "consensus": []}
        for k in self.eval_sets:
            self.recs[f"{k}_loss"], self.recs[f"{k}_acc"] = [], []
        self.times, self.grads = [], []

    def __call__(self, X, t, grads):
        from .algorithms import consensus_distance  # imported here: MPI ranks import this module without it
        m = self.model
        xbar = X.mean(axis=0, keepdims=True)
        self.recs["train_loss"].append(float(m.per_sample_loss(xbar, self.f, self.y)[0] @ self.w + m.penalty(xbar)[0]))
        self.recs["train_acc"].append(float((m.predict(xbar, self.f)[0] == self.y) @ self.w))
        self.recs["consensus"].append(consensus_distance(X))
        for k, (fe, la) in self.eval_sets.items():
            self.recs[f"{k}_loss"].append(float(m.loss(xbar, fe, la)[0]))
            self.recs[f"{k}_acc"].append(float(m.accuracy(xbar, fe, la)[0]))
        self.times.append(float(t))
        self.grads.append(int(grads))


def simulate(algorithm: str, model, features, labels, shards, *, adjacency=None, epochs: float,
             batch_size: int, lr: float, seed: int, compute: ComputeTimes, network, message_bits: int | None = None,
             evals_per_epoch: float = 4.0, eval_sets: dict | None = None, x0=None, progress: bool = False,
             keep_final: bool = True) -> AsyncHistory:
    """Run one algorithm in simulated wall-clock time.

    Parameters
    ----------
    algorithm : {"allreduce", "dpsgd", "d2", "adpsgd"}
    model : a :mod:`repro.sgd.models` model
    features, labels : ``(N, p)`` and ``(N,)`` arrays
    shards : list of index arrays, one per worker
    adjacency : (n, n) 0/1 array
        The communication graph (gossip algorithms and AD-PSGD; it must be bipartite for
        AD-PSGD). D-PSGD uses its Metropolis–Hastings matrix, D² that matrix fixed by
        :func:`~repro.sgd.topology.fix_for_d2`.
    epochs : float
        Samples processed, in passes over the training set: ``ceil(epochs N / b)`` gradients
        for AD-PSGD, ``ceil(epochs N / (n b))`` rounds for the synchronous algorithms.
    batch_size, lr : per-worker minibatch size and constant step size γ
    seed : int
        Initial model (``model.init(seed)`` unless ``x0``), minibatches (:class:`WorkerSampler`)
        and compute-time draws / neighbour choices (``default_rng([seed, 2**20])``).
    compute : ComputeTimes
    network : :class:`repro.sgd.network.Network`
    message_bits : int, optional
        Bits of one model or gradient on the wire (default 32 per parameter).
    evals_per_epoch : float
        Records per epoch (plus the first and last).

    Returns
    -------
    AsyncHistory
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    _check(epochs, "epochs")
    _check(batch_size, "batch_size", Integral)
    _check(lr, "lr")
    _check(evals_per_epoch, "evals_per_epoch")
    if not isinstance(seed, Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not isinstance(compute, ComputeTimes):
        raise ValueError(f"compute must be a ComputeTimes, got {compute!r}")
    if not isinstance(network, network_mod.Network):
        raise ValueError(f"network must be a repro.sgd.network.Network, got {network!r}")
    features, labels = np.asarray(features), np.asarray(labels)
    n = len(shards)
    if n < 1:
        raise ValueError("shards must hold at least one worker")
    if algorithm != "allreduce":
        if adjacency is None:
            raise ValueError(f"algorithm {algorithm!r} needs the communication graph (adjacency=)")
        adjacency = np.asarray(adjacency)
        if adjacency.shape != (n, n):
            raise ValueError(f"adjacency is {adjacency.shape} but there are {n} workers")
        if not topology.is_connected(adjacency):
            raise ValueError("the communication graph is not connected")
    samplers = [WorkerSampler(s, batch_size, seed, i) for i, s in enumerate(shards)]
    n_total = int(sum(len(s) for s in shards))
    x0 = model.init(int(seed)) if x0 is None else np.asarray(x0, dtype=float)
    X = np.tile(x0, (n, 1))
    bits = int(message_bits) if message_bits is not None else Identity().message_bits(model.dim)
    trng = np.random.default_rng([int(seed), 2 ** 20])
    factors = compute.factors(n)
    rec = _Recorder(model, features, labels, shards, eval_sets)
    grads_per_epoch = n_total / batch_size
    common = dict(algorithm=algorithm, n_workers=n, batch_size=int(batch_size), seed=int(seed))
    if algorithm == "adpsgd":
        return _run_adpsgd(model, features, labels, samplers, X, adjacency, epochs, lr, compute, factors,
                           network, bits, trng, rec, grads_per_epoch, evals_per_epoch, progress, keep_final, common)
    return _run_sync(algorithm, model, features, labels, samplers, X, adjacency, epochs, lr, compute, factors,
                     network, bits, trng, rec, grads_per_epoch, evals_per_epoch, progress, keep_final, common)


def _finish(rec, grads_per_epoch, common, **kw):
    g = np.array(rec.grads)
    return AsyncHistory(times=np.array(rec.times), epochs=g / grads_per_epoch, grads=g,
                        metrics={k: np.array(v) for k, v in rec.recs.items()}, **common, **kw)


def _run_sync(name, model, features, labels, samplers, X, adjacency, epochs, lr, compute, factors, network, bits,
              trng, rec, grads_per_epoch, evals_per_epoch, progress, keep_final, common):
    from . import algorithms

    n = len(samplers)
    if name == "allreduce":
        algo = algorithms.make_algorithm("allreduce")
        comm = network_mod.iteration_time(network, "allreduce", n, bits)
    else:
        W = topology.mixing_matrix(adjacency)
        if name == "d2":
            W, _ = topology.fix_for_d2(W)
        algo = algorithms.make_algorithm(name, W=W)
        deg = topology.degrees(adjacency)
        comm = np.array([network_mod.iteration_time(network, "gossip", n, bits, degree=int(d)) for d in deg])
        nbhd = [np.r_[i, np.flatnonzero(adjacency[i])] for i in range(n)]
    algo.init(X)
    rounds = max(1, math.ceil(epochs * grads_per_epoch / n))
    every = max(1, round(grads_per_epoch / n / evals_per_epoch))
    end = np.zeros(n)  # finish time of every worker's last round
    rec(algo.X, 0.0, 0)
    diverged = False
    done = 0
    dummy = np.random.default_rng(0)  # the uncompressed steps take no randomness
    with np.errstate(over="ignore", invalid="ignore"):
        for r in tqdm(range(rounds), disable=not progress, desc=name, leave=False):
            idx = np.stack([s.next() for s in samplers])
            _, G = model.loss_grad(algo.X, features[idx], labels[idx])
            c = compute.draw(factors, trng)
            if name == "allreduce":
                end[:] = end.max() + c.max() + comm
            else:
                start = np.array([end[nb].max() for nb in nbhd])
                end = start + c + comm
            algo.step(G, lr, dummy)
            done += 1
            if not np.isfinite(algo.X.sum()):
                diverged = True
                rec(algo.X, end.max(), (r + 1) * n)
                break
            if (r + 1) % every == 0 or r + 1 == rounds:
                rec(algo.X, end.max(), (r + 1) * n)
    return _finish(rec, grads_per_epoch, common, staleness=np.zeros(0, int), local_staleness=np.zeros(0, int),
                   grads_per_worker=np.full(n, done), diverged=diverged,
                   final_X=algo.X.copy() if keep_final else None)


def _run_adpsgd(model, features, labels, samplers, X, adjacency, epochs, lr, compute, factors, network, bits,
                trng, rec, grads_per_epoch, evals_per_epoch, progress, keep_final, common):
    n = len(samplers)
    active = bipartite_split(adjacency)
    neighbours = [np.flatnonzero(adjacency[i]) for i in range(n)]
    swap = network.message_time(bits)
    total = max(1, math.ceil(epochs * grads_per_epoch))
    every = max(1, round(grads_per_epoch / evals_per_epoch))
    G = np.zeros_like(X)                 # the gradient each worker is computing
    read_global = np.zeros(n, dtype=np.int64)   # global gradient count when it read its model
    read_local = np.zeros(n, dtype=np.int64)    # its own model's change count when it read it
    changes = np.zeros(n, dtype=np.int64)       # changes to each worker's model so far
    link_free = np.zeros(n)
    per_worker = np.zeros(n, dtype=np.int64)
    stale, lstale = [], []
    heap: list = []
    seq = 0
    applied = 0

    def start(i, t):
        nonlocal seq
        idx = samplers[i].next()
        G[i] = model.loss_grad(X[i:i + 1], features[idx][None], labels[idx][None])[1][0]
        read_global[i], read_local[i] = applied, changes[i]
        heapq.heappush(heap, (t + float(compute.draw(factors, trng, i)[0]), seq, 0, i, -1))
        seq += 1

    rec(X, 0.0, 0)
    for i in range(n):
        start(i, 0.0)
    diverged = False
    bar = tqdm(total=total, disable=not progress, desc="adpsgd", leave=False)
    with np.errstate(over="ignore", invalid="ignore"):
        while applied < total:
            t, _, kind, i, j = heapq.heappop(heap)
            if kind == 0 and active[i]:
                # gradient ready on an active worker: swap models with a random passive neighbour
                j = int(neighbours[i][trng.integers(len(neighbours[i]))])
                s = max(t, link_free[i], link_free[j])
                link_free[i] = link_free[j] = s + swap
                heapq.heappush(heap, (s + swap, seq, 1, i, j))
                seq += 1
                continue
            if kind == 1:   # the swap is over: atomic averaging, then the gradient
                avg = 0.5 * (X[i] + X[j])
                X[i] = avg
                X[j] = avg
                changes[i] += 1
                changes[j] += 1
            X[i] -= lr * G[i]
            stale.append(applied - read_global[i])
            lstale.append(changes[i] - read_local[i])
            changes[i] += 1
            applied += 1
            per_worker[i] += 1
            bar.update()
            if not np.isfinite(X[i].sum()):
                diverged = True
                rec(X, t, applied)
                break
            if applied % every == 0 or applied == total:
                rec(X, t, applied)
            start(i, t)
    bar.close()
    return _finish(rec, grads_per_epoch, common, staleness=np.array(stale), local_staleness=np.array(lstale),
                   grads_per_worker=per_worker, diverged=diverged, final_X=X.copy() if keep_final else None)

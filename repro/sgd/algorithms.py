r"""Synchronous data-parallel SGD algorithms on stacked parameters, and a driver.

Conventions
-----------
* ``X`` has shape ``(n, d)``: **row** ``i`` is worker ``i``'s model :math:`x_i`.
  ``G`` (same shape) holds the workers' stochastic gradients
  :math:`g_i = \nabla F_i(x_i; \xi_i)`, each taken at the worker's own current model.
* Gossip averaging is the left product ``W @ X``: row ``i`` becomes
  :math:`\sum_j W_{ij} x_j`. The papers write models as **columns** and the product as
  ``X W``; with ``W`` symmetric the two are the same update, transposed.
* ``lr`` is the step size γ. Every step function is pure (returns new arrays) and takes
  randomness only from an explicit ``rng``, so an asynchronous driver (AD-PSGD) can reuse
  them on subsets of rows.

Update rules (one function each):

============================ =========================================================
:func:`allreduce_step`       :math:`x \leftarrow x - \gamma\,\frac1n\sum_i g_i` (all rows equal)
:func:`qsgd_allreduce_step`  :math:`x \leftarrow x - \gamma\,\frac1n\sum_i Q(g_i)`
:func:`dpsgd_step`           :math:`X \leftarrow WX - \gamma G`
:func:`d2_step`              :math:`X^1 = W(X^0 - \gamma G^0)`,
                             :math:`X^{t+1} = W(2X^t - X^{t-1} - \gamma G^t + \gamma G^{t-1})`
:func:`dcd_step`             :math:`X \leftarrow X + C(WX - \gamma G - X)`
:func:`ecd_step`             :math:`X^{t+1} = W\tilde Y^t - \gamma G^t`, :math:`Z = (1-\frac t2)X^t + \frac t2 X^{t+1}`,
                             :math:`\tilde Y^{t+1} = (1-\frac2t)\tilde Y^t + \frac2t C(Z)`
:func:`naive_quantized_step` :math:`x_i \leftarrow W_{ii}x_i + \sum_{j\ne i}W_{ij}C(x_j) - \gamma g_i`
============================ =========================================================

References
----------
.. [L17] Lian et al. 2017, arXiv:1705.09056 (D-PSGD).
.. [T18a] Tang, Lian, Yan, Zhang, Liu 2018, arXiv:1803.07068 (D², Algorithm 1).
.. [T18b] Tang, Gan, Zhang, Zhang, Liu 2018, arXiv:1803.06443 (DCD-PSGD, Algorithm 1;
   ECD-PSGD, Algorithm 2).
.. [A17] Alistarh et al. 2017, arXiv:1610.02132 (QSGD).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from scipy.linalg.blas import daxpy as _daxpy
from scipy.linalg.blas import dgemm as _dgemm
from scipy.linalg.blas import saxpy as _saxpy
from scipy.linalg.blas import sgemm as _sgemm
from tqdm import tqdm

from .compress import Identity
from .topology import as_rng, check_mixing

__all__ = [
    "ALGORITHMS", "allreduce_step", "qsgd_allreduce_step", "dpsgd_step", "d2_step", "dcd_step",
    "ecd_step", "naive_quantized_step", "Algorithm", "make_algorithm", "lr_schedule", "History",
    "simulate", "consensus_distance", "DTYPES", "check_dtype", "GOSSIP", "BlockedGossip",
]


# ---------------------------------------------------------------------------- step functions
def allreduce_step(X, G, lr):
    r"""Centralized minibatch SGD through an exact AllReduce.

    :math:`x \leftarrow x - \gamma\,\frac1n\sum_i g_i` on every row (the rows of ``X`` stay
    identical: one model, ``n`` minibatches).
    """
    return X - lr * G.mean(axis=0, keepdims=True)


def qsgd_allreduce_step(X, G, lr, compressor, rng):
    r"""Centralized SGD averaging quantized gradients (QSGD-style, Alistarh et al. 2017).

    :math:`x \leftarrow x - \gamma\,\frac1n\sum_i Q(g_i)`. Every worker quantizes its
    gradient once; the average of the decoded gradients is applied by all (as with a
    parameter server, or an AllGather of the compressed gradients).
    """
    return X - lr * compressor(G, rng).mean(axis=0, keepdims=True)


_AXPY = {np.dtype(np.float64): _daxpy, np.dtype(np.float32): _saxpy}


def _axpy_into(out, G, a):
    """``out += a * G`` in place, in one pass and without a temporary (BLAS daxpy / saxpy)
    when both are C-contiguous float64 (or both float32) arrays of the same shape; numpy
    otherwise."""
    if (out.dtype == G.dtype and out.dtype in _AXPY and out.shape == G.shape
            and out.flags.c_contiguous and G.flags.c_contiguous and out.size):
        _AXPY[out.dtype](G.reshape(-1), out.reshape(-1), a=float(a))
    else:
        out += a * G
    return out


def dpsgd_step(X, G, W, lr):
    r"""D-PSGD (Lian et al. 2017): :math:`x_i \leftarrow \sum_j W_{ij}x_j - \gamma g_i`,
    i.e. :math:`X \leftarrow WX - \gamma G` (gradients taken at the pre-averaging models)."""
    if isinstance(W, BlockedGossip):
        return W.mix_axpy(X, G, -lr)
    out = np.ascontiguousarray(W @ X)
    return _axpy_into(out, G, -lr)


def d2_step(X, X_prev, G, G_prev, W, lr, lr_prev=None):
    r"""D² (Tang et al. 2018, arXiv:1803.07068, Algorithm 1).

    First step (``X_prev is None``): :math:`X^1 = W(X^0 - \gamma G^0)`.
    Later: :math:`X^{t+1} = W(2X^t - X^{t-1} - \gamma_t G^t + \gamma_{t-1}G^{t-1})`
    (with a constant step the paper's :math:`\gamma(G^t - G^{t-1})`; ``lr_prev`` defaults to
    ``lr``). Needs :math:`\lambda_{\min}(W) > -1/3` (see
    :func:`repro.sgd.topology.fix_for_d2`). The correction term cancels the spread of the
    local gradients, so the fixed point is the optimum of :math:`\frac1n\sum_i f_i` however
    different the workers' data are.
    """
    if X_prev is None:
        return W @ (X - lr * G)
    lr_prev = lr if lr_prev is None else lr_prev
    return W @ (2.0 * X - X_prev - lr * G + lr_prev * G_prev)


def dcd_step(X, G, W, lr, compressor, rng):
    r"""DCD-PSGD, difference compression (Tang et al. 2018, arXiv:1803.06443, Algorithm 1).

    Worker ``i`` forms :math:`x_i^{t+1/2} = \sum_j W_{ij}x_j^t - \gamma g_i`, compresses the
    difference :math:`z_i = x_i^{t+1/2} - x_i^t` and sends :math:`C(z_i)`; it and every
    neighbour add :math:`C(z_i)` to their copy of :math:`x_i`, so all copies stay equal:
    :math:`X \leftarrow X + C(WX - \gamma G - X)`.
    """
    return X + compressor(W @ X - lr * G - X, rng)


def ecd_step(X, Y, G, W, lr, t, compressor, rng):
    r"""ECD-PSGD, extrapolation compression (Tang et al. 2018, arXiv:1803.06443, Algorithm 2).

    ``Y`` (shape ``(n, d)``) holds the estimates :math:`\tilde y_j` of every worker's model
    that its neighbours keep (all neighbours of ``j`` hold the same estimate). With
    iteration counter ``t >= 1``:

    * :math:`x_i^{t+1} = \sum_j W_{ij}\tilde y_j^t - \gamma g_i`;
    * worker ``i`` sends :math:`C(z_i)`, the compressed extrapolation
      :math:`z_i = (1 - t/2)\,x_i^t + (t/2)\,x_i^{t+1}`;
    * every holder updates :math:`\tilde y_i^{t+1} = (1 - 2/t)\,\tilde y_i^t + (2/t)\,C(z_i)`,
      an unbiased estimate of :math:`x_i^{t+1}` whose compression noise shrinks like
      :math:`O(1/t)`.

    Returns ``(X_new, Y_new)``.
    """
    if t < 1:
        raise ValueError(f"ECD-PSGD's iteration counter t must be >= 1, got {t}")
    X_new = W @ Y - lr * G
    Z = (1.0 - 0.5 * t) * X + 0.5 * t * X_new
    Y_new = (1.0 - 2.0 / t) * Y + (2.0 / t) * compressor(Z, rng)
    return X_new, Y_new


def naive_quantized_step(X, G, W, lr, compressor, rng):
    r"""D-PSGD with compressed models sent to neighbours — the "merely quantized" baseline.

    :math:`x_i \leftarrow W_{ii}x_i + \sum_{j\ne i}W_{ij}C(x_j) - \gamma g_i`: a worker
    keeps its own model exact and hears a fresh compression of each neighbour's model.
    The compression noise scales with :math:`\lVert x\rVert`, not with the change, so it does
    not vanish as training converges (Tang et al. 2018, arXiv:1803.06443, Sect. 3).
    """
    d = np.diag(W)
    return d[:, None] * X + (W - np.diag(d)) @ compressor(X, rng) - lr * G


def consensus_distance(X) -> float:
    r""":math:`\frac1n\sum_i\lVert x_i - \bar x\rVert^2` (in float64 whatever the dtype of ``X``)."""
    X = np.asarray(X)
    if X.dtype != np.float64:  # the mean and the deviations in float64, without a float64 copy of X
        dev = X - X.mean(axis=0, keepdims=True, dtype=np.float64)
    else:
        dev = X - X.mean(axis=0, keepdims=True)
    return float(np.einsum("ij,ij->", dev, dev) / X.shape[0])


# --------------------------------------------------------------------------- stateful wrappers
ALGORITHMS = ("allreduce", "qsgd_allreduce", "dpsgd", "d2", "dcd", "ecd", "naive_quantized")
_GOSSIP = {"dpsgd", "d2", "dcd", "ecd", "naive_quantized"}
_COMPRESSED = {"qsgd_allreduce", "dcd", "ecd", "naive_quantized"}


class Algorithm:
    """One algorithm with its state, stepping the stacked models ``X``.

    Build with :func:`make_algorithm`. ``init(X0)`` sets the models; ``step(G, lr, rng)``
    applies one update given the gradients ``G`` at the current ``X``.

    Attributes
    ----------
    name : str, one of :data:`ALGORITHMS`
    communication : {"allreduce", "gossip"}
    W : (n, n) array or None
    compressor : compressor or None
    X : (n, d) array, the current models
    t : int, steps taken
    """

    def __init__(self, name, W=None, compressor=None, gossip="blocked"):
        self.name = name
        self.communication = "gossip" if name in _GOSSIP else "allreduce"
        self.W = W
        self.gossip = _check_gossip(gossip)
        self._mix = None  # W as applied, built by init() for the models' dtype and size
        self.compressor = compressor
        self.X = None
        self.t = 0
        self._state: dict = {}

    def __repr__(self):
        return f"Algorithm({self.name!r}, compressor={self.compressor!r})"

    def message_bits(self, d: int) -> int:
        """Bits of one message (a model, difference, extrapolation or gradient of size ``d``)."""
        return (self.compressor or Identity()).message_bits(d)

    def init(self, X0, dtype=np.float64) -> None:
        """Set the models to ``X0`` (copied), held as ``dtype`` (float64, or float32 to halve
        the memory traffic of large simulations; every later state keeps that dtype)."""
        dtype = check_dtype(dtype)
        X0 = np.array(X0, dtype=dtype, copy=True)
        if X0.ndim != 2:
            raise ValueError(f"initial models must have shape (n_workers, d), got {X0.shape}")
        if self.W is not None and self.W.shape[0] != X0.shape[0]:
            raise ValueError(f"W is {self.W.shape[0]}x{self.W.shape[0]} but there are {X0.shape[0]} workers")
        self.X, self.t = X0, 0
        self._state = {"Y": X0.copy()} if self.name == "ecd" else {}
        if self.W is not None and (self._mix is None or self._mix.dtype != dtype or self.gossip != "csr"):
            self._mix = _mixer(self.W, dtype, self.gossip, d=X0.shape[1])

    def step(self, G, lr, rng) -> np.ndarray:
        X, W, C, s = self.X, self._mix, self.compressor, self._state
        name = self.name
        if name == "allreduce":
            X = allreduce_step(X, G, lr)
        elif name == "qsgd_allreduce":
            X = qsgd_allreduce_step(X, G, lr, C, rng)
        elif name == "dpsgd":
            X = dpsgd_step(X, G, W, lr)
        elif name == "d2":
            Xn = d2_step(X, s.get("X_prev"), G, s.get("G_prev"), W, lr, s.get("lr_prev"))
            s.update(X_prev=X, G_prev=G, lr_prev=lr)
            X = Xn
        elif name == "dcd":
            X = dcd_step(X, G, W, lr, C, rng)
        elif name == "ecd":
            X, s["Y"] = ecd_step(X, s["Y"], G, W, lr, self.t + 1, C, rng)
        elif name == "naive_quantized":
            X = naive_quantized_step(X, G, self.W, lr, C, rng)
        if X.dtype != self.X.dtype:  # float32 state: compressors and a float64 W compute in float64
            X = X.astype(self.X.dtype)
            if "Y" in s:
                s["Y"] = s["Y"].astype(self.X.dtype, copy=False)
        self.X = X
        self.t += 1
        return X


DTYPES = (np.float64, np.float32)


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy dtype, if it is one of the supported state dtypes (float64, float32)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in [np.dtype(t) for t in DTYPES]:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    return dt


GOSSIP = ("csr", "blocked")


def _check_gossip(gossip):
    if gossip not in GOSSIP:
        raise ValueError(f"gossip must be one of {', '.join(map(repr, GOSSIP))}, got {gossip!r}")
    return gossip


def _mixer(W, dtype=np.float64, gossip="csr", d: int = 7850):
    """``W`` for the products ``W @ X``: a sparse (CSR) copy when most entries are zero.

    A ring or torus of n workers has O(n) non-zeros, so the gossip product costs O(n d)
    instead of the O(n^2 d) of a dense product; the result is the same up to the order of
    floating-point additions. ``dtype`` is the models' dtype (float32 rounds the weights).
    With ``gossip="blocked"`` a banded ``W`` (ring, torus) becomes a :class:`BlockedGossip`
    instead (BLAS products on row blocks, sized for models of ``d`` parameters), when that
    does not cost much more arithmetic.
    """
    if W is None:
        return None
    W = np.asarray(W, dtype=dtype)
    if W.shape[0] >= 16 and np.count_nonzero(W) <= 0.25 * W.size:
        if _check_gossip(gossip) == "blocked":
            blocked = BlockedGossip(W, d_hint=d)
            if blocked.worthwhile(np.count_nonzero(W)):
                return blocked
        from scipy import sparse
        return sparse.csr_array(W)
    return W


class BlockedGossip:
    r"""The gossip product ``W @ X`` for a banded ``W`` as a few BLAS matrix products.

    The rows of ``W`` are cut into blocks of a few workers; the columns a block uses form
    one or a few contiguous runs (on a ring: the block and its two neighbours, plus the far
    end of the ring for the first and last block), and each run is one dense product
    ``W[block, run] @ X[run]`` (BLAS gemm, no copy of ``X``). The zeros inside a run cost
    some arithmetic, but BLAS does it faster than the scalar loop of a CSR product (at 128
    workers of 7850 parameters the D-PSGD update took about two thirds of the CSR time,
    in float64 and float32), and the block stays in cache. :meth:`mix_axpy` also folds the D-PSGD update
    :math:`WX - \gamma G` into the same products (gemm's ``beta``), so ``X`` and ``G`` are
    each read once per step and no temporary of the size of ``X`` is written.

    The result equals the CSR product to rounding (BLAS multiplies and adds in another
    order, with fused multiply-adds), not bit for bit; rounding may also differ between BLAS
    builds and CPUs. It is the default of :func:`simulate` (``gossip="blocked"``); pass
    ``gossip="csr"`` for the plain sparse product.

    Attributes
    ----------
    shape, dtype : of ``W``
    work : int
        Entries of ``W`` the products multiply (the dense runs' sizes), against
        ``count_nonzero(W)`` for CSR.
    n_runs : int
        Products per gossip step (one gemm call each).

    :func:`_mixer` keeps CSR unless :meth:`worthwhile`: at most :attr:`MAX_WORK` times the
    arithmetic of CSR, and runs at least :attr:`MIN_RUN` columns wide on average (a random
    regular graph scatters its neighbours into many one-column runs, each a gemm call too
    small to pay for itself).
    """

    MAX_WORK = 8
    MIN_RUN = 4
    BLOCK_BYTES = 1 << 18  # rows per block: about this many bytes of X (256 KiB), 4 to 8 rows

    def __init__(self, W, rows_per_block: int | None = None, d_hint: int = 7850):
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.dtype not in (np.float64, np.float32):
            raise ValueError(f"W must be a square float64 or float32 matrix, got {W.shape} {W.dtype}")
        n = W.shape[0]
        self.shape, self.dtype = W.shape, W.dtype
        self._gemm = _dgemm if W.dtype == np.float64 else _sgemm
        if rows_per_block is None:
            rows_per_block = int(np.clip(self.BLOCK_BYTES // (d_hint * W.itemsize), 4, 8))
        self.rows_per_block = int(rows_per_block)
        self.blocks, self.work = [], 0
        for b0 in range(0, n, self.rows_per_block):
            b1 = min(b0 + self.rows_per_block, n)
            cols = np.flatnonzero(np.any(W[b0:b1] != 0, axis=0))
            runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1) if cols.size else []
            # W[block, run] transposed, Fortran order: gemm then reads X[run] in place
            self.blocks.append((b0, b1, [(int(r[0]), int(r[-1]) + 1, np.asfortranarray(W[b0:b1, r[0]:r[-1] + 1].T))
                                         for r in runs]))
            self.work += sum((b1 - b0) * (int(r[-1]) + 1 - int(r[0])) for r in runs)
        self.n_runs = sum(len(runs) for _, _, runs in self.blocks)
        self._run_width = sum(j1 - j0 for _, _, runs in self.blocks for j0, j1, _ in runs) / max(1, self.n_runs)

    def worthwhile(self, nnz: int) -> bool:
        """Whether the blocked products should beat a CSR product of ``nnz`` non-zeros."""
        return self.work <= self.MAX_WORK * nnz and self._run_width >= self.MIN_RUN

    def __repr__(self):
        return f"BlockedGossip(n={self.shape[0]}, dtype={self.dtype}, rows_per_block={self.rows_per_block})"

    def __matmul__(self, X):
        return self.mix_axpy(X)

    def mix_axpy(self, X, G=None, a: float = 0.0):
        """``W @ X + a * G`` (``W @ X`` without ``G``) as a new C-contiguous array."""
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[0] != self.shape[1]:
            raise ValueError(f"X must have shape ({self.shape[1]}, d), got {X.shape}")
        out = np.empty_like(X)
        if G is not None:
            G = np.ascontiguousarray(G, dtype=self.dtype)
            if G.shape != X.shape:
                raise ValueError(f"G must have the shape of X {X.shape}, got {G.shape}")
        if X.shape[1] == 0:
            return out
        gemm = self._gemm
        for b0, b1, runs in self.blocks:
            o = out[b0:b1]
            if G is None:
                beta = 0.0
            else:
                np.copyto(o, G[b0:b1])
                beta = float(a)
            if not runs:  # a block of zero rows (not a mixing matrix, but well defined)
                if G is None:
                    o.fill(0.0)
                else:
                    o *= beta
            for j0, j1, wt in runs:
                # out_block^T = X[run]^T @ W[block, run]^T + beta out_block^T (all Fortran views)
                gemm(1.0, X[j0:j1].T, wt, beta=beta, c=o.T, overwrite_c=1)
                beta = 1.0
        return out


def make_algorithm(name: str, W=None, compressor=None, gossip: str = "blocked") -> Algorithm:
    """An :class:`Algorithm` by name, checking what it needs.

    Gossip algorithms (``dpsgd``, ``d2``, ``dcd``, ``ecd``, ``naive_quantized``) need a valid
    mixing matrix ``W`` (checked with :func:`~repro.sgd.topology.check_mixing`; ``d2`` also
    needs λ_min(W) > -1/3); compressed ones (``qsgd_allreduce``, ``dcd``, ``ecd``,
    ``naive_quantized``) need a ``compressor``. ``gossip`` picks how a sparse ``W`` is
    applied: ``"blocked"`` (default: :class:`BlockedGossip`, BLAS products on row blocks of a
    banded ``W`` such as a ring or torus, falling back to CSR for other sparse ``W``; what the
    chains use) or ``"csr"`` (always a CSR product: the same to rounding, slower for many
    workers, and independent of the BLAS library's kernels).
    """
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    if name in _GOSSIP:
        if W is None:
            raise ValueError(f"algorithm {name!r} needs a mixing matrix W")
        info = check_mixing(W)
        if info.n_workers < 2:
            raise ValueError("decentralized algorithms need n_workers >= 2")
        if name == "d2" and not info.d2_ok:
            raise ValueError(f"D2 needs lambda_min(W) > -1/3 but lambda_min(W) = {info.lambda_min:.4f}; "
                             f"use repro.sgd.topology.fix_for_d2(W), which gives (W + I)/2")
        W = np.asarray(W, dtype=float)
    else:
        W = None
    if name in _COMPRESSED:
        if compressor is None:
            raise ValueError(f"algorithm {name!r} needs a compressor (e.g. StochasticQuantizer(bits=8))")
    else:
        compressor = None
    return Algorithm(name, W=W, compressor=compressor, gossip=gossip)


# ------------------------------------------------------------------------------- schedules
def lr_schedule(kind: str, lr: float, *, decay: float = 0.1, milestones=(), tau: float = 1.0) -> Callable[[int], float]:
    """A learning-rate schedule ``t -> γ_t`` (``t`` counts steps from 0).

    ``"constant"``: γ; ``"inv_sqrt"``: γ / sqrt(1 + t/τ); ``"inv"``: γ / (1 + t/τ);
    ``"step"``: γ · decay^(number of ``milestones`` ≤ t).
    """
    if not isinstance(lr, Real) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau!r}")
    lr = float(lr)
    if kind == "constant":
        return lambda t: lr
    if kind == "inv_sqrt":
        return lambda t: lr / np.sqrt(1.0 + t / tau)
    if kind == "inv":
        return lambda t: lr / (1.0 + t / tau)
    if kind == "step":
        ms = np.sort(np.asarray(milestones, dtype=float))
        return lambda t: lr * decay ** int(np.searchsorted(ms, t, side="right"))
    raise ValueError(f"unknown schedule {kind!r}; choose 'constant', 'inv_sqrt', 'inv' or 'step'")


# ---------------------------------------------------------------------------------- driver
@dataclass
class History:
    """What :func:`simulate` records, every ``eval_every`` steps (and at steps 0 and T).

    ``metrics`` maps names to arrays aligned with ``steps``: ``train_loss`` and
    ``train_acc`` of the averaged model :math:`\\bar x` on the objective
    :math:`\\frac1n\\sum_i f_i` (every worker's shard weighted equally), ``consensus``
    (:func:`consensus_distance`), and ``<name>_loss`` / ``<name>_acc`` for every evaluation
    set. ``epochs`` counts passes over the training samples (``n * batch_size`` samples
    per step).
    """

    algorithm: str
    n_workers: int
    batch_size: int
    dim: int
    message_bits: int
    communication: str
    seed: int
    steps: np.ndarray
    epochs: np.ndarray
    metrics: dict = field(default_factory=dict)
    lr: np.ndarray | None = None
    diverged: bool = False
    final_X: np.ndarray | None = None

    def __getitem__(self, key):
        return self.metrics[key]

    def to_dict(self) -> dict:
        """JSON-ready dict (lists instead of arrays; the final models left out)."""
        return {
            "algorithm": self.algorithm, "n_workers": self.n_workers, "batch_size": self.batch_size,
            "dim": self.dim, "message_bits": self.message_bits, "communication": self.communication,
            "seed": self.seed, "diverged": self.diverged, "steps": self.steps.tolist(),
            "epochs": self.epochs.tolist(), "lr": None if self.lr is None else self.lr.tolist(),
            "metrics": {k: v.tolist() for k, v in self.metrics.items()},
        }


class _Sampler:
    """Per-worker minibatches without replacement: every worker walks through a fresh
    random permutation of its shard, ``batch_size`` samples at a time (an incomplete last
    batch of a pass is skipped). Vectorized over workers."""

    def __init__(self, shards, batch_size, rng):
        self.sizes = np.array([len(s) for s in shards])
        if batch_size > self.sizes.min():
            raise ValueError(f"batch_size={batch_size} exceeds the smallest shard ({self.sizes.min()} samples)")
        n, m = len(shards), self.sizes.max()
        self.shards = np.zeros((n, m), dtype=np.intp)
        for i, s in enumerate(shards):
            self.shards[i, :len(s)] = s
        self.perm = np.zeros((n, m), dtype=np.intp)
        self.b, self.rng = batch_size, rng
        self.rows = np.arange(n)[:, None]
        self.pos = np.zeros(n, dtype=np.intp)
        for i in range(n):
            self._reshuffle(i)

    def _reshuffle(self, i):
        k = self.sizes[i]
        self.perm[i, :k] = self.shards[i, self.rng.permutation(k)]
        self.pos[i] = 0

    def next(self):
        for i in np.flatnonzero(self.pos + self.b > self.sizes):
            self._reshuffle(i)
        idx = self.perm[self.rows, self.pos[:, None] + np.arange(self.b)]
        self.pos += self.b
        return idx


def simulate(algorithm, model, features, labels, shards, *, n_steps: int, batch_size: int, lr, seed: int,
             W=None, compressor=None, x0=None, eval_every: int | None = None, eval_sets: dict | None = None,
             progress: bool = False, keep_final: bool = True, dtype=np.float64, gossip: str = "blocked") -> History:
    r"""Run one synchronous algorithm for ``n_steps`` steps and record its history.

    Parameters
    ----------
    algorithm : str or Algorithm
        A name in :data:`ALGORITHMS` (then ``W``/``compressor`` are passed to
        :func:`make_algorithm`) or a ready :class:`Algorithm`.
    model : a :mod:`repro.sgd.models` model
    features, labels : arrays ``(N, p)`` and ``(N,)``
        The training data; ``shards`` index into them (one index array per worker).
    shards : list of integer arrays
        The partition (see :mod:`repro.sgd.partition`); ``len(shards)`` is ``n_workers``.
    n_steps, batch_size : int
        Iterations, and samples per worker per iteration.
    lr : float or callable
        Constant step size or a schedule ``t -> γ_t`` (see :func:`lr_schedule`).
    seed : int
        Seeds the single generator used for minibatches and compression: equal seeds give
        bit-identical histories.
    x0 : (d,) array, optional
        Common initial model; default ``model.init(seed)``.
    eval_every : int, optional
        Record every this many steps (default: about 50 records).
    eval_sets : dict name -> (features, labels), optional
        Extra sets (e.g. ``{"test": (Xte, yte)}``) on which the averaged model is scored.
    progress : bool
        Show a tqdm progress bar.
    keep_final : bool
        Keep the final ``(n, d)`` models in ``History.final_X``.
    dtype : float64 (default) or float32
        Precision of the models, the gradients, the gossip weights and the training features
        (cast once). float32 halves the memory traffic of every step, which is what limits
        large simulations (128 workers x 7850 parameters is 8 MB in float64); compressors
        still compute in float64 and their output is rounded to float32. The default keeps
        every published number of the chains; float32 runs differ from them by rounding.
    gossip : {"blocked", "csr"}
        How a sparse ``W`` is applied (see :func:`make_algorithm`): ``"blocked"`` (default:
        BLAS products on row blocks of a banded ``W`` such as a ring or torus, CSR otherwise;
        about a third faster at 128 workers) or ``"csr"`` (always CSR; equal to rounding).
        Ignored when ``algorithm`` is a ready :class:`Algorithm`.

    Returns
    -------
    History
        If the models stop being finite the run stops there with ``diverged=True``.
    """
    if not isinstance(n_steps, Integral) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(seed, Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    n_workers = len(shards)
    if n_workers < 1:
        raise ValueError("shards must hold at least one worker's index array")
    dtype = check_dtype(dtype)
    _check_gossip(gossip)
    algo = algorithm if isinstance(algorithm, Algorithm) else make_algorithm(algorithm, W=W, compressor=compressor,
                                                                               gossip=gossip)
    if algo.communication == "gossip" and n_workers < 2:
        raise ValueError(f"n_workers must be >= 2 for {algo.name!r}, got {n_workers}")
    schedule = lr if callable(lr) else lr_schedule("constant", lr)
    features = np.asarray(features)
    if dtype != np.float64 and features.dtype != dtype:
        features = features.astype(dtype)
    labels = np.asarray(labels)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(f"features must be (N, p) and labels (N,), got {features.shape} and {labels.shape}")
    shards = [np.asarray(s, dtype=np.intp) for s in shards]
    rng = as_rng(int(seed))
    sampler = _Sampler(shards, int(batch_size), rng)
    x0 = model.init(int(seed)) if x0 is None else np.asarray(x0, dtype=float)
    if x0.shape != (model.dim,):
        raise ValueError(f"x0 must have shape ({model.dim},), got {x0.shape}")
    algo.init(np.tile(x0.astype(dtype, copy=False), (n_workers, 1)), dtype=dtype)
    every = int(eval_every) if eval_every else max(1, n_steps // 50)

    # The objective (1/n) sum_i f_i: each training sample weighs 1 / (n * |shard_i|).
    train_idx = np.concatenate(shards)
    weights = np.concatenate([np.full(len(s), 1.0 / (n_workers * len(s))) for s in shards])
    y_train = labels[train_idx]
    # When the shards hold every sample once (a permutation of the rows: the usual case), the
    # averaged model is scored on ``features`` as they are and the per-sample results are put
    # in shard order, instead of copying the whole set into that order for every run (the
    # rows are scored independently, so the numbers are the same; for MNIST in float64 the
    # copy took about 12 ms, a few per cent of a short run). Otherwise the rows are copied.
    n_rows = features.shape[0]
    if train_idx.size == n_rows and np.array_equal(np.sort(train_idx), np.arange(n_rows)):
        f_train, y_score, order = features, labels, train_idx
    else:
        f_train, y_score, order = features[train_idx], y_train, slice(None)
    total = int(sum(len(s) for s in shards))
    eval_sets = dict(eval_sets or {})

    recs: dict[str, list] = {"train_loss": [], "train_acc": [], "consensus": []}
    for name in eval_sets:
        recs[f"{name}_loss"] = []
        recs[f"{name}_acc"] = []
    steps, lrs = [], []

    def record(t):
        X = algo.X
        xbar = X.mean(axis=0, keepdims=True)
        ps = model.per_sample_loss(xbar, f_train, y_score)[0][order]
        reg = model.penalty(xbar)[0]
        recs["train_loss"].append(float(ps @ weights + reg))
        hit = (model.predict(xbar, f_train)[0][order] == y_train)
        recs["train_acc"].append(float(hit @ weights))
        recs["consensus"].append(consensus_distance(X))
        for name, (fe, la) in eval_sets.items():
            recs[f"{name}_loss"].append(float(model.loss(xbar, fe, la)[0]))
            recs[f"{name}_acc"].append(float(model.accuracy(xbar, fe, la)[0]))
        steps.append(t)

    record(0)
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for t in tqdm(range(n_steps), disable=not progress, desc=algo.name, leave=False):
            idx = sampler.next()
            loss, G = model.loss_grad(algo.X, features[idx], labels[idx])
            # Divergence costs nothing to watch: a non-finite parameter makes the workers'
            # losses at that model non-finite (every parameter meets every sample of the
            # batch), and those come with the gradients. The (n, d) array is checked only
            # then; the run stops at step t with the models of step t, as if checked after
            # the previous update.
            if not np.all(np.isfinite(loss)) and not np.all(np.isfinite(algo.X)):
                diverged = True
                if steps[-1] != t:
                    record(t)
                break
            g = float(schedule(t))
            lrs.append(g)
            algo.step(G, g, rng)
            if (t + 1) % every == 0 or t + 1 == n_steps:
                if t + 1 == n_steps and not np.all(np.isfinite(algo.X)):
                    diverged = True
                record(t + 1)
    steps_a = np.array(steps, dtype=int)
    return History(
        algorithm=algo.name, n_workers=n_workers, batch_size=int(batch_size), dim=model.dim,
        message_bits=algo.message_bits(model.dim), communication=algo.communication, seed=int(seed),
        steps=steps_a, epochs=steps_a * n_workers * batch_size / total,
        metrics={k: np.array(v) for k, v in recs.items()}, lr=np.array(lrs), diverged=diverged,
        final_X=algo.X.copy() if keep_final else None,
    )

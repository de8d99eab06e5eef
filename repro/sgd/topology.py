r"""Communication graphs and mixing matrices for decentralized training.

A graph on ``n`` workers is a symmetric 0/1 adjacency matrix ``A`` (``numpy`` array,
shape ``(n, n)``, zero diagonal). A *mixing matrix* ``W`` (also ``(n, n)``) holds the
weights with which a worker averages its neighbours' models: worker ``i`` computes
:math:`\sum_j W_{ij} x_j`. Decentralized SGD (D-PSGD, D², ECD/DCD-PSGD) needs ``W``
symmetric, doubly stochastic, non-negative and supported on the graph plus the diagonal.

Spectral quantities reported by :func:`check_mixing` (eigenvalues
:math:`1 = \lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_n` of ``W``):

* :math:`\rho = \max(|\lambda_2|, |\lambda_n|)`, the rate at which gossip averaging
  contracts the disagreement between workers;
* the spectral gap :math:`1 - \rho` (positive iff the graph is connected and ``W`` is not
  periodic);
* :math:`\lambda_{\min} = \lambda_n`. D² (Tang et al. 2018, arXiv:1803.07068, Assumption
  1) requires :math:`\lambda_{\min}(W) > -1/3`; :func:`fix_for_d2` replaces ``W`` by
  :math:`(W + I)/2` when that fails, which maps every eigenvalue :math:`\lambda` to
  :math:`(1 + \lambda)/2 \ge 0`.

Randomness (random regular and Erdős–Rényi graphs) only enters through an explicit
:class:`numpy.random.Generator` or integer seed.

References
----------
.. [X04] Xiao, L., Boyd, S. 2004, Systems & Control Letters 53, 65, "Fast linear
   iterations for distributed averaging" (Metropolis–Hastings and max-degree weights).
.. [L17] Lian, X., Zhang, C., Zhang, H., et al. 2017, NeurIPS, "Can decentralized
   algorithms outperform centralized algorithms?" (D-PSGD, arXiv:1705.09056).
.. [T18a] Tang, H., Lian, X., Yan, M., Zhang, C., Liu, J. 2018, ICML, "D²: Decentralized
   training over decentralized data" (arXiv:1803.07068).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from ..datasets import as_rng  # re-exported: every random choice in repro.sgd is seeded

__all__ = [
    "TOPOLOGIES", "ring", "torus", "complete", "random_regular", "erdos_renyi", "graph",
    "is_connected", "degrees", "mixing_matrix", "MixingInfo", "check_mixing", "fix_for_d2",
    "as_rng",
]

TOPOLOGIES = ("ring", "torus", "complete", "random_regular", "erdos_renyi")


def _check_n(n, minimum: int = 2, name: str = "n_workers") -> int:
    if not isinstance(n, Integral) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _from_edges(n: int, i, j) -> np.ndarray:
    a = np.zeros((n, n), dtype=np.int8)
    a[i, j] = 1
    a[j, i] = 1
    np.fill_diagonal(a, 0)
    return a


# ------------------------------------------------------------------------------ graphs
def ring(n: int) -> np.ndarray:
    """Adjacency of the ring (cycle) on ``n >= 2`` workers; ``n = 2`` is a single edge."""
    n = _check_n(n)
    i = np.arange(n)
    return _from_edges(n, i, (i + 1) % n)


def torus(rows: int, cols: int | None = None) -> np.ndarray:
    """Adjacency of the 2-D torus (wrap-around grid) with ``rows x cols`` workers.

    Worker ``r * cols + c`` is joined to its four grid neighbours (fewer when a side has
    length 1 or 2, where neighbours coincide). With ``cols=None``, ``rows`` is the number
    of workers and the most nearly square factorisation ``rows' x cols'`` is used
    (a prime number of workers gives a ``1 x n`` ring).
    """
    if cols is None:
        n = _check_n(rows)
        r = max(k for k in range(1, math.isqrt(n) + 1) if n % k == 0)
        rows, cols = r, n // r
    rows = _check_n(rows, 1, "rows")
    cols = _check_n(cols, 1, "cols")
    n = rows * cols
    if n < 2:
        raise ValueError(f"a torus needs at least 2 workers, got rows={rows}, cols={cols}")
    r, c = np.divmod(np.arange(n), cols)
    right = r * cols + (c + 1) % cols
    down = ((r + 1) % rows) * cols + c
    return _from_edges(n, np.r_[np.arange(n), np.arange(n)], np.r_[right, down])


def complete(n: int) -> np.ndarray:
    """Adjacency of the complete graph on ``n >= 2`` workers."""
    n = _check_n(n)
    return (1 - np.eye(n, dtype=np.int8)).astype(np.int8)


def random_regular(n: int, degree: int, rng, max_tries: int = 1000) -> np.ndarray:
    """A connected random ``degree``-regular graph on ``n`` workers.

    Built by the pairing (configuration) model: ``n * degree`` half-edges are matched
    uniformly at random; draws with self-loops, repeated edges or more than one component
    are rejected. Needs ``1 <= degree < n`` and ``n * degree`` even.

    Parameters
    ----------
    n, degree : int
    rng : numpy.random.Generator or int
    max_tries : int
        Rejection-sampling attempts before a ValueError.
    """
    n = _check_n(n)
    if not isinstance(degree, Integral) or not 1 <= degree < n:
        raise ValueError(f"degree must be an integer in [1, n_workers - 1] = [1, {n - 1}], got {degree!r}")
    if (n * degree) % 2:
        raise ValueError(f"n_workers * degree must be even, got n_workers={n}, degree={degree}")
    if degree == n - 1:
        return complete(n)
    rng = as_rng(rng)
    stubs = np.repeat(np.arange(n), degree)
    for _ in range(max_tries):
        p = rng.permutation(stubs).reshape(-1, 2)
        if np.any(p[:, 0] == p[:, 1]):
            continue
        key = np.minimum(p[:, 0], p[:, 1]) * n + np.maximum(p[:, 0], p[:, 1])
        if len(np.unique(key)) != len(key):
            continue
        a = _from_edges(n, p[:, 0], p[:, 1])
        if is_connected(a):
            return a
    raise ValueError(f"no connected simple {degree}-regular graph on {n} workers found in {max_tries} tries")


def erdos_renyi(n: int, p: float, rng, connected: bool = True, max_tries: int = 1000) -> np.ndarray:
    """An Erdős–Rényi graph G(n, p): each of the n(n-1)/2 edges present with probability ``p``.

    With ``connected=True`` (default) disconnected draws are rejected (decentralized SGD
    cannot reach consensus on a disconnected graph).
    """
    n = _check_n(n)
    if not isinstance(p, Real) or not 0.0 < p <= 1.0:
        raise ValueError(f"edge probability p must be in (0, 1], got {p!r}")
    rng = as_rng(rng)
    iu, ju = np.triu_indices(n, k=1)
    for _ in range(max_tries):
        keep = rng.random(len(iu)) < p
        a = _from_edges(n, iu[keep], ju[keep])
        if not connected or is_connected(a):
            return a
    raise ValueError(f"no connected G(n={n}, p={p}) graph found in {max_tries} tries; increase p")


def graph(name: str, n: int, *, rng=None, degree: int | None = None, p: float | None = None) -> np.ndarray:
    """Adjacency of a named topology: one of :data:`TOPOLOGIES`.

    ``random_regular`` needs ``degree`` and ``rng``; ``erdos_renyi`` needs ``p`` and ``rng``;
    ``torus`` uses the most nearly square factorisation of ``n``.
    """
    if name == "ring":
        return ring(n)
    if name == "torus":
        return torus(n)
    if name == "complete":
        return complete(n)
    if name == "random_regular":
        if degree is None or rng is None:
            raise ValueError("topology 'random_regular' needs degree= and rng=")
        return random_regular(n, degree, rng)
    if name == "erdos_renyi":
        if p is None or rng is None:
            raise ValueError("topology 'erdos_renyi' needs p= and rng=")
        return erdos_renyi(n, p, rng)
    raise ValueError(f"unknown topology {name!r}; choose one of {', '.join(TOPOLOGIES)}")


def _check_adjacency(a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be a square matrix, got shape {a.shape}")
    if not np.array_equal(a, a.T):
        raise ValueError("adjacency must be symmetric (undirected graph)")
    if not np.all((a == 0) | (a == 1)):
        raise ValueError("adjacency entries must be 0 or 1")
    a = a.astype(np.int8).copy()
    np.fill_diagonal(a, 0)
    return a


def degrees(adjacency) -> np.ndarray:
    """Number of neighbours of each worker."""
    return _check_adjacency(adjacency).sum(axis=1).astype(int)


def is_connected(adjacency) -> bool:
    """Whether the graph is connected (breadth-first search)."""
    a = np.asarray(adjacency) != 0
    n = a.shape[0]
    seen = np.zeros(n, bool)
    seen[0] = True
    frontier = seen.copy()
    while frontier.any():
        frontier = a[frontier].any(axis=0) & ~seen
        seen |= frontier
    return bool(seen.all())


# ------------------------------------------------------------------------ mixing matrices
def mixing_matrix(adjacency, method: str = "metropolis") -> np.ndarray:
    r"""A symmetric doubly stochastic mixing matrix on a graph.

    Parameters
    ----------
    adjacency : (n, n) array of 0/1
    method : {"metropolis", "uniform"}
        ``"metropolis"`` (Metropolis–Hastings): :math:`W_{ij} = 1/(1 + \max(d_i, d_j))` for
        each edge, :math:`W_{ii} = 1 - \sum_{j \ne i} W_{ij}`.
        ``"uniform"`` (uniform neighbour weights): every edge weighs
        :math:`1/(1 + d_{\max})` and the rest stays on the diagonal; on a regular graph
        (ring, torus, complete, random regular) this is the plain average of a worker and
        its neighbours, :math:`W_{ij} = 1/(d+1)`.

    Returns
    -------
    W : (n, n) float64 array
    """
    a = _check_adjacency(adjacency).astype(float)
    d = a.sum(axis=1)
    if method == "metropolis":
        w = a / (1.0 + np.maximum.outer(d, d))
    elif method == "uniform":
        w = a / (1.0 + d.max())
    else:
        raise ValueError(f"unknown mixing method {method!r}; choose 'metropolis' or 'uniform'")
    np.fill_diagonal(w, 1.0 - w.sum(axis=1))
    return w


@dataclass(frozen=True)
class MixingInfo:
    """Spectral summary of a valid mixing matrix (see the module docstring)."""

    n_workers: int
    eigenvalues: np.ndarray  # descending
    rho: float
    spectral_gap: float
    lambda_2: float
    lambda_min: float

    @property
    def d2_ok(self) -> bool:
        """Whether D²'s condition :math:`\\lambda_{\\min}(W) > -1/3` holds."""
        return self.lambda_min > -1.0 / 3.0 + 1e-12


def check_mixing(W, atol: float = 1e-10) -> MixingInfo:
    """Check that ``W`` is a valid mixing matrix and summarise its spectrum.

    Raises
    ------
    ValueError
        If ``W`` is not square, not symmetric, has negative entries, or its rows do not
        sum to one (then it is not doubly stochastic).
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
        raise ValueError(f"mixing matrix W must be square, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("mixing matrix W has non-finite entries")
    if not np.allclose(W, W.T, atol=atol, rtol=0):
        raise ValueError(f"mixing matrix W is not symmetric (max |W - W^T| = {np.abs(W - W.T).max():.3g})")
    if W.min() < -atol:
        raise ValueError(f"mixing matrix W has negative entries (min {W.min():.3g})")
    rows = W.sum(axis=1)
    if not np.allclose(rows, 1.0, atol=atol, rtol=0):
        raise ValueError(f"mixing matrix W is not doubly stochastic: row sums range "
                         f"{rows.min():.6g} .. {rows.max():.6g}, expected 1")
    ev = np.linalg.eigvalsh((W + W.T) / 2)[::-1]
    rest = ev[1:] if len(ev) > 1 else np.zeros(1)
    rho = float(np.max(np.abs(rest)))
    return MixingInfo(n_workers=W.shape[0], eigenvalues=ev, rho=rho, spectral_gap=1.0 - rho,
                      lambda_2=float(rest[0]), lambda_min=float(ev[-1]))


def fix_for_d2(W) -> tuple[np.ndarray, str]:
    r"""Make ``W`` usable by D², which needs :math:`\lambda_{\min}(W) > -1/3`.

    Returns ``(W, message)``: ``W`` unchanged when the condition holds, otherwise
    :math:`\tilde W = (W + I)/2` (same graph, eigenvalues :math:`(1+\lambda)/2 \ge 0`,
    spectral gap halved at worst). ``message`` says which happened and why. E.g. the ring
    with Metropolis weights and an even number of workers has
    :math:`\lambda_{\min} = -1/3` exactly and is replaced.
    """
    info = check_mixing(W)
    W = np.asarray(W, dtype=float)
    if info.d2_ok:
        return W, (f"lambda_min(W) = {info.lambda_min:.4f} > -1/3: W satisfies D2's condition "
                   f"and is kept")
    fixed = (W + np.eye(W.shape[0])) / 2.0
    new = check_mixing(fixed)
    return fixed, (f"lambda_min(W) = {info.lambda_min:.4f} <= -1/3 violates D2's condition "
                   f"(Tang et al. 2018, lambda_min(W) > -1/3); using (W + I)/2 instead: "
                   f"lambda_min = {new.lambda_min:.4f}, spectral gap {info.spectral_gap:.4f} -> "
                   f"{new.spectral_gap:.4f}")

r"""Compression operators for the messages workers exchange.

Every compressor acts row-wise on a stacked array ``V`` of shape ``(n, d)`` (one message
per worker), takes an explicit ``rng`` and returns the decoded values (what the receiver
reconstructs) with the same shape. :meth:`message_bits` gives the size of one encoded
``d``-vector, which the network time model turns into seconds.

* :class:`Identity` — full precision (32-bit floats on the wire).
* :class:`StochasticQuantizer` — unbiased stochastic rounding to a grid of ``2**bits``
  levels spanning ``[-s, s]`` with the row's scale ``s = ||v||`` (∞-norm by default, the
  2-norm as in QSGD, Alistarh et al. 2017, arXiv:1610.02132). Each coordinate goes to one of
  its two neighbouring grid points with probabilities that make :math:`E[Q(v)] = v`;
  the variance per coordinate is at most :math:`\Delta^2/4` with spacing
  :math:`\Delta = 2s/(2^b - 1)`, so :math:`E\lVert Q(v) - v\rVert^2 \le d\,\Delta^2/4`.
  ``bits = 1`` keeps only signs (two levels ``±s``) and is still unbiased. This is the
  kind of unbiased operator ECD- and DCD-PSGD assume (Tang et al. 2018,
  arXiv:1803.06443, Assumption 1: :math:`E[C(z)] = z` with bounded variance).
* :class:`DeterministicQuantizer` — round to the nearest grid point: the same grid and
  bits, but *biased* (:math:`E[Q(v)] = Q(v) \ne v`), to show why unbiasedness matters.

Wire size of a quantized message: ``d * bits`` plus one 32-bit float for the scale.
"""
from __future__ import annotations

from numbers import Integral

import numpy as np

from .topology import as_rng

__all__ = ["COMPRESSORS", "Identity", "StochasticQuantizer", "DeterministicQuantizer", "make_compressor"]

COMPRESSORS = ("identity", "stochastic", "deterministic")
FLOAT_BITS = 32


class Identity:
    """No compression; messages travel as 32-bit floats."""

    bits = FLOAT_BITS
    unbiased = True

    def __call__(self, V, rng=None) -> np.ndarray:
        return np.array(V, dtype=float, copy=True)

    def message_bits(self, d: int) -> int:
        """Bits on the wire for one ``d``-vector."""
        return FLOAT_BITS * int(d)

    def __repr__(self):
        return "Identity()"


class _GridQuantizer:
    unbiased: bool

    def __init__(self, bits: int, norm: str = "inf"):
        if not isinstance(bits, Integral) or isinstance(bits, bool) or not 1 <= bits <= 32:
            raise ValueError(f"bits must be an integer in [1, 32], got {bits!r}")
        if norm not in ("inf", "l2"):
            raise ValueError(f"norm must be 'inf' or 'l2', got {norm!r}")
        self.bits = int(bits)
        self.norm = norm
        self.levels = 2 ** self.bits  # grid points -s + k * spacing, k = 0 .. levels-1

    def __repr__(self):
        return f"{type(self).__name__}(bits={self.bits}, norm={self.norm!r})"

    def message_bits(self, d: int) -> int:
        """Bits on the wire for one ``d``-vector: ``d * bits`` + one 32-bit scale."""
        return self.bits * int(d) + FLOAT_BITS

    def _scaled(self, V):
        V = np.asarray(V, dtype=float)
        if V.ndim not in (1, 2):
            raise ValueError(f"messages must be a (d,) or (n, d) array, got shape {V.shape}")
        V2 = np.atleast_2d(V)
        if self.norm == "inf":
            s = np.abs(V2).max(axis=1, keepdims=True)
        else:
            s = np.linalg.norm(V2, axis=1, keepdims=True)
        spacing = 2.0 * s / (self.levels - 1)
        safe = np.where(spacing > 0, spacing, 1.0)
        u = (V2 + s) / safe                       # position on the grid, in [0, levels-1]
        return V, s, spacing, np.clip(u, 0.0, self.levels - 1)

    def _decode(self, V, s, spacing, k):
        out = np.where(spacing > 0, -s + k * spacing, 0.0)
        return out.reshape(V.shape)


class StochasticQuantizer(_GridQuantizer):
    """Unbiased stochastic rounding to ``2**bits`` levels on ``[-s, s]`` (see module docstring).

    Parameters
    ----------
    bits : int in [1, 32]
    norm : {"inf", "l2"}
        The per-message scale ``s``: the largest magnitude (default; smallest variance) or
        the Euclidean norm (QSGD).
    """

    unbiased = True

    def __call__(self, V, rng) -> np.ndarray:
        rng = as_rng(rng)
        V, s, spacing, u = self._scaled(V)
        lo = np.floor(u)
        k = lo + (rng.random(u.shape) < (u - lo))
        return self._decode(V, s, spacing, k)

    def variance_bound(self, V) -> np.ndarray:
        """Upper bound ``d * spacing**2 / 4`` on :math:`E\\lVert Q(v)-v\\rVert^2`, per row."""
        V, s, spacing, _ = self._scaled(V)
        return (np.atleast_2d(V).shape[1] * spacing[:, 0] ** 2 / 4.0)


class DeterministicQuantizer(_GridQuantizer):
    """Round to the nearest of ``2**bits`` levels on ``[-s, s]``: deterministic and biased."""

    unbiased = False

    def __call__(self, V, rng=None) -> np.ndarray:
        V, s, spacing, u = self._scaled(V)
        return self._decode(V, s, spacing, np.rint(u))


def make_compressor(name: str = "identity", bits: int | None = None, norm: str = "inf"):
    """A compressor by name: ``"identity"``, ``"stochastic"`` or ``"deterministic"`` (the
    latter two need ``bits``)."""
    if name in ("identity", "none"):
        return Identity()
    if name in ("stochastic", "deterministic"):
        if bits is None:
            raise ValueError(f"compressor {name!r} needs bits= (an integer in [1, 32])")
        cls = StochasticQuantizer if name == "stochastic" else DeterministicQuantizer
        return cls(bits, norm=norm)
    raise ValueError(f"unknown compressor {name!r}; choose one of {', '.join(COMPRESSORS)}")

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

The grid and the rounding are :mod:`repro.quantize` (one scale per row, ``axis=1``, its
``"offset"`` evaluation); this module adds what the simulator needs around them: the row
stacking, seeds as well as generators, and the wire size of a message, ``d * bits`` plus one
32-bit float for the scale.
"""
from __future__ import annotations

import numpy as np

from .. import quantize as qz
from .topology import as_rng

__all__ = ["COMPRESSORS", "Identity", "StochasticQuantizer", "DeterministicQuantizer", "make_compressor"]

COMPRESSORS = ("identity", "stochastic", "deterministic")
FLOAT_BITS = 32


class Identity:
    """No compression; messages travel as 32-bit floats.

    Calling it returns a float64 copy of the messages; ``rng`` is ignored.
    """

    bits = FLOAT_BITS
    unbiased = True

    def __call__(self, V, rng=None) -> np.ndarray:
        return np.array(V, dtype=float, copy=True)

    def message_bits(self, d: int) -> int:
        """Bits on the wire for one ``d``-vector.

        Parameters
        ----------
        d : int
            Coordinates per message.

        Returns
        -------
        int
            ``32 * d``.
        """
        return FLOAT_BITS * int(d)

    def __repr__(self):
        return "Identity()"


class _GridQuantizer:
    """A ``2**bits``-level grid quantizer of messages, one scale per message (row)."""

    unbiased: bool

    def __init__(self, bits: int, norm: str = "inf"):
        self.bits = qz.check_bits(bits, max_bits=qz.MAX_GRID_BITS)
        if norm not in qz.NORMS:
            raise ValueError(f"norm must be 'inf' or 'l2', got {norm!r}")
        self.norm = norm
        self.levels = 2 ** self.bits  # grid points -s + k * spacing, k = 0 .. levels-1

    def __repr__(self):
        return f"{type(self).__name__}(bits={self.bits}, norm={self.norm!r})"

    def message_bits(self, d: int) -> int:
        """Bits on the wire for one ``d``-vector.

        Parameters
        ----------
        d : int
            Coordinates per message.

        Returns
        -------
        int
            ``d * bits`` plus one 32-bit scale.
        """
        return self.bits * int(d) + FLOAT_BITS

    def _rows(self, V) -> tuple[np.ndarray, np.ndarray]:
        """``V`` as float and as an ``(n, d)`` stack of messages."""
        V = np.asarray(V, dtype=float)
        if V.ndim not in (1, 2):
            raise ValueError(f"messages must be a (d,) or (n, d) array, got shape {V.shape}")
        return V, np.atleast_2d(V)

    def _round(self, V, rng) -> np.ndarray:
        V, rows = self._rows(V)
        out = qz.quantize(rows, self.bits, rng, norm=self.norm, axis=1, stochastic=self.unbiased, form="offset")
        return out.reshape(V.shape)


class StochasticQuantizer(_GridQuantizer):
    """Unbiased stochastic rounding to ``2**bits`` levels on ``[-s, s]`` (see module docstring).

    Parameters
    ----------
    bits : int in [1, 32]
    norm : {"inf", "l2"}
        The per-message scale ``s``: the largest magnitude (default; smallest variance) or
        the Euclidean norm (QSGD).

    Raises
    ------
    ValueError
        Bad ``bits`` or ``norm``.
    """

    unbiased = True

    def __call__(self, V, rng) -> np.ndarray:
        """Quantize the messages ``V`` (``(d,)`` or ``(n, d)``) with ``rng`` (a Generator or a seed)."""
        return self._round(V, as_rng(rng))

    def variance_bound(self, V) -> np.ndarray:
        """Upper bound on :math:`E\\lVert Q(v)-v\\rVert^2` for each message (row) of ``V``.

        Parameters
        ----------
        V : array_like, shape (d,) or (n, d)

        Returns
        -------
        ndarray, shape (n,)
            ``d * spacing**2 / 4``.
        """
        _, rows = self._rows(V)
        step = qz.spacing(qz.group_scale(rows, self.norm, axis=1), self.bits)
        return rows.shape[1] * step[:, 0] ** 2 / 4.0


class DeterministicQuantizer(_GridQuantizer):
    """Round to the nearest of ``2**bits`` levels on ``[-s, s]``: deterministic and biased.

    Parameters
    ----------
    bits : int in [1, 32]
    norm : {"inf", "l2"}
        The per-message scale, as in :class:`StochasticQuantizer`.
    """

    unbiased = False

    def __call__(self, V, rng=None) -> np.ndarray:
        """Round the messages ``V`` (``(d,)`` or ``(n, d)``); ``rng`` is ignored."""
        return self._round(V, None)


def make_compressor(name: str = "identity", bits: int | None = None, norm: str = "inf"):
    """A compressor by name.

    Parameters
    ----------
    name : {"identity", "none", "stochastic", "deterministic"}
    bits : int, optional
        Required for the two quantizers.
    norm : {"inf", "l2"}
        Per-message scale of the quantizers.

    Returns
    -------
    Identity, StochasticQuantizer or DeterministicQuantizer

    Raises
    ------
    ValueError
        Unknown name, or a quantizer without ``bits``.
    """
    if name in ("identity", "none"):
        return Identity()
    if name in ("stochastic", "deterministic"):
        if bits is None:
            raise ValueError(f"compressor {name!r} needs bits= (an integer in [1, 32])")
        cls = StochasticQuantizer if name == "stochastic" else DeterministicQuantizer
        return cls(bits, norm=norm)
    raise ValueError(f"unknown compressor {name!r}; choose one of {', '.join(COMPRESSORS)}")

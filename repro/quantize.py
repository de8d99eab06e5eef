r"""The unbiased :math:`2^b`-level stochastic quantizer, shared by :mod:`repro.sgd` and :mod:`repro.sparse`.

Grid. A group of values :math:`x` (a whole array, ``axis=None``, or each row, ``axis=1``)
with scale :math:`s = \lVert x\rVert` (the ∞-norm, ``norm="inf"``, default, smallest
variance; or the 2-norm, ``norm="l2"``, as in QSGD) is mapped onto the :math:`2^b` levels

.. math:: g_k = -s + k\,\Delta,\qquad k = 0, \dots, 2^b - 1,\qquad \Delta = \frac{2s}{2^b - 1},

spanning :math:`[-s, s]`. The *position* of :math:`x` on the grid is
:math:`u = (x + s)/\Delta \in [0, 2^b - 1]`; the integer *codes* :math:`k` are what a
:math:`b`-bit encoding sends or stores, with one 32- or 64-bit scale per group.

Stochastic rounding. :math:`k = \lfloor u\rfloor + [\xi < u - \lfloor u\rfloor]` with one
uniform :math:`\xi \sim U[0, 1)` per value, drawn from the caller's ``rng`` in C order
(``rng.random(u.shape)``). Then :math:`E[Q(x)] = x` and, with :math:`f = u - \lfloor u\rfloor`,
:math:`\mathrm{Var}[Q(x)] = \Delta^2 f (1 - f) \le \Delta^2/4`, so
:math:`E\lVert Q(x) - x\rVert^2 \le d\,\Delta^2/4` for :math:`d` values. ``bits = 1`` keeps only
signs (two levels :math:`\pm s`) and is still unbiased. This is the operator of QSGD (Alistarh
et al. 2017, arXiv:1610.02132), of ECD-/DCD-PSGD (Tang et al. 2018, arXiv:1803.06443,
Assumption 1: :math:`E[C(z)] = z` with bounded variance) and of low-precision IHT (Gurel et
al. 2018, arXiv:1802.04907).

Deterministic rounding. :math:`k = \mathrm{rint}(u)`: the same grid and bits, but biased
(:math:`E[Q(x)] = Q(x) \ne x`), the contrast that shows why unbiasedness matters.

Evaluation order (``form``). The position and the level have two algebraically identical
floating-point forms, which differ in the last bits:

- ``"offset"``: :math:`u = (x + s)/\Delta`, :math:`g_k = -s + k\Delta` (used by
  :mod:`repro.sgd.compress`, chains ``dcd``, ``d2``, ``adpsgd``);
- ``"scaled"``: :math:`u = (x/s + 1)(2^b - 1)/2`, :math:`g_k = s\,(2k/(2^b - 1) - 1)` (used by
  :mod:`repro.sparse`, chain ``iht``; also the form of
  :class:`repro.sparse.lowprec.QuantizedMatrix` products).

Both are kept only because each chain's recorded numbers were made with one of them and must
stay bit-identical; when the record is re-made, keep one.

Example
-------
>>> import numpy as np
>>> from repro import quantize
>>> x = np.array([[0.3, -1.0, 0.5], [2.0, 0.0, -2.0]])
>>> q = quantize.quantize(x, bits=2, rng=np.random.default_rng(0), axis=1)  # one scale per row
>>> q.shape, bool(np.all(np.abs(q) <= np.abs(x).max(axis=1, keepdims=True)))
((2, 3), True)
>>> quantize.quantize(x, bits=1, axis=1, stochastic=False)  # nearest of the two levels ±s
array([[ 1., -1.,  1.],
       [ 2., -2., -2.]])
"""
from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = ["NORMS", "FORMS", "MAX_GRID_BITS", "check_bits", "group_scale", "spacing", "positions",
           "levels", "stochastic_round", "stochastic_codes", "quantize", "stochastic_variance"]

NORMS = ("inf", "l2")
FORMS = ("offset", "scaled")
MAX_GRID_BITS = 32  # codes and levels stay exact in float64 far beyond this


def check_bits(bits, max_bits: int = 64) -> int:
    """Validate a bit width: an integer in ``[1, max_bits]``.

    Parameters
    ----------
    bits : int
        The bit width (a Python or numpy integer; ``bool`` and floats are refused).
    max_bits : int
        Largest allowed value (64 by default; e.g. 32 for float32 messages).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``bits`` is not an integer or lies outside ``[1, max_bits]``.
    """
    if not isinstance(bits, Integral) or isinstance(bits, bool):
        raise ValueError(f"bits must be an integer in [1, {max_bits}], got {bits!r}")
    if not 1 <= bits <= max_bits:
        raise ValueError(f"bits must be in [1, {max_bits}], got {bits}")
    return int(bits)


def _grid_bits(bits) -> int:
    return check_bits(bits, MAX_GRID_BITS)


def _check_form(form: str) -> str:
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    return form


def group_scale(x, norm: str = "inf", axis=None) -> np.ndarray:
    """The scale ``s`` of each group: its largest magnitude (``"inf"``) or Euclidean norm (``"l2"``).

    Parameters
    ----------
    x : array_like
        Values.
    norm : {"inf", "l2"}
        Which norm.
    axis : None or int
        ``None``: one scale for the whole array; ``1`` (or ``-1``, ``0``): one per row (column).

    Returns
    -------
    ndarray
        Scales with ``keepdims`` shape, broadcastable against ``x``; 0 for an empty group.

    Raises
    ------
    ValueError
        Unknown ``norm`` or ``axis``.
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    if axis not in (None, 0, 1, -1):
        raise ValueError(f"axis must be None, 0, 1 or -1, got {axis!r}")
    x = np.asarray(x, dtype=float)
    if norm == "inf":
        return np.max(np.abs(x), axis=axis, keepdims=True, initial=0.0)
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=True))


def spacing(s, bits: int) -> np.ndarray:
    """Grid spacing ``Delta = 2 s / (2**bits - 1)`` for scales ``s``.

    Parameters
    ----------
    s : array_like
        Scales (:func:`group_scale`).
    bits : int
        Bits per value, ``1..32``.

    Returns
    -------
    ndarray
    """
    return 2.0 * np.asarray(s, dtype=float) / ((1 << _grid_bits(bits)) - 1)


def positions(x, bits: int, norm: str = "inf", axis=None, form: str = "offset"):
    """Position ``u`` of every value on its group's grid, clipped to ``[0, 2**bits - 1]``.

    Parameters
    ----------
    x : array_like
        Values.
    bits : int
        Bits per value, ``1..32``.
    norm, axis
        The group scale (:func:`group_scale`).
    form : {"offset", "scaled"}
        Floating-point evaluation (see the module docstring).

    Returns
    -------
    u : ndarray
        Positions, same shape as ``x``.
    s : ndarray
        Scales, broadcastable against ``x``.
    """
    bits, form = _grid_bits(bits), _check_form(form)
    x = np.asarray(x, dtype=float)
    s = group_scale(x, norm, axis)
    top = (1 << bits) - 1
    if form == "offset":
        step = spacing(s, bits)
        u = (x + s) / np.where(step > 0, step, 1.0)
    else:
        u = (x / np.where(s > 0, s, 1.0) + 1.0) * (top / 2.0)
    return np.clip(u, 0.0, top), s


def levels(k, s, bits: int, form: str = "offset") -> np.ndarray:
    """The grid values ``g_k = -s + k Delta`` of codes ``k`` (0 where the scale is 0).

    Parameters
    ----------
    k : array_like
        Codes (integers, possibly stored as floats) in ``0..2**bits - 1``.
    s : array_like
        Scales, broadcastable against ``k``.
    bits : int
        Bits per value, ``1..32``.
    form : {"offset", "scaled"}
        Floating-point evaluation (see the module docstring).

    Returns
    -------
    ndarray of float
    """
    bits, form = _grid_bits(bits), _check_form(form)
    s = np.asarray(s, dtype=float)
    if form == "offset":
        step = spacing(s, bits)
        return np.where(step > 0, -s + k * step, 0.0)
    return s * (np.asarray(k).astype(float) * (2.0 / ((1 << bits) - 1)) - 1.0)


def stochastic_round(u, rng: np.random.Generator) -> np.ndarray:
    """Round each position up with probability its fractional part: ``floor(u) + [xi < u - floor(u)]``.

    Parameters
    ----------
    u : ndarray
        Positions (:func:`positions`).
    rng : numpy.random.Generator
        Draws ``rng.random(u.shape)``, one uniform per value, in C order.

    Returns
    -------
    ndarray of float
        The codes ``k`` (integer-valued), same shape as ``u``.

    Raises
    ------
    ValueError
        If ``rng`` is missing.
    """
    if rng is None:
        raise ValueError("rng (numpy.random.Generator) is required for stochastic rounding")
    lo = np.floor(u)
    return lo + (rng.random(u.shape) < (u - lo))


def stochastic_codes(x, bits: int, rng: np.random.Generator, norm: str = "inf", axis=None,
                     form: str = "offset"):
    """Integer codes of unbiased stochastic rounding, and the scales.

    Parameters
    ----------
    x : array_like
        Values.
    bits : int
        Bits per value, ``1..32``.
    rng : numpy.random.Generator
        Source of the rounding randomness (:func:`stochastic_round`).
    norm, axis, form
        As in :func:`positions`.

    Returns
    -------
    codes : ndarray of uint64
        In ``0..2**bits - 1``.
    s : ndarray
        Scales, broadcastable against ``x``.
    """
    u, s = positions(x, bits, norm, axis, form)
    return stochastic_round(u, rng).astype(np.uint64), s


def quantize(x, bits: int, rng: np.random.Generator | None = None, *, norm: str = "inf", axis=None,
             stochastic: bool = True, form: str = "offset") -> np.ndarray:
    """``Q(x)``: the grid value of every entry, by stochastic (unbiased) or nearest rounding.

    Parameters
    ----------
    x : array_like
        Values.
    bits : int
        Bits per value, ``1..32``.
    rng : numpy.random.Generator, optional
        Required when ``stochastic``.
    norm : {"inf", "l2"}
        Group scale.
    axis : None or int
        ``None``: one scale for the whole array; ``1``: one per row.
    stochastic : bool
        Unbiased stochastic rounding (default) or deterministic rounding to the nearest level.
    form : {"offset", "scaled"}
        Floating-point evaluation (see the module docstring).

    Returns
    -------
    ndarray of float
        Same shape as ``x``.

    Raises
    ------
    ValueError
        Bad ``bits``, ``norm``, ``axis`` or ``form``, or ``stochastic`` without ``rng``.
    """
    u, s = positions(x, bits, norm, axis, form)
    k = stochastic_round(u, rng) if stochastic else np.rint(u)
    return levels(k, s, bits, form)


def stochastic_variance(x, bits: int, norm: str = "inf", axis=None) -> np.ndarray:
    """Per-entry variance ``Delta**2 f (1 - f)`` of stochastic rounding (at most ``Delta**2 / 4``).

    Parameters
    ----------
    x : array_like
        Values.
    bits : int
        Bits per value, ``1..32``.
    norm, axis
        The group scale (:func:`group_scale`).

    Returns
    -------
    ndarray
        Same shape as ``x``.
    """
    u, s = positions(x, bits, norm, axis)
    f = u - np.floor(u)
    return spacing(s, bits) ** 2 * f * (1.0 - f)

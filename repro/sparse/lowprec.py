r"""Low-precision inputs of IHT (Gurel et al. 2018, arXiv:1802.04907): b-bit matrices and vectors.

The quantizer itself (the :math:`2^b`-level grid, stochastic and nearest rounding) is
:mod:`repro.quantize`; here, with its ``"scaled"`` evaluation (the one the ``iht`` chain's
record was made with), are what IHT needs around it:

- a *precision* ``b`` means the level grid for ``b`` in 1..16 (one scale per row of a matrix,
  one for a vector), float32 for ``b = 32`` (round to nearest) and float64 for ``b = 64``
  (:data:`FULL_PRECISION`, exact);
- :class:`QuantizedMatrix` keeps the integer codes (bit-packed for ``b`` in 1, 2, 4; one
  ``uint8`` per code for other ``b <= 8``; ``uint16`` up to 16 bits) and one float64 scale
  per row. Its products are the compiled kernels of :mod:`repro.sparse.kernels`: each code is
  read once, row by row, and widened to float32 in a register (never a float copy of the
  matrix or of a block of it), using :math:`Q(A)_{ij} = (2 s_i / L)(c_{ij} - L/2)` with
  :math:`L = 2^b - 1`. Packed codes are as fast as byte codes and read ``8 / b`` times fewer
  bytes, so packing is the default;
- the gradient trick (paper, Section 3): with two *independent* quantizations
  :math:`Q_1(A), Q_2(A)`, :math:`E[Q_2(A)^T (Q(y) - Q_1(A) x)] = A^T (y - A x)`, while a
  single quantization gives the biased :math:`E[Q(A)^T Q(A)] \ne A^T A`
  (:func:`lowprec_operators`, :func:`lowprec_niht`).

Example
-------
>>> import numpy as np
>>> from repro.sparse import lowprec
>>> rng = np.random.default_rng(0)
>>> A = rng.standard_normal((6, 9))
>>> Q = lowprec.stored_matrix(A, 4, rng=rng)          # 4-bit codes, packed two per byte
>>> Q.shape, Q.nbytes                                 # 6 rows x 5 bytes + 6 float64 scales
((6, 9), 78)
>>> bool(np.allclose(Q.matvec(np.ones(9)), Q.dequantize().sum(axis=1)))
True
"""
from __future__ import annotations

import numpy as np

from .. import quantize as qz
from . import iht as iht_mod
from . import kernels

__all__ = ["FULL_PRECISION", "FORM", "DenseMatrix", "QuantizedMatrix", "stored_matrix", "at_precision",
           "lowprec_operators", "lowprec_niht"]

FULL_PRECISION = 64  # bits meaning "float64, no quantization"
FORM = "scaled"  # the repro.quantize evaluation of the iht chain's record


def _levels(bits: int) -> int:
    return (1 << bits) - 1  # L: number of intervals of the grid


class DenseMatrix:
    """A float32 or float64 matrix with the ``matvec``/``rmatvec``/``nbytes`` interface.

    Parameters
    ----------
    A : ndarray, shape (m, n)
        The matrix (copied to ``dtype`` if needed).
    dtype : numpy dtype
        ``np.float64`` (64 bits) or ``np.float32`` (32 bits); products are computed in it and
        returned as float64.
    """

    def __init__(self, A: np.ndarray, dtype=np.float64):
        self.A = np.ascontiguousarray(A, dtype=dtype)
        self.bits = 8 * self.A.dtype.itemsize

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``."""
        return self.A.shape

    @property
    def nbytes(self) -> int:
        """Bytes of the stored array."""
        return self.A.nbytes

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``A @ x`` in the stored precision.

        Parameters
        ----------
        x : ndarray, shape (n,)

        Returns
        -------
        ndarray of float64, shape (m,)
        """
        return (self.A @ np.asarray(x, dtype=self.A.dtype)).astype(float)

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        """``A.T @ r`` in the stored precision.

        Parameters
        ----------
        r : ndarray, shape (m,)

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        return (self.A.T @ np.asarray(r, dtype=self.A.dtype)).astype(float)

    def dequantize(self) -> np.ndarray:
        """The stored matrix as float64."""
        return self.A.astype(float)


class QuantizedMatrix:
    """A matrix stored as ``b``-bit integer codes with one scale per row.

    Entry ``(i, j)`` is ``scales[i] * (2 codes[i, j] / L - 1)`` with ``L = 2^b - 1``.

    Parameters
    ----------
    codes : ndarray of int, shape (m, n)
        Codes in ``0..L``.
    scales : ndarray, shape (m,)
        Row scales.
    bits : int
        1..16.
    pack : bool
        Bit-pack the codes when ``b`` divides 8 (1, 2, 4 bits); otherwise one ``uint8``
        (``b <= 8``) or ``uint16`` per code.
    threads : int
        Threads of the products (:func:`repro.sparse.kernels.matvec`); default 1.

    Raises
    ------
    ValueError
        Bad ``bits`` (outside 1..16), codes outside ``0..L``, mismatched ``scales`` or bad ``threads``.

    Notes
    -----
    ``matvec`` and ``rmatvec`` are :func:`repro.sparse.kernels.matvec` and
    :func:`repro.sparse.kernels.rmatvec`: float32 sums of the centred codes ``c - L/2``
    (exact in float32) times ``x`` (or ``scales * r``) rounded to float32, scaled in float64.
    """

    def __init__(self, codes: np.ndarray, scales: np.ndarray, bits: int, pack: bool = True, threads: int = 1):
        bits = qz.check_bits(bits)
        if bits > 16:
            raise ValueError(f"QuantizedMatrix stores 1..16-bit codes, got bits={bits}; "
                             f"use DenseMatrix for 32 or 64 bits")
        codes = np.asarray(codes)
        if codes.ndim != 2:
            raise ValueError(f"codes must be 2-D, got shape {codes.shape}")
        L = _levels(bits)
        if codes.size and (codes.min() < 0 or codes.max() > L):
            raise ValueError(f"codes must lie in 0..{L} for {bits} bits")
        m, n = codes.shape
        scales = np.asarray(scales, dtype=float).reshape(-1)
        if scales.shape != (m,):
            raise ValueError(f"scales must have shape ({m},), got {scales.shape}")
        self.bits, self._shape, self.scales = bits, (m, n), scales
        self.packed = bool(pack) and bits in kernels.PACKED_BITS
        if self.packed:
            self.data = kernels.pack(codes, bits)
        else:
            self.data = np.ascontiguousarray(codes, dtype=np.uint8 if bits <= 8 else np.uint16)
        self.threads = kernels.check_threads(threads)

    # -- construction
    @classmethod
    def from_dense(cls, A: np.ndarray, bits: int, rng: np.random.Generator | None = None,
                   stochastic: bool = True, norm: str = "inf", pack: bool = True,
                   threads: int = 1) -> "QuantizedMatrix":
        """Quantize ``A`` row by row (one scale per row).

        Parameters
        ----------
        A : ndarray, shape (m, n)
        bits : int
            1..16.
        rng : numpy.random.Generator
            Required when ``stochastic``.
        stochastic : bool
            Unbiased stochastic rounding (default) or deterministic rounding to nearest.
        norm : {"inf", "l2"}
            Row scale: largest magnitude or Euclidean norm (:func:`repro.quantize.group_scale`).
        pack, threads
            As in the constructor.

        Returns
        -------
        QuantizedMatrix

        Raises
        ------
        ValueError
            ``A`` not 2-D, ``bits`` outside 1..16, or no ``rng`` for stochastic rounding.
        """
        bits = qz.check_bits(bits)
        A = np.asarray(A, dtype=float)
        if A.ndim != 2:
            raise ValueError(f"A must be 2-D, got shape {A.shape}")
        if bits > 16:
            raise ValueError(f"QuantizedMatrix stores 1..16-bit codes, got bits={bits}")
        if stochastic:
            if rng is None:
                raise ValueError("rng (numpy.random.Generator) is required for stochastic quantization")
            # rows in chunks to bound the temporaries of the float64 pass
            codes = np.empty(A.shape, dtype=np.uint8 if bits <= 8 else np.uint16)
            scales = np.empty(A.shape[0])
            step = max(1, (1 << 22) // max(A.shape[1], 1))
            for i in range(0, A.shape[0], step):
                c, M = qz.stochastic_codes(A[i:i + step], bits, rng, norm, axis=1, form=FORM)
                codes[i:i + step], scales[i:i + step] = c, M[:, 0]
        else:
            t, M = qz.positions(A, bits, norm, axis=1, form=FORM)
            codes, scales = np.rint(t).astype(np.uint16), M[:, 0]
        return cls(codes, scales, bits, pack=pack, threads=threads)

    # -- properties
    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``."""
        return self._shape

    @property
    def nbytes(self) -> int:
        """Bytes of the codes plus the row scales."""
        return int(self.data.nbytes + self.scales.nbytes)

    def _codes_block(self, i0: int, i1: int) -> np.ndarray:
        blk = self.data[i0:i1]
        if not self.packed:
            return blk
        b, per, n = self.bits, 8 // self.bits, self._shape[1]
        mask = np.uint8((1 << b) - 1)
        out = np.empty((blk.shape[0], blk.shape[1], per), dtype=np.uint8)
        for k in range(per):
            np.bitwise_and(np.right_shift(blk, b * k), mask, out=out[:, :, k])
        return out.reshape(blk.shape[0], blk.shape[1] * per)[:, :n]

    def codes(self) -> np.ndarray:
        """All codes, unpacked (for tests and inspection)."""
        return self._codes_block(0, self._shape[0])

    def dequantize(self) -> np.ndarray:
        """The represented matrix in float64 (expands everything: for tests only)."""
        return qz.levels(self.codes(), self.scales[:, None], self.bits, form=FORM)

    # -- products
    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``Q @ x`` computed on the codes (:func:`repro.sparse.kernels.matvec`).

        Parameters
        ----------
        x : ndarray, shape (n,)

        Returns
        -------
        ndarray, shape (m,)

        Raises
        ------
        ValueError
            If ``x`` has the wrong shape.
        """
        x = np.asarray(x)
        if x.shape != (self._shape[1],):
            raise ValueError(f"x must have shape ({self._shape[1]},), got {x.shape}")
        return kernels.matvec(self.data, self.scales, x, self.bits, self.packed, threads=self.threads)

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        """``Q.T @ r`` computed on the codes (:func:`repro.sparse.kernels.rmatvec`).

        Parameters
        ----------
        r : ndarray, shape (m,)

        Returns
        -------
        ndarray, shape (n,)

        Raises
        ------
        ValueError
            If ``r`` has the wrong shape.
        """
        return kernels.rmatvec(self.data, self.scales, r, self.bits, self._shape[1], self.packed,
                               threads=self.threads)


def stored_matrix(A: np.ndarray, bits: int, rng: np.random.Generator | None = None, stochastic: bool = True,
                  norm: str = "inf", pack: bool = True, threads: int = 1):
    """``A`` held at ``bits`` bits.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    bits : int
        1..16 (:class:`QuantizedMatrix`), 32 (float32) or 64 (float64).
    rng, stochastic, norm, pack, threads
        As in :meth:`QuantizedMatrix.from_dense` (ignored for 32 and 64 bits).

    Returns
    -------
    QuantizedMatrix or DenseMatrix

    Raises
    ------
    ValueError
        Any other ``bits``.
    """
    bits = qz.check_bits(bits)
    if bits == FULL_PRECISION:
        return DenseMatrix(A, np.float64)
    if bits == 32:
        return DenseMatrix(A, np.float32)
    if bits > 16:
        raise ValueError(f"stored matrices support bits 1..16, 32 or 64, got {bits}")
    return QuantizedMatrix.from_dense(A, bits, rng=rng, stochastic=stochastic, norm=norm, pack=pack,
                                      threads=threads)


def at_precision(x: np.ndarray, bits: int, rng: np.random.Generator | None = None, stochastic: bool = True,
                 norm: str = "inf", axis=None) -> np.ndarray:
    """``x`` at ``bits`` bits, returned as float64 values.

    Parameters
    ----------
    x : array_like
        Values.
    bits : int
        1..31: the level grid of :mod:`repro.quantize` (one scale per group, see ``axis``);
        32: float32 rounding; 33..64: float64 (an unchanged copy).
    rng : numpy.random.Generator, optional
        Required for stochastic rounding below 32 bits.
    stochastic : bool
        Unbiased stochastic rounding (default) or rounding to the nearest level (biased).
    norm : {"inf", "l2"}
        Group scale.
    axis : None or int
        ``None``: one scale for the whole array; ``1``: one per row.

    Returns
    -------
    ndarray of float

    Raises
    ------
    ValueError
        Bad ``bits`` or ``norm``, or stochastic rounding without ``rng``.
    """
    bits = qz.check_bits(bits)
    x = np.asarray(x, dtype=float)
    if bits == 32:
        return x.astype(np.float32).astype(float)
    if bits > 32:
        return x.copy()
    return qz.quantize(x, bits, rng, norm=norm, axis=axis, stochastic=stochastic, form=FORM)


def lowprec_operators(A: np.ndarray, y: np.ndarray, bits: int, rng: np.random.Generator,
                      stochastic: bool = True, norm: str = "inf", pack: bool = True, y_bits: int | None = None):
    """The paper's low-precision IHT inputs ``(Q1(A), Q2(A), Q(y))``.

    ``Q1`` and ``Q2`` are two independent quantizations of ``A`` (one scale per row) for the
    two products of the gradient ``Q2^T (Q(y) - Q1 x)``; ``y`` is quantized with one scale for
    the vector. With ``stochastic=False`` both are the same deterministic rounding (the biased
    contrast). Pass ``Q1`` as ``A`` and ``Q2`` as ``AT`` to :func:`repro.sparse.iht.niht` or
    :func:`repro.sparse.iht.iht`.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    bits : int
        Precision of ``A`` (:func:`stored_matrix`).
    rng : numpy.random.Generator
        Draws, in this order, ``Q1``, ``Q2`` and ``Q(y)`` (unused when not ``stochastic``).
    stochastic, norm, pack
        As in :meth:`QuantizedMatrix.from_dense`.
    y_bits : int, optional
        Precision of ``y`` (:func:`at_precision`); default ``bits``.

    Returns
    -------
    q1, q2 : QuantizedMatrix or DenseMatrix
    qy : ndarray
    """
    bits = qz.check_bits(bits)
    yb = bits if y_bits is None else qz.check_bits(y_bits)
    if stochastic:
        q1 = stored_matrix(A, bits, rng=rng, norm=norm, pack=pack)
        q2 = stored_matrix(A, bits, rng=rng, norm=norm, pack=pack)
        qy = at_precision(y, yb, rng, norm=norm)
    else:
        q1 = q2 = stored_matrix(A, bits, stochastic=False, norm=norm, pack=pack)
        qy = at_precision(y, yb, stochastic=False, norm=norm)
    return q1, q2, qy


def lowprec_niht(A: np.ndarray, y: np.ndarray, s: int, bits: int, rng: np.random.Generator,
                 stochastic: bool = True, n_iter: int = 300, pack: bool = True) -> iht_mod.IHTResult:
    """Normalized IHT on ``bits``-bit ``A`` and ``y`` (``bits = 64``: the float64 problem, no draws).

    Low precision follows the paper: two independent stochastic quantizations of ``A`` for the
    two products of the gradient, and a quantized ``y`` (:func:`lowprec_operators`; one
    deterministic rounding of each with ``stochastic=False``).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    s : int
        Sparsity.
    bits : int
        Precision (:func:`stored_matrix`).
    rng : numpy.random.Generator
        Source of the stochastic rounding.
    stochastic : bool
        Stochastic (default) or deterministic rounding.
    n_iter : int
        Maximum NIHT iterations.
    pack : bool
        Bit-pack 1/2/4-bit codes (default; ``8 / b`` times less memory than byte codes, as fast).

    Returns
    -------
    repro.sparse.iht.IHTResult
    """
    bits = qz.check_bits(bits)
    if bits >= FULL_PRECISION:
        return iht_mod.niht(A, y, s, n_iter=n_iter)
    q1, q2, qy = lowprec_operators(A, y, bits, rng, stochastic=stochastic, pack=pack)
    return iht_mod.niht(q1, qy, s, n_iter=n_iter, AT=q2)

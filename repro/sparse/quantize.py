"""Low-precision representations for IHT (Gurel et al., arXiv:1802.04907).

Quantizer. A group of values (a whole array, or each row) with scale ``M`` (its largest
magnitude, or its Euclidean norm) is mapped onto ``L + 1 = 2^b`` equally spaced levels
``M (2 k / L - 1)``, ``k = 0..L``, spacing ``Delta = 2 M / L``. Stochastic rounding rounds
``x`` up to the next level with probability equal to its fractional position ``f`` between
the two neighbouring levels, down otherwise, so ``E[Q(x)] = x`` and
``Var[Q(x)] = Delta^2 f (1 - f) <= Delta^2 / 4`` (the unbiased stochastic quantization of
QSGD, Alistarh et al. 2017, which the paper uses). Deterministic rounding to the nearest level
is the biased contrast. ``b = 32`` means float32 (round to nearest), ``b = 64`` float64
(exact).

Gradient trick (paper, Section 3): with two *independent* quantizations ``Q1(A)``, ``Q2(A)``,
``E[Q2(A)^T (Q(y) - Q1(A) x)] = A^T (y - A x)`` while a single quantization would give the
biased ``E[Q(A)^T Q(A)] != A^T A``.

Storage. :class:`QuantizedMatrix` keeps the integer codes (bit-packed for ``b`` in 1, 2, 4;
one ``uint8`` per code for other ``b <= 8``; ``uint16`` up to 16 bits) and one float64 scale
per row. Its products never expand the whole matrix: a block of rows at a time is turned into
float32 (a cast for byte codes, a 256-entry byte-to-codes table for packed codes) and
multiplied, using ``Q(A) x = M * (2/L C x - sum(x))`` per row. In pure numpy the byte-code
path is the fast one (it reads 8x fewer bytes than float64); unpacking 1/2/4-bit codes costs
more than it saves on this CPU without a compiled kernel, so ``pack=False`` trades memory for
speed.
"""
from __future__ import annotations

import numpy as np

SCALES = ("max", "norm")


def check_bits(bits) -> int:
    """Validate a bit width: an integer in 1..64."""
    if isinstance(bits, bool) or int(bits) != bits:
        raise ValueError(f"bits must be an integer in 1..64, got {bits!r}")
    if not 1 <= bits <= 64:
        raise ValueError(f"bits must be in 1..64, got {bits}")
    return int(bits)


def _group_scale(x: np.ndarray, scale: str, axis) -> np.ndarray:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if axis not in (None, 0, 1, -1):
        raise ValueError(f"axis must be None, 0, 1 or -1, got {axis!r}")
    if scale == "max":
        m = np.max(np.abs(x), axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim)
    else:
        m = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return m


def _levels(bits: int) -> int:
    return (1 << bits) - 1  # L: number of intervals


def _positions(x: np.ndarray, bits: int, scale: str, axis):
    """``t = (x / M + 1) L / 2`` in ``[0, L]`` and the scale ``M`` (broadcastable)."""
    x = np.asarray(x, dtype=float)
    M = _group_scale(x, scale, axis)
    L = _levels(bits)
    safe = np.where(M > 0, M, 1.0)
    t = (x / safe + 1.0) * (L / 2.0)
    return np.clip(t, 0.0, L), M, L


def stochastic_codes(x: np.ndarray, bits: int, rng: np.random.Generator, scale: str = "max", axis=None):
    """Integer codes ``k`` in ``0..2^b - 1`` of unbiased stochastic rounding, and the scales.

    Parameters
    ----------
    x : ndarray
        Values (1-D, or 2-D with ``axis=1`` for one scale per row).
    bits : int
        Bits per value, 1..62.
    rng : numpy.random.Generator
        Source of the rounding randomness.
    scale : {"max", "norm"}
        Group scale: largest magnitude or Euclidean norm.
    axis : None or int
        ``None``: one scale for the whole array; ``1``: one per row.

    Returns
    -------
    codes : ndarray of uint64
    M : ndarray
        Scales, broadcastable against ``x``.
    """
    bits = check_bits(bits)
    if bits > 62:
        raise ValueError(f"integer codes need bits <= 62, got {bits}")
    t, M, L = _positions(x, bits, scale, axis)
    lo = np.floor(t)
    up = rng.random(t.shape) < (t - lo)
    return np.minimum(lo + up, L).astype(np.uint64), M


def _decode(codes, M, bits: int) -> np.ndarray:
    L = _levels(bits)
    return M * (codes.astype(float) * (2.0 / L) - 1.0)


def quantize_stochastic(x: np.ndarray, bits: int, rng: np.random.Generator, scale: str = "max",
                        axis=None) -> np.ndarray:
    """Unbiased stochastic quantization ``Q(x)`` to ``bits`` bits, returned as float64 values.

    ``bits`` 1..31: the level grid of the module docstring; 32: float32 rounding; 33..64:
    float64 (no change). See :func:`stochastic_codes` for the arguments.
    """
    bits = check_bits(bits)
    x = np.asarray(x, dtype=float)
    if bits == 32:
        return x.astype(np.float32).astype(float)
    if bits > 32:
        return x.copy()
    codes, M = stochastic_codes(x, bits, rng, scale, axis)
    return _decode(codes, M, bits)


def quantize_deterministic(x: np.ndarray, bits: int, scale: str = "max", axis=None) -> np.ndarray:
    """Round to the nearest of the ``2^b`` levels (biased: ``E[Q(x)] != x`` in general)."""
    bits = check_bits(bits)
    x = np.asarray(x, dtype=float)
    if bits == 32:
        return x.astype(np.float32).astype(float)
    if bits > 32:
        return x.copy()
    t, M, L = _positions(x, bits, scale, axis)
    return _decode(np.rint(t), M, bits)


def stochastic_variance(x: np.ndarray, bits: int, scale: str = "max", axis=None) -> np.ndarray:
    """Per-entry variance ``Delta^2 f (1 - f)`` of :func:`quantize_stochastic` (bits <= 31)."""
    bits = check_bits(bits)
    if bits > 31:
        raise ValueError(f"the level-grid variance formula applies to bits <= 31, got {bits}")
    t, M, L = _positions(x, bits, scale, axis)
    f = t - np.floor(t)
    delta = 2.0 * M / L
    return delta ** 2 * f * (1.0 - f)


# ------------------------------------------------------------------------- storage
class DenseMatrix:
    """A float32 or float64 matrix with the ``matvec``/``rmatvec``/``nbytes`` interface."""

    def __init__(self, A: np.ndarray, dtype=np.float64):
        self.A = np.ascontiguousarray(A, dtype=dtype)
        self.bits = 8 * self.A.dtype.itemsize

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    @property
    def nbytes(self) -> int:
        return self.A.nbytes

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return (self.A @ np.asarray(x, dtype=self.A.dtype)).astype(float)

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        return (self.A.T @ np.asarray(r, dtype=self.A.dtype)).astype(float)

    def dequantize(self) -> np.ndarray:
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
    block_rows : int, optional
        Rows expanded to float32 at a time in the products (default: about 2 MiB of float32 per block).

    Notes
    -----
    ``matvec`` computes per block ``scales * (2/L C_blk x - sum(x))`` and ``rmatvec``
    accumulates ``2/L C_blk^T (scales r)_blk`` minus ``sum(scales r)``; only one block of
    float32 values exists at a time.
    """

    def __init__(self, codes: np.ndarray, scales: np.ndarray, bits: int, pack: bool = True,
                 block_rows: int | None = None):
        bits = check_bits(bits)
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
        self.packed = bool(pack) and bits in (1, 2, 4)
        if self.packed:
            per = 8 // bits
            ncol = -(-n // per)
            padded = np.zeros((m, ncol * per), dtype=np.uint8)
            padded[:, :n] = codes
            grouped = padded.reshape(m, ncol, per)
            data = np.zeros((m, ncol), dtype=np.uint8)
            for k in range(per):
                data |= (grouped[:, :, k] << (bits * k)).astype(np.uint8)
            self.data = data
        else:
            self.data = np.ascontiguousarray(codes, dtype=np.uint8 if bits <= 8 else np.uint16)
        if block_rows is None:
            block_rows = max(1, (1 << 21) // (4 * max(n, 1)))
        if int(block_rows) < 1:
            raise ValueError(f"block_rows must be >= 1, got {block_rows}")
        self.block_rows = int(block_rows)

    # -- construction
    @classmethod
    def from_dense(cls, A: np.ndarray, bits: int, rng: np.random.Generator | None = None,
                   stochastic: bool = True, scale: str = "max", pack: bool = True,
                   block_rows: int | None = None) -> "QuantizedMatrix":
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
        scale : {"max", "norm"}
            Row scale.
        """
        bits = check_bits(bits)
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
                c, M = stochastic_codes(A[i:i + step], bits, rng, scale, axis=1)
                codes[i:i + step], scales[i:i + step] = c, M[:, 0]
        else:
            t, M, L = _positions(A, bits, scale, axis=1)
            codes, scales = np.rint(t).astype(np.uint16), M[:, 0]
        return cls(codes, scales, bits, pack=pack, block_rows=block_rows)

    # -- properties
    @property
    def shape(self) -> tuple[int, int]:
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
        return out.reshape(blk.shape[0], -1)[:, :n]

    def _lut(self) -> np.ndarray:
        """``(256, 8 / b)`` float32 table: the codes packed in each possible byte."""
        if getattr(self, "_lut_cache", None) is None:
            b, per = self.bits, 8 // self.bits
            byte = np.arange(256, dtype=np.uint16)[:, None]
            self._lut_cache = ((byte >> (b * np.arange(per))) & ((1 << b) - 1)).astype(np.float32)
        return self._lut_cache

    def _float_blocks(self):
        """Yield ``(i0, i1, float32 codes of rows i0:i1)``; one reused buffer, never the whole matrix."""
        m, n = self._shape
        br = self.block_rows
        if self.packed:
            lut, per = self._lut(), 8 // self.bits
            ncol = self.data.shape[1]
            buf = np.empty((min(br, m), ncol, per), dtype=np.float32)
            for i0 in range(0, m, br):
                i1 = min(m, i0 + br)
                blk = buf[: i1 - i0]
                np.take(lut, self.data[i0:i1], axis=0, out=blk)
                yield i0, i1, blk.reshape(i1 - i0, ncol * per)[:, :n]
        else:
            buf = np.empty((min(br, m), n), dtype=np.float32)
            for i0 in range(0, m, br):
                i1 = min(m, i0 + br)
                blk = buf[: i1 - i0]
                np.copyto(blk, self.data[i0:i1], casting="unsafe")
                yield i0, i1, blk

    def codes(self) -> np.ndarray:
        """All codes, unpacked (for tests and inspection)."""
        return self._codes_block(0, self._shape[0])

    def dequantize(self) -> np.ndarray:
        """The represented matrix in float64 (expands everything: for tests only)."""
        L = _levels(self.bits)
        return self.scales[:, None] * (self.codes().astype(float) * (2.0 / L) - 1.0)

    # -- products
    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``Q @ x`` computed block by block on the codes."""
        m, n = self._shape
        x = np.asarray(x, dtype=float)
        if x.shape != (n,):
            raise ValueError(f"x must have shape ({n},), got {x.shape}")
        L = _levels(self.bits)
        x32 = x.astype(np.float32)
        out = np.empty(m)
        for i0, i1, blk in self._float_blocks():
            out[i0:i1] = blk @ x32
        return self.scales * (out * (2.0 / L) - x.sum())

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        """``Q.T @ r`` computed block by block on the codes."""
        m, n = self._shape
        r = np.asarray(r, dtype=float)
        if r.shape != (m,):
            raise ValueError(f"r must have shape ({m},), got {r.shape}")
        L = _levels(self.bits)
        w = self.scales * r
        w32 = w.astype(np.float32)
        acc = np.zeros(n, dtype=np.float64)
        for i0, i1, blk in self._float_blocks():
            acc += w32[i0:i1] @ blk
        return acc * (2.0 / L) - w.sum()


def stored_matrix(A: np.ndarray, bits: int, rng: np.random.Generator | None = None, stochastic: bool = True,
                  scale: str = "max", pack: bool = True, block_rows: int | None = None):
    """``A`` held at ``bits`` bits: :class:`QuantizedMatrix` for 1..16, float32 for 32, float64 for 64."""
    bits = check_bits(bits)
    if bits == 64:
        return DenseMatrix(A, np.float64)
    if bits == 32:
        return DenseMatrix(A, np.float32)
    if bits > 16:
        raise ValueError(f"stored matrices support bits 1..16, 32 or 64, got {bits}")
    return QuantizedMatrix.from_dense(A, bits, rng=rng, stochastic=stochastic, scale=scale, pack=pack,
                                      block_rows=block_rows)


def lowprec_operators(A: np.ndarray, y: np.ndarray, bits: int, rng: np.random.Generator,
                      stochastic: bool = True, scale: str = "max", pack: bool = True, y_bits: int | None = None):
    """The paper's low-precision IHT inputs: ``(Q1(A), Q2(A), Q(y))``.

    ``Q1`` and ``Q2`` are two independent quantizations of ``A`` (one scale per row) for the two
    products of the gradient ``Q2^T (Q(y) - Q1 x)``; ``y`` is quantized with one scale for the
    vector to ``y_bits`` (default ``bits``). With ``stochastic=False`` both are the same
    deterministic rounding (the biased contrast). Pass ``Q1`` as ``A`` and ``Q2`` as ``AT`` to
    :func:`repro.sparse.iht.niht` or :func:`repro.sparse.iht.iht`.
    """
    bits = check_bits(bits)
    yb = bits if y_bits is None else check_bits(y_bits)
    if stochastic:
        q1 = stored_matrix(A, bits, rng=rng, scale=scale, pack=pack)
        q2 = stored_matrix(A, bits, rng=rng, scale=scale, pack=pack)
        qy = quantize_stochastic(y, yb, rng, scale=scale)
    else:
        q1 = q2 = stored_matrix(A, bits, stochastic=False, scale=scale, pack=pack)
        qy = quantize_deterministic(y, yb, scale=scale)
    return q1, q2, qy

r"""Compiled products of a b-bit matrix: ``y = Q x`` and ``z = Q^T r`` on the stored codes.

:class:`repro.sparse.lowprec.QuantizedMatrix` stores entry ``(i, j)`` as an integer code
``c_ij`` in ``0..L`` (``L = 2^b - 1``) and one float64 scale ``s_i`` per row; the value is
``s_i (2 c_ij / L - 1) = (2 s_i / L) (c_ij - L/2)``. These Numba kernels compute

.. math::

    (Qx)_i = \frac{2 s_i}{L} \sum_j (c_{ij} - L/2)\, x_j, \qquad
    (Q^T r)_j = \frac{2}{L} \sum_i (c_{ij} - L/2)\, s_i r_i,

reading each code once, row by row (the layout in memory), and turning it into a float32
*in a register*: no float copy of the matrix, or of a block of it, is ever made. The centred
code ``c - L/2`` is a half-integer, exact in float32, so the only roundings are those of
``x`` (or ``s r``) to float32 and of the float32 sums; there is no cancellation between a
large ``sum c x`` and ``L/2 sum x``.

Layouts (``data`` is the ``uint8``/``uint16`` array of :class:`~repro.sparse.lowprec.QuantizedMatrix`):

- *unpacked*: one code per element (``uint8`` for ``b <= 8``, ``uint16`` up to 16 bits);
- *packed*: ``8 / b`` codes per byte for ``b`` in 1, 2, 4, column ``per * j + k`` in bits
  ``b k .. b k + b - 1`` of byte ``j`` (``per = 8 / b``); the last byte of a row is padded
  with zero codes. Slot ``k`` is read as ``byte & mask_k`` (the code times ``2^(b k)``: no
  shift), and the vector is split once per call into its ``per`` interleaved slices
  (``x[k::per]``, times ``2^(-b k)``, exact), so that every slice is read contiguously next to
  the bytes.

Both products take eight rows per step: ``Q x`` loads each ``x[j]`` once for eight rows, and
``Q^T r`` reads and writes ``z`` once per eight rows. With ``threads > 1`` each thread owns a
contiguous band of rows; for ``Q^T r`` it also owns a partial ``z``, and the partials are
summed in thread order afterwards (deterministic for a given number of threads). ``Q x`` does
not depend on ``threads`` at all.

The kernels compile on first use (a second or two per layout; :func:`warm_up` compiles them
ahead, so that no timing and no notebook cell pays for it) and are cached on disk when
Numba's cache directory is writable.

Example
-------
>>> import numpy as np
>>> from repro.sparse import kernels
>>> codes = np.array([[0, 3, 1], [2, 2, 3]], dtype=np.uint8)       # 2-bit codes, L = 3
>>> scales = np.array([1.0, 3.0])
>>> D = scales[:, None] * (2 * codes / 3 - 1)                        # the represented matrix
>>> x = np.array([1.0, 2.0, -1.0])
>>> bool(np.allclose(kernels.matvec(codes, scales, x, bits=2, packed=False), D @ x))
True
>>> packed = kernels.pack(codes, 2)                                  # 4 codes per byte
>>> packed.shape
(2, 1)
>>> bool(np.allclose(kernels.rmatvec(packed, scales, np.ones(2), bits=2, n=3, packed=True), D.sum(axis=0)))
True
"""
from __future__ import annotations

import warnings

import numba
import numpy as np

from .. import quantize as qz

__all__ = ["PACKED_BITS", "pack", "matvec", "rmatvec", "check_threads", "warm_up"]

PACKED_BITS = (1, 2, 4)  # widths stored 8 / b codes per byte
_FASTMATH = {"reassoc", "contract"}  # reassociation lets LLVM vectorize the float32 sums; NaN/inf kept
_ROWS = 8  # rows per step of both products (8 measured 20 % faster than 4 from memory)


def _jit(parallel: bool = False):
    """``numba.njit`` with the on-disk cache when a cache directory is writable, else without."""
    def wrap(fn):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return numba.njit(cache=True, fastmath=_FASTMATH, parallel=parallel, nogil=True)(fn)
        except RuntimeError:  # no writable cache locator (read-only install, no NUMBA_CACHE_DIR)
            return numba.njit(cache=False, fastmath=_FASTMATH, parallel=parallel, nogil=True)(fn)
    return wrap


# --------------------------------------------------------------------------- row kernels
@_jit()
def _eight(a, i):
    """``a[i], ..., a[i + 7]`` (rows of a matrix, or entries of a vector): one step of ``_ROWS`` rows."""
    return a[i], a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 7]


@_jit()
def _mv_unpacked(data, x, half, out, i0, i1):
    """``out[i] = sum_j (data[i, j] - half) x[j]`` for rows ``i0 .. i1 - 1`` (float32).

    Eight rows at a time share each load of ``x``.
    """
    n = data.shape[1]
    i = i0
    while i + _ROWS <= i1:
        r0, r1, r2, r3, r4, r5, r6, r7 = _eight(data, i)
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0.0)
        for j in range(n):
            xj = x[j]
            a0 += (np.float32(r0[j]) - half) * xj
            a1 += (np.float32(r1[j]) - half) * xj
            a2 += (np.float32(r2[j]) - half) * xj
            a3 += (np.float32(r3[j]) - half) * xj
            a4 += (np.float32(r4[j]) - half) * xj
            a5 += (np.float32(r5[j]) - half) * xj
            a6 += (np.float32(r6[j]) - half) * xj
            a7 += (np.float32(r7[j]) - half) * xj
        out[i:i + _ROWS] = (a0, a1, a2, a3, a4, a5, a6, a7)
        i += _ROWS
    while i < i1:
        row = data[i]
        acc = np.float32(0.0)
        for j in range(n):
            acc += (np.float32(row[j]) - half) * x[j]
        out[i] = acc
        i += 1


@_jit()
def _mv_packed(data, xs, masks, halves, out, i0, i1):
    """As :func:`_mv_unpacked` for packed bytes.

    Slot ``k`` of a byte is read as ``byte & masks[k]`` (the code times ``2^(b k)``, no shift),
    centred by ``halves[k] = 2^(b k) L / 2``; ``xs[k, j] = 2^(-b k) x[per j + k]`` undoes the
    power of two exactly.
    """
    ncol, per = data.shape[1], xs.shape[0]
    i = i0
    while i + _ROWS <= i1:
        r0, r1, r2, r3, r4, r5, r6, r7 = _eight(data, i)
        t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = np.float32(0.0)
        for k in range(per):
            mk, hk, xk = masks[k], halves[k], xs[k]
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0.0)
            for j in range(ncol):
                xj = xk[j]
                a0 += (np.float32(np.uint8(r0[j] & mk)) - hk) * xj
                a1 += (np.float32(np.uint8(r1[j] & mk)) - hk) * xj
                a2 += (np.float32(np.uint8(r2[j] & mk)) - hk) * xj
                a3 += (np.float32(np.uint8(r3[j] & mk)) - hk) * xj
                a4 += (np.float32(np.uint8(r4[j] & mk)) - hk) * xj
                a5 += (np.float32(np.uint8(r5[j] & mk)) - hk) * xj
                a6 += (np.float32(np.uint8(r6[j] & mk)) - hk) * xj
                a7 += (np.float32(np.uint8(r7[j] & mk)) - hk) * xj
            t0, t1, t2, t3, t4, t5, t6, t7 = t0 + a0, t1 + a1, t2 + a2, t3 + a3, t4 + a4, t5 + a5, t6 + a6, t7 + a7
        out[i:i + _ROWS] = (t0, t1, t2, t3, t4, t5, t6, t7)
        i += _ROWS
    while i < i1:
        row = data[i]
        tot = np.float32(0.0)
        for k in range(per):
            mk, hk, xk = masks[k], halves[k], xs[k]
            acc = np.float32(0.0)
            for j in range(ncol):
                acc += (np.float32(np.uint8(row[j] & mk)) - hk) * xk[j]
            tot += acc
        out[i] = tot
        i += 1


@_jit()
def _rmv_unpacked(data, w, half, z, i0, i1):
    """``z[j] += sum_i w[i] (data[i, j] - half)`` over rows ``i0 .. i1 - 1`` (float32), eight rows a pass over ``z``."""
    n = data.shape[1]
    i = i0
    while i + _ROWS <= i1:
        r0, r1, r2, r3, r4, r5, r6, r7 = _eight(data, i)
        w0, w1, w2, w3, w4, w5, w6, w7 = _eight(w, i)
        for j in range(n):
            z[j] += ((w0 * (np.float32(r0[j]) - half) + w1 * (np.float32(r1[j]) - half))
                     + (w2 * (np.float32(r2[j]) - half) + w3 * (np.float32(r3[j]) - half))
                     + (w4 * (np.float32(r4[j]) - half) + w5 * (np.float32(r5[j]) - half))
                     + (w6 * (np.float32(r6[j]) - half) + w7 * (np.float32(r7[j]) - half)))
        i += _ROWS
    while i < i1:
        row, wi = data[i], w[i]
        for j in range(n):
            z[j] += wi * (np.float32(row[j]) - half)
        i += 1


@_jit()
def _rmv_packed(data, w, masks, halves, zs, i0, i1):
    """As :func:`_rmv_unpacked` for packed bytes into ``zs[k, j]`` (column ``per j + k``, times ``2^(b k)``)."""
    ncol, per = data.shape[1], zs.shape[0]
    i = i0
    while i + _ROWS <= i1:
        r0, r1, r2, r3, r4, r5, r6, r7 = _eight(data, i)
        w0, w1, w2, w3, w4, w5, w6, w7 = _eight(w, i)
        for k in range(per):
            mk, hk, zk = masks[k], halves[k], zs[k]
            for j in range(ncol):
                zk[j] += ((w0 * (np.float32(np.uint8(r0[j] & mk)) - hk) + w1 * (np.float32(np.uint8(r1[j] & mk)) - hk))
                          + (w2 * (np.float32(np.uint8(r2[j] & mk)) - hk)
                             + w3 * (np.float32(np.uint8(r3[j] & mk)) - hk))
                          + (w4 * (np.float32(np.uint8(r4[j] & mk)) - hk)
                             + w5 * (np.float32(np.uint8(r5[j] & mk)) - hk))
                          + (w6 * (np.float32(np.uint8(r6[j] & mk)) - hk)
                             + w7 * (np.float32(np.uint8(r7[j] & mk)) - hk)))
        i += _ROWS
    while i < i1:
        row, wi = data[i], w[i]
        for k in range(per):
            mk, hk, zk = masks[k], halves[k], zs[k]
            for j in range(ncol):
                zk[j] += wi * (np.float32(np.uint8(row[j] & mk)) - hk)
        i += 1


# --------------------------------------------------------------------------- threaded drivers
@_jit(parallel=True)
def _mv_unpacked_par(data, x, half, out, bounds):
    for t in numba.prange(bounds.size - 1):
        _mv_unpacked(data, x, half, out, bounds[t], bounds[t + 1])


@_jit(parallel=True)
def _mv_packed_par(data, xs, masks, halves, out, bounds):
    for t in numba.prange(bounds.size - 1):
        _mv_packed(data, xs, masks, halves, out, bounds[t], bounds[t + 1])


@_jit(parallel=True)
def _rmv_unpacked_par(data, w, half, zt, bounds):
    for t in numba.prange(bounds.size - 1):
        _rmv_unpacked(data, w, half, zt[t], bounds[t], bounds[t + 1])


@_jit(parallel=True)
def _rmv_packed_par(data, w, masks, halves, zt, bounds):
    for t in numba.prange(bounds.size - 1):
        _rmv_packed(data, w, masks, halves, zt[t], bounds[t], bounds[t + 1])


# --------------------------------------------------------------------------- checks and helpers
def _check_bits(bits, packed: bool) -> int:
    bits = qz.check_bits(bits, max_bits=16)
    if packed and bits not in PACKED_BITS:
        raise ValueError(f"packed codes need bits in {PACKED_BITS}, got bits={bits}")
    return bits


def _check_data(data, scales, bits: int, packed: bool):
    if not isinstance(data, np.ndarray) or data.ndim != 2:
        raise ValueError(f"data must be a 2-D numpy array, got {type(data).__name__} "
                         f"of shape {getattr(data, 'shape', None)}")
    want = np.uint8 if (packed or bits <= 8) else np.uint16
    if data.dtype != want:
        raise TypeError(f"{bits}-bit {'packed' if packed else 'unpacked'} codes must be {np.dtype(want).name}, "
                        f"got {data.dtype}")
    scales = np.asarray(scales, dtype=np.float64)
    if scales.shape != (data.shape[0],):
        raise ValueError(f"scales must have shape ({data.shape[0]},), got {scales.shape}")
    return np.ascontiguousarray(data), scales


def check_threads(threads) -> int:
    """Validate a ``threads`` argument of the products.

    Parameters
    ----------
    threads : int
        Wanted threads.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Not a positive integer, or more than Numba's thread pool (``NUMBA_NUM_THREADS``).
    """
    if isinstance(threads, (bool, np.bool_)) or int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    threads = int(threads)
    if threads > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads={threads} exceeds Numba's pool of {numba.config.NUMBA_NUM_THREADS}")
    return threads


def _vector(v, size: int, name: str) -> np.ndarray:
    v = np.asarray(v)
    if v.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric vector, got dtype {v.dtype}")
    v = v.astype(np.float64, copy=False)
    if v.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {v.shape}")
    return v


def _bounds(m: int, parts: int) -> np.ndarray:
    """Row bands of (almost) equal size, multiples of ``_ROWS`` except the last."""
    step = -(-m // parts)
    step = -(-step // _ROWS) * _ROWS
    return np.minimum(np.arange(parts + 1, dtype=np.int64) * step, m)


def _prepare(data, scales, bits, packed: bool, threads):
    """Checked ``(data, scales, bits, threads)`` and the layout's ``(per, L, half)``."""
    bits = _check_bits(bits, packed)
    data, scales = _check_data(data, scales, bits, packed)
    L = (1 << bits) - 1
    return data, scales, bits, check_threads(threads), (8 // bits if packed else 1), L, np.float32(L / 2)


def _slots(bits: int, half: np.float32):
    """Per-slot byte masks, centres and exact powers of two of a packed layout."""
    per = 8 // bits
    shifts = bits * np.arange(per)
    masks = (((1 << bits) - 1) << shifts).astype(np.uint8)
    pow2 = np.ldexp(np.float32(1.0), shifts).astype(np.float32)
    return masks, (half * pow2).astype(np.float32), pow2


def _with_threads(threads: int, fn, *args):
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        fn(*args)
    finally:
        numba.set_num_threads(before)


def pack(codes: np.ndarray, bits: int) -> np.ndarray:
    """Pack ``b``-bit codes ``8 / b`` to a byte (``b`` in 1, 2, 4), column ``per j + k`` in bits ``b k ..``.

    Parameters
    ----------
    codes : ndarray of int, shape (m, n)
        Codes in ``0 .. 2^b - 1``.
    bits : int
        1, 2 or 4.

    Returns
    -------
    ndarray of uint8, shape (m, ceil(n b / 8))
        The last byte of each row is padded with zero codes.

    Raises
    ------
    ValueError
        ``bits`` not 1, 2 or 4, ``codes`` not 2-D or out of range.
    """
    bits = _check_bits(bits, packed=True)
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be 2-D, got shape {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() > (1 << bits) - 1):
        raise ValueError(f"codes must lie in 0..{(1 << bits) - 1} for {bits} bits")
    m, n = codes.shape
    per = 8 // bits
    ncol = -(-n // per)
    padded = np.zeros((m, ncol * per), dtype=np.uint8)
    padded[:, :n] = codes
    grouped = padded.reshape(m, ncol, per)
    data = np.zeros((m, ncol), dtype=np.uint8)
    for k in range(per):
        data |= (grouped[:, :, k] << (bits * k)).astype(np.uint8)
    return data


def matvec(data: np.ndarray, scales: np.ndarray, x: np.ndarray, bits: int, packed: bool,
           threads: int = 1) -> np.ndarray:
    """``y = Q x`` for ``Q`` stored as ``b``-bit codes ``data`` with one scale per row.

    Parameters
    ----------
    data : ndarray of uint8 (or uint16 for 9..16 unpacked bits), shape (m, ncol)
        The codes, one per element (``ncol = n``) or packed (``ncol = ceil(n b / 8)``).
    scales : ndarray, shape (m,)
        Row scales ``s_i``: entry ``(i, j)`` is ``s_i (2 c_ij / L - 1)``.
    x : ndarray, shape (n,)
        The vector (rounded to float32 inside).
    bits : int
        Bits per code: 1, 2 or 4 packed; 1..16 unpacked.
    packed : bool
        Layout of ``data``.
    threads : int
        Threads over row bands (rows are independent: the result does not depend on it).

    Returns
    -------
    ndarray of float64, shape (m,)

    Raises
    ------
    ValueError
        Bad ``bits``, ``threads`` or shapes (``x`` not of length ``n``, ``scales`` not of length ``m``).
    TypeError
        ``data`` of the wrong dtype, ``x`` not numeric.
    """
    data, scales, bits, threads, per, L, half = _prepare(data, scales, bits, packed, threads)
    m, ncol = data.shape
    x = np.asarray(x)
    n = x.shape[0] if x.ndim == 1 else -1
    if not packed and n != ncol or packed and (n < 0 or -(-n // per) != ncol):
        raise ValueError(f"x of shape {x.shape} does not fit {bits}-bit {'packed' if packed else 'unpacked'} "
                         f"codes of shape {data.shape}")
    x = _vector(x, n, "x")
    out = np.zeros(m, dtype=np.float32)
    if m and n:
        if packed:
            masks, halves, pow2 = _slots(bits, half)
            xs = np.zeros(ncol * per, dtype=np.float32)
            xs[:n] = x
            xs = np.ascontiguousarray(xs.reshape(ncol, per).T) / pow2[:, None]  # exact: powers of two
        else:
            xs = x.astype(np.float32)
        if threads == 1:
            (_mv_packed(data, xs, masks, halves, out, 0, m) if packed else _mv_unpacked(data, xs, half, out, 0, m))
        elif packed:
            _with_threads(threads, _mv_packed_par, data, xs, masks, halves, out, _bounds(m, threads))
        else:
            _with_threads(threads, _mv_unpacked_par, data, xs, half, out, _bounds(m, threads))
    return scales * (2.0 / L) * out.astype(np.float64)


def rmatvec(data: np.ndarray, scales: np.ndarray, r: np.ndarray, bits: int, n: int, packed: bool,
            threads: int = 1) -> np.ndarray:
    """``z = Q^T r`` for ``Q`` stored as ``b``-bit codes ``data`` with one scale per row.

    Parameters
    ----------
    data : ndarray of uint8 (or uint16 for 9..16 unpacked bits), shape (m, ncol)
        As in :func:`matvec`.
    scales : ndarray, shape (m,)
        Row scales.
    r : ndarray, shape (m,)
        The vector; ``s_i r_i`` is formed in float64 and rounded to float32.
    bits : int
        Bits per code.
    n : int
        Columns of ``Q`` (needed to drop the padding of packed rows).
    packed : bool
        Layout of ``data``.
    threads : int
        Threads over row bands, each with its own partial ``z``, summed in thread order.

    Returns
    -------
    ndarray of float64, shape (n,)

    Raises
    ------
    ValueError
        Bad ``bits``, ``threads``, ``n`` or shapes.
    TypeError
        ``data`` of the wrong dtype, ``r`` not numeric.
    """
    data, scales, bits, threads, per, L, half = _prepare(data, scales, bits, packed, threads)
    m, ncol = data.shape
    if int(n) != n or n < 0 or (-(-int(n) // per) != ncol if packed else int(n) != ncol):
        raise ValueError(f"n={n!r} does not fit {bits}-bit {'packed' if packed else 'unpacked'} "
                         f"codes of shape {data.shape}")
    n = int(n)
    r = _vector(r, m, "r")
    w = (scales * r).astype(np.float32)
    masks, halves, pow2 = _slots(bits, half) if packed else (None, None, np.ones(1, dtype=np.float32))
    if threads == 1 or m < 2 * _ROWS:
        zt = np.zeros((1, per, ncol), dtype=np.float32)
        if m and n:
            (_rmv_packed(data, w, masks, halves, zt[0], 0, m) if packed
             else _rmv_unpacked(data, w, half, zt[0, 0], 0, m))
    else:
        bounds = _bounds(m, threads)
        zt = np.zeros((threads, per, ncol), dtype=np.float32)
        if packed:
            _with_threads(threads, _rmv_packed_par, data, w, masks, halves, zt, bounds)
        else:
            _with_threads(threads, _rmv_unpacked_par, data, w, half, zt[:, 0, :], bounds)
    z = zt[0].astype(np.float64)
    for t in range(1, zt.shape[0]):
        z += zt[t]
    z /= pow2[:, None]  # exact: slot k was accumulated times 2^(b k)
    return (2.0 / L) * z.T.reshape(-1)[:n]


def warm_up(threads: int = 1) -> None:
    """Compile (or load from the cache) every kernel on tiny inputs.

    Call before timing, or at the top of a notebook, so that the first product does not
    include compilation.

    Parameters
    ----------
    threads : int
        Also compile the threaded drivers when > 1.
    """
    codes = np.arange(18, dtype=np.uint8).reshape(9, 2) % 2
    for t in sorted({1, check_threads(threads)}):
        matvec(codes, np.ones(9), np.ones(2), 8, False, threads=t)
        rmatvec(codes, np.ones(9), np.ones(9), 8, 2, False, threads=t)
        p = pack(codes, 2)
        matvec(p, np.ones(9), np.ones(2), 2, True, threads=t)
        rmatvec(p, np.ones(9), np.ones(9), 2, 2, True, threads=t)

"""Compiled b-bit products (repro.sparse.kernels) against float64 references.

Tolerance ("to float32 rounding"): the kernels round ``x`` (or ``s r``) to float32 and sum
``k`` float32 products of exact centred codes, so the worst-case error of entry ``i`` is
``gamma_(k+2) (|D| |x|)_i`` with ``gamma_j = j u / (1 - j u)``, ``u = 2^-24`` and ``k`` the
number of terms summed (``n`` for ``D x``, ``m`` for ``D^T r``), whatever the order of the
sums. The reference ``D`` is the dequantized matrix in float64. Where every partial sum is
exact in float32 (small integer vectors), the kernels must match the reference to float64
rounding.
"""
from __future__ import annotations

import numpy as np
import pytest

from repro.sparse import kernels as K
from repro.sparse import lowprec as lp

from .conftest import needs_data

U32 = 2.0 ** -24
LAYOUTS = [(8, False), (4, True), (2, True), (1, True), (4, False), (2, False), (3, False), (12, False)]
SHAPES = [(37, 53), (1, 7), (5, 1), (7, 9), (13, 10), (9, 1001), (1, 1), (0, 5), (5, 0), (0, 0)]


def _gamma(k: int) -> float:
    return (k + 2) * U32 / (1 - (k + 2) * U32)


def _check(Q: lp.QuantizedMatrix, x: np.ndarray, r: np.ndarray, threads: int = 1):
    """Both products against the dequantized float64 matrix, within the float32 bound."""
    D = Q.dequantize()
    m, n = Q.shape
    y = K.matvec(Q.data, Q.scales, x, Q.bits, Q.packed, threads=threads)
    z = K.rmatvec(Q.data, Q.scales, r, Q.bits, n, Q.packed, threads=threads)
    assert y.shape == (m,) and z.shape == (n,) and y.dtype == z.dtype == np.float64
    assert np.all(np.abs(y - D @ x) <= _gamma(n) * (np.abs(D) @ np.abs(x)) + 1e-300)
    assert np.all(np.abs(z - D.T @ r) <= _gamma(m) * (np.abs(D).T @ np.abs(r)) + 1e-300)
    return y, z


@pytest.mark.parametrize("bits,pack", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_products_match_float64_reference(bits, pack, shape):
    rng = np.random.default_rng([bits, *shape])
    A = rng.standard_normal(shape) * rng.uniform(0.1, 10, (shape[0], 1))  # rows of different scales
    Q = lp.QuantizedMatrix.from_dense(A, bits, rng=rng, pack=pack)
    assert Q.packed == (pack and bits in K.PACKED_BITS)
    _check(Q, rng.standard_normal(shape[1]), rng.standard_normal(shape[0]))


@pytest.mark.parametrize("bits,pack", LAYOUTS)
def test_exact_sums_equal_reference_to_float64_rounding(bits, pack):
    # small integer vectors: every partial sum of centred codes (half-integers) times x is exact in float32
    rng = np.random.default_rng(bits)
    m, n = 23, 301
    Q = lp.QuantizedMatrix.from_dense(rng.standard_normal((m, n)), bits, rng=rng, pack=pack)
    L = (1 << bits) - 1
    x = rng.integers(-3, 4, n).astype(float)
    w = rng.integers(-3, 4, m).astype(float)
    centred = Q.codes() - L / 2
    ref_y = Q.scales * (2 / L) * (centred @ x)  # exact in float64 up to the final scaling
    ref_z = (2 / L) * (centred.T @ w)
    y = Q.matvec(x)
    z = K.rmatvec(Q.data, np.ones(m), w, bits, n, Q.packed)
    assert np.allclose(y, ref_y, rtol=1e-15, atol=0) and np.allclose(z, ref_z, rtol=1e-15, atol=0)
    assert np.allclose(y, Q.dequantize() @ x, rtol=1e-12, atol=1e-12 * np.abs(Q.dequantize()).sum())


def test_every_code_of_every_slot_is_read():
    # one non-zero code at a time: a wrong mask, slot order or padding shows as a wrong column
    for bits in (1, 2, 4, 8):
        L = (1 << bits) - 1
        n = 8 // bits * 3 + 1 if bits < 8 else 5
        for j in range(n):
            codes = np.full((2, n), (L + 1) // 2 if L > 1 else 0, dtype=np.uint8)
            codes[1, j] = L
            Q = lp.QuantizedMatrix(codes, np.array([1.0, 2.0]), bits, pack=True)
            D = Q.dequantize()
            e = np.zeros(n)
            e[j] = 1.0
            assert np.allclose(Q.matvec(e), D[:, j], rtol=1e-7, atol=1e-7)
            assert np.allclose(Q.rmatvec(np.array([0.0, 1.0])), D[1], rtol=1e-7, atol=1e-7)


@needs_data
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_real_station_matrix(bits):
    from repro.sparse import station

    P = station.station_problem(21)
    rng = np.random.default_rng(bits)
    Q = lp.QuantizedMatrix.from_dense(P.A, bits, rng=rng)
    x = rng.standard_normal(P.A.shape[1])
    y, z = _check(Q, x, P.y)
    # and against the unquantized operator, to the quantization error of b bits
    assert np.linalg.norm(y - P.A @ x) < 2.0 ** (2 - bits) * np.linalg.norm(np.abs(P.A) @ np.abs(x))


@pytest.mark.skipif(K.numba.config.NUMBA_NUM_THREADS < 2, reason="Numba's thread pool has one thread")
@pytest.mark.parametrize("bits,pack", [(8, False), (4, True), (2, True)])
def test_threads_and_determinism(bits, pack):
    rng = np.random.default_rng(11)
    m, n = 103, 77
    Q = lp.QuantizedMatrix.from_dense(rng.standard_normal((m, n)), bits, rng=rng, pack=pack)
    x, r = rng.standard_normal(n), rng.standard_normal(m)
    y1, z1 = _check(Q, x, r, threads=1)
    y2, z2 = _check(Q, x, r, threads=2)
    assert np.array_equal(y1, y2)  # rows are independent of the thread split
    assert np.array_equal(z2, K.rmatvec(Q.data, Q.scales, r, bits, n, Q.packed, threads=2))  # deterministic
    assert np.array_equal(y1, Q.matvec(x)) and np.array_equal(z1, Q.rmatvec(r))
    Q2 = lp.QuantizedMatrix(Q.codes(), Q.scales, bits, pack=pack, threads=2)
    assert np.array_equal(Q2.rmatvec(r), z2)


def test_pack_layout_and_non_contiguous_input():
    codes = np.array([[1, 2, 3, 0, 1], [3, 3, 0, 0, 2]], dtype=np.uint8)
    p = K.pack(codes, 2)
    assert p.tolist() == [[1 | 2 << 2 | 3 << 4, 1], [3 | 3 << 2, 2]]
    assert np.array_equal(lp.QuantizedMatrix(codes, np.ones(2), 2).codes(), codes)
    big = np.random.default_rng(0).integers(0, 256, (6, 10)).astype(np.uint8)
    view = big[::2, ::2]  # not contiguous
    x = np.arange(5.0)
    assert np.allclose(K.matvec(view, np.ones(3), x, 8, False), (2 * view.astype(float) / 255 - 1) @ x, rtol=1e-6)


def test_bad_inputs_raise_clear_errors():
    codes = np.zeros((3, 4), dtype=np.uint8)
    s, x, r = np.ones(3), np.ones(4), np.ones(3)
    with pytest.raises(ValueError, match="packed codes need bits"):
        K.matvec(codes, s, x, 3, True)
    for bad in (0, 17, 2.5, True):
        with pytest.raises(ValueError, match="bits"):
            K.matvec(codes, s, x, bad, False)
    with pytest.raises(TypeError, match="must be uint8"):
        K.matvec(codes.astype(np.float64), s, x, 8, False)
    with pytest.raises(TypeError, match="must be uint16"):
        K.matvec(codes, s, x, 12, False)
    with pytest.raises(ValueError, match="does not fit"):
        K.matvec(codes, s, np.ones(5), 8, False)
    with pytest.raises(ValueError, match="does not fit"):
        K.matvec(codes, s, np.ones(9), 4, True)  # 4 bytes hold 7 or 8 four-bit codes
    with pytest.raises(ValueError, match="does not fit"):
        K.rmatvec(codes, s, r, 4, 9, True)
    with pytest.raises(ValueError, match=r"r must have shape \(3,\)"):
        K.rmatvec(codes, s, np.ones(4), 8, 4, False)
    with pytest.raises(ValueError, match="scales must have shape"):
        K.rmatvec(codes, np.ones(2), r, 8, 4, False)
    with pytest.raises(TypeError, match="real numeric"):
        K.matvec(codes, s, x.astype(complex), 8, False)
    with pytest.raises(ValueError, match="2-D"):
        K.matvec(codes[0], s, x, 8, False)
    for bad in (0, -1, 1.5, 10 ** 6):
        with pytest.raises(ValueError, match="threads"):
            K.matvec(codes, s, x, 8, False, threads=bad)
    with pytest.raises(ValueError, match="threads"):
        lp.QuantizedMatrix(codes, s, 8, threads=0)
    with pytest.raises(ValueError, match="codes must lie"):
        K.pack(np.full((1, 3), 4), 2)
    Q = lp.QuantizedMatrix(codes, s, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(4,\)"):
        Q.matvec(np.ones(3))


def test_warm_up_and_docstring_examples():
    import doctest
    import importlib

    K.warm_up()
    assert doctest.testmod(importlib.import_module("repro.sparse.kernels"), optionflags=doctest.ELLIPSIS).failed == 0

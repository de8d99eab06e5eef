"""b-bit stored matrices and the low-precision IHT inputs (repro.sparse.lowprec)."""
from __future__ import annotations

import numpy as np
import pytest

from repro import quantize as qz
from repro.sparse import iht as ih
from repro.sparse import lowprec as lp


def test_at_precision_grid_float32_and_float64():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 40))
    assert np.array_equal(lp.at_precision(A, 64, rng), A)
    assert np.array_equal(lp.at_precision(A, 32, rng), A.astype(np.float32).astype(float))
    q = lp.at_precision(A, 3, np.random.default_rng(1), axis=1)
    assert q.tobytes() == qz.quantize(A, 3, np.random.default_rng(1), axis=1, form=lp.FORM).tobytes()
    det = lp.at_precision(A, 3, stochastic=False)
    assert det.tobytes() == qz.quantize(A, 3, stochastic=False, form="scaled").tobytes()


@pytest.mark.parametrize("bad", [0, 65, -1, 2.5])
def test_bad_bits(bad):
    with pytest.raises(ValueError, match="bits"):
        lp.at_precision(np.ones(3), bad, np.random.default_rng(0))


@pytest.mark.parametrize("bits,pack", [(1, True), (2, True), (3, True), (4, True), (4, False), (8, True), (12, True)])
def test_quantized_matrix_products_match_dequantized(bits, pack):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((37, 53))
    Q = lp.QuantizedMatrix.from_dense(A, bits, rng=rng, pack=pack)
    D = Q.dequantize()
    x, r = rng.standard_normal(53), rng.standard_normal(37)
    tol = 1e-5 * np.abs(D).max() * (np.abs(x).sum() + np.abs(r).sum())
    assert np.allclose(Q.matvec(x), D @ x, rtol=0, atol=tol)
    assert np.allclose(Q.rmatvec(r), D.T @ r, rtol=0, atol=tol)
    # storage really is b bits per code (plus one float64 scale per row)
    per_code = {1: 1 / 8, 2: 1 / 4, 4: 1 / 2 if pack else 1}.get(bits, 1 if bits <= 8 else 2)
    assert Q.nbytes == int(np.ceil(53 * per_code)) * 37 + 8 * 37
    # deterministic storage equals the deterministic quantizer row by row
    Qd = lp.QuantizedMatrix.from_dense(A, bits, stochastic=False, pack=pack)
    assert np.allclose(Qd.dequantize(), lp.at_precision(A, bits, stochastic=False, axis=1))


def test_stochastic_codes_are_those_of_the_shared_quantizer():
    A = np.random.default_rng(7).standard_normal((9, 30))
    Q = lp.QuantizedMatrix.from_dense(A, 4, rng=np.random.default_rng(8), pack=False)
    codes, s = qz.stochastic_codes(A, 4, np.random.default_rng(8), axis=1, form="scaled")
    assert np.array_equal(Q.codes(), codes) and np.array_equal(Q.scales, s[:, 0])


def test_stored_matrix_and_bad_args():
    A = np.random.default_rng(4).standard_normal((6, 9))
    assert lp.stored_matrix(A, 64).nbytes == A.nbytes
    assert lp.stored_matrix(A, 32).nbytes == A.nbytes // 2
    with pytest.raises(ValueError, match="bits 1..16, 32 or 64"):
        lp.stored_matrix(A, 20)
    with pytest.raises(ValueError, match="rng"):
        lp.QuantizedMatrix.from_dense(A, 4)
    with pytest.raises(ValueError, match="codes must lie"):
        lp.QuantizedMatrix(np.full((2, 2), 9), np.ones(2), 3)


def test_two_independent_quantizations_give_unbiased_gradient():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((20, 30))
    x, y = rng.standard_normal(30), rng.standard_normal(20)
    exact = A.T @ (y - A @ x)
    two, one = [], []
    for _ in range(4000):
        q1 = lp.at_precision(A, 2, rng, axis=1)
        q2 = lp.at_precision(A, 2, rng, axis=1)
        two.append(q2.T @ (y - q1 @ x))
        one.append(q1.T @ (y - q1 @ x))
    err_two = np.linalg.norm(np.mean(two, 0) - exact)
    err_one = np.linalg.norm(np.mean(one, 0) - exact)
    assert err_two < 0.25 * err_one


def test_lowprec_niht_recovers_support_at_8_bits():
    rng = np.random.default_rng(6)
    m, n, s = 200, 400, 6
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    supp = np.sort(rng.choice(n, s, replace=False))
    x[supp] = rng.choice([-1, 1], s) * rng.uniform(1, 2, s)
    y = A @ x
    q1, q2, qy = lp.lowprec_operators(A, y, 8, rng)
    res = ih.niht(q1, qy, s, n_iter=300, AT=q2)
    assert np.array_equal(res.support, supp)
    assert np.linalg.norm(res.x - x) < 0.05 * np.linalg.norm(x)
    # lowprec_niht: the same operators drawn from the same generator state give the same solve
    again = lp.lowprec_niht(A, y, s, 8, np.random.default_rng(1), pack=True)
    q1, q2, qy = lp.lowprec_operators(A, y, 8, np.random.default_rng(1), pack=True)
    assert np.array_equal(again.x, ih.niht(q1, qy, s, n_iter=300, AT=q2).x)
    assert np.array_equal(lp.lowprec_niht(A, y, s, 64, None).x, ih.niht(A, y, s, n_iter=300).x)


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("repro.sparse.lowprec"), optionflags=doctest.ELLIPSIS).failed == 0

"""Quantizers and the b-bit stored matrix (repro.sparse.quantize)."""
from __future__ import annotations

import numpy as np
import pytest

from repro.sparse import iht as ih
from repro.sparse import quantize as qz


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_stochastic_quantization_is_unbiased_with_formula_variance(bits):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 50)
    draws = np.stack([qz.quantize_stochastic(x, bits, rng) for _ in range(20000)])
    var = qz.stochastic_variance(x, bits)
    # mean within 5 standard errors of x, entry by entry
    se = np.sqrt(var / draws.shape[0]) + 1e-12
    assert np.all(np.abs(draws.mean(0) - x) < 5 * se + 1e-12)
    # variance matches Delta^2 f (1 - f): in total to 2 %, entry by entry to a few % of the largest
    emp = draws.var(0)
    assert emp.sum() == pytest.approx(var.sum(), rel=0.02)
    assert np.allclose(emp, var, rtol=0.05, atol=0.03 * var.max())
    # and a wrong formula (e.g. the worst case Delta^2 / 4 everywhere) is rejected
    assert not np.isclose(emp.sum(), (2 * np.abs(x).max() / (2 ** bits - 1)) ** 2 / 4 * x.size, rtol=0.1)
    # values lie on the 2^b levels of [-M, M]
    M = np.abs(x).max()
    L = 2 ** bits - 1
    k = (draws[0] / M + 1) * L / 2
    assert np.allclose(k, np.rint(k)) and k.min() >= 0 and k.max() <= L


def test_deterministic_rounding_is_biased():
    rng = np.random.default_rng(1)
    x = np.full(10, 0.3)
    x[0] = 1.0  # sets the scale M = 1
    det = qz.quantize_deterministic(x, 2)  # levels -1, -1/3, 1/3, 1: 0.3 -> 1/3 always
    assert np.allclose(det[1:], 1 / 3)
    sto = np.mean([qz.quantize_stochastic(x, 2, rng) for _ in range(20000)], axis=0)
    assert abs(sto[1:].mean() - 0.3) < 0.005 < abs(det[1:].mean() - 0.3)


def test_per_row_and_norm_scaling():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 40)) * np.arange(1, 6)[:, None]
    Q = qz.quantize_stochastic(A, 3, rng, axis=1)
    M = np.abs(A).max(1, keepdims=True)
    k = (Q / M + 1) * 7 / 2
    assert np.allclose(k, np.rint(k))
    Qn = qz.quantize_stochastic(A, 3, rng, scale="norm", axis=1)
    assert np.all(np.abs(Qn) <= np.linalg.norm(A, axis=1, keepdims=True) + 1e-12)
    assert np.array_equal(qz.quantize_stochastic(A, 64, rng), A)
    assert np.array_equal(qz.quantize_stochastic(A, 32, rng), A.astype(np.float32).astype(float))


@pytest.mark.parametrize("bad", [0, 65, -1, 2.5])
def test_bad_bits(bad):
    with pytest.raises(ValueError, match="bits"):
        qz.quantize_stochastic(np.ones(3), bad, np.random.default_rng(0))


@pytest.mark.parametrize("bits,pack", [(1, True), (2, True), (3, True), (4, True), (4, False), (8, True), (12, True)])
def test_quantized_matrix_products_match_dequantized(bits, pack):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((37, 53))
    Q = qz.QuantizedMatrix.from_dense(A, bits, rng=rng, pack=pack, block_rows=5)
    D = Q.dequantize()
    x, r = rng.standard_normal(53), rng.standard_normal(37)
    tol = 1e-5 * np.abs(D).max() * (np.abs(x).sum() + np.abs(r).sum())
    assert np.allclose(Q.matvec(x), D @ x, rtol=0, atol=tol)
    assert np.allclose(Q.rmatvec(r), D.T @ r, rtol=0, atol=tol)
    # storage really is b bits per code (plus one float64 scale per row)
    per_code = {1: 1 / 8, 2: 1 / 4, 4: 1 / 2 if pack else 1}.get(bits, 1 if bits <= 8 else 2)
    assert Q.nbytes == int(np.ceil(53 * per_code)) * 37 + 8 * 37
    # deterministic storage equals the deterministic quantizer row by row
    Qd = qz.QuantizedMatrix.from_dense(A, bits, stochastic=False, pack=pack)
    assert np.allclose(Qd.dequantize(), qz.quantize_deterministic(A, bits, axis=1))


def test_stored_matrix_and_bad_args():
    A = np.random.default_rng(4).standard_normal((6, 9))
    assert qz.stored_matrix(A, 64).nbytes == A.nbytes
    assert qz.stored_matrix(A, 32).nbytes == A.nbytes // 2
    with pytest.raises(ValueError, match="bits 1..16, 32 or 64"):
        qz.stored_matrix(A, 20)
    with pytest.raises(ValueError, match="rng"):
        qz.QuantizedMatrix.from_dense(A, 4)


def test_two_independent_quantizations_give_unbiased_gradient():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((20, 30))
    x, y = rng.standard_normal(30), rng.standard_normal(20)
    exact = A.T @ (y - A @ x)
    two, one = [], []
    for _ in range(4000):
        q1 = qz.quantize_stochastic(A, 2, rng, axis=1)
        q2 = qz.quantize_stochastic(A, 2, rng, axis=1)
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
    q1, q2, qy = qz.lowprec_operators(A, y, 8, rng)
    res = ih.niht(q1, qy, s, n_iter=300, AT=q2)
    assert np.array_equal(res.support, supp)
    assert np.linalg.norm(res.x - x) < 0.05 * np.linalg.norm(x)

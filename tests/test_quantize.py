"""Tests of repro.quantize: the shared 2^b-level quantizer (grid, stochastic and nearest rounding)."""
from __future__ import annotations

import numpy as np
import pytest

from repro import quantize as qz


@pytest.mark.parametrize("form", qz.FORMS)
@pytest.mark.parametrize("bits", [1, 2, 4])
def test_stochastic_rounding_is_unbiased_with_formula_variance(bits, form):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 50)
    draws = np.stack([qz.quantize(x, bits, rng, form=form) for _ in range(20000)])
    var = qz.stochastic_variance(x, bits)
    # mean within 5 standard errors of x, entry by entry
    se = np.sqrt(var / draws.shape[0]) + 1e-12
    assert np.all(np.abs(draws.mean(0) - x) < 5 * se + 1e-12)
    # variance matches Delta^2 f (1 - f): in total to 2 %, entry by entry to a few % of the largest
    emp = draws.var(0)
    assert emp.sum() == pytest.approx(var.sum(), rel=0.02)
    assert np.allclose(emp, var, rtol=0.05, atol=0.03 * var.max())
    assert np.all(var <= qz.spacing(np.abs(x).max(), bits) ** 2 / 4 + 1e-15)
    # and a wrong formula (e.g. the worst case Delta^2 / 4 everywhere) is rejected
    assert not np.isclose(emp.sum(), (2 * np.abs(x).max() / (2 ** bits - 1)) ** 2 / 4 * x.size, rtol=0.1)
    # values lie on the 2^b levels of [-s, s]
    s, L = np.abs(x).max(), 2 ** bits - 1
    k = (draws[0] / s + 1) * L / 2
    assert np.allclose(k, np.rint(k)) and k.min() >= 0 and k.max() <= L


def test_deterministic_rounding_is_biased():
    rng = np.random.default_rng(1)
    x = np.full(10, 0.3)
    x[0] = 1.0  # sets the scale s = 1
    det = qz.quantize(x, 2, stochastic=False)  # levels -1, -1/3, 1/3, 1: 0.3 -> 1/3 always
    assert np.allclose(det[1:], 1 / 3)
    sto = np.mean([qz.quantize(x, 2, rng) for _ in range(20000)], axis=0)
    assert abs(sto[1:].mean() - 0.3) < 0.005 < abs(det[1:].mean() - 0.3)


def test_per_row_scales_norms_and_codes():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 40)) * np.arange(1, 6)[:, None]
    Q = qz.quantize(A, 3, rng, axis=1)
    s = np.abs(A).max(1, keepdims=True)
    k = (Q / s + 1) * 7 / 2
    assert np.allclose(k, np.rint(k))
    Qn = qz.quantize(A, 3, rng, norm="l2", axis=1)
    assert np.all(np.abs(Qn) <= np.linalg.norm(A, axis=1, keepdims=True) + 1e-12)
    assert np.array_equal(qz.group_scale(A, "l2", axis=1), np.linalg.norm(A, axis=1, keepdims=True))
    codes, sc = qz.stochastic_codes(A, 3, np.random.default_rng(9), axis=1, form="scaled")
    assert codes.dtype == np.uint64 and codes.max() <= 7
    again = qz.levels(codes, sc, 3, form="scaled")
    assert np.array_equal(again, qz.quantize(A, 3, np.random.default_rng(9), axis=1, form="scaled"))


def test_zero_and_empty_groups():
    assert np.array_equal(qz.quantize(np.zeros((2, 3)), 4, np.random.default_rng(0), axis=1), np.zeros((2, 3)))
    assert np.array_equal(qz.quantize(np.zeros(3), 4, stochastic=False, form="scaled"), np.zeros(3))
    assert qz.quantize(np.zeros((2, 0)), 4, np.random.default_rng(0), axis=1).shape == (2, 0)


def test_forms_are_the_recorded_formulas_bit_for_bit():
    """The two evaluations are exactly the arithmetic of the dcd/d2/adpsgd and the iht records."""
    x = np.random.default_rng(3).standard_normal((6, 50)) * 10.0 ** np.arange(-2, 4)[:, None]
    L = 2 ** 5 - 1
    s = np.abs(x).max(axis=1, keepdims=True)
    step = 2.0 * s / L
    u = np.clip((x + s) / step, 0.0, L)
    lo = np.floor(u)
    k = lo + (np.random.default_rng(4).random(u.shape) < (u - lo))
    offset = np.where(step > 0, -s + k * step, 0.0)
    assert qz.quantize(x, 5, np.random.default_rng(4), axis=1).tobytes() == offset.tobytes()
    t = np.clip((x / s + 1.0) * (L / 2.0), 0.0, L)
    lo = np.floor(t)
    k = lo + (np.random.default_rng(4).random(t.shape) < (t - lo))
    scaled = s * (k * (2.0 / L) - 1.0)
    assert qz.quantize(x, 5, np.random.default_rng(4), axis=1, form="scaled").tobytes() == scaled.tobytes()
    assert offset.tobytes() != scaled.tobytes()  # why both are kept until the record is re-made


@pytest.mark.parametrize("bad", [0, 65, -1, 2.5, True, "8"])
def test_check_bits_refuses_bad_values(bad):
    with pytest.raises(ValueError, match="bits"):
        qz.check_bits(bad)


def test_check_bits_limits_and_other_errors():
    assert qz.check_bits(np.int64(8)) == 8 and qz.check_bits(64) == 64
    with pytest.raises(ValueError, match=r"\[1, 32\]"):
        qz.check_bits(33, max_bits=32)
    with pytest.raises(ValueError, match="bits"):
        qz.quantize(np.ones(3), 33, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        qz.quantize(np.ones(3), 4)
    with pytest.raises(ValueError, match="norm"):
        qz.quantize(np.ones(3), 4, np.random.default_rng(0), norm="max")
    with pytest.raises(ValueError, match="axis"):
        qz.group_scale(np.ones(3), axis=2)
    with pytest.raises(ValueError, match="form"):
        qz.positions(np.ones(3), 4, form="fast")


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("repro.quantize"), optionflags=doctest.ELLIPSIS).failed == 0

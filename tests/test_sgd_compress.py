"""Tests of repro.sgd.compress: unbiased stochastic quantization, biased rounding, identity."""
import numpy as np
import pytest

from repro import quantize as qz
from repro.sgd.compress import DeterministicQuantizer, Identity, StochasticQuantizer, make_compressor


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("norm", ["inf", "l2"])
def test_stochastic_quantizer_is_unbiased_with_bounded_variance(bits, norm):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16)
    q = StochasticQuantizer(bits, norm=norm)
    reps = 20000
    Q = q(np.tile(x, (reps, 1)), rng)
    spacing = 2 * (np.abs(x).max() if norm == "inf" else np.linalg.norm(x)) / (2 ** bits - 1)
    # every output lies on the grid and within one grid step of the input
    assert np.all(np.abs(Q - x) <= spacing + 1e-12)
    mse = np.mean(np.sum((Q - x) ** 2, axis=1))
    assert mse <= q.variance_bound(x)[0] * 1.02
    # E[Q(x)] = x: the mean over draws is within 5 standard errors of x
    se = np.sqrt(spacing ** 2 / 4 / reps)
    assert np.all(np.abs(Q.mean(axis=0) - x) < 5 * se + 1e-12)


def test_stochastic_quantizer_exact_cases_and_seeding():
    q = StochasticQuantizer(4)
    assert np.array_equal(q(np.zeros((2, 3)), 0), np.zeros((2, 3)))
    x = np.array([1.0, -1.0, 0.0])  # +-s are grid points; 0 is not (even number of levels)
    out = q(x, 1)
    assert out[0] == 1.0 and out[1] == -1.0
    assert np.array_equal(q(np.arange(6.0), 7), q(np.arange(6.0), 7))
    assert q.message_bits(100) == 4 * 100 + 32


def test_deterministic_rounding_is_biased():
    q = DeterministicQuantizer(2)  # levels -s, -s/3, s/3, s
    x = np.array([1.0, 0.1, -0.5])
    out = q(x)
    assert np.allclose(out, [1.0, 1 / 3, -1 / 3])
    # repeated use gives the same value: the error does not average out
    Q = q(np.tile(x, (1000, 1)))
    assert np.abs(Q.mean(axis=0) - x)[1] > 0.2
    assert not q.unbiased and StochasticQuantizer(2).unbiased


def test_identity_and_factory():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert np.array_equal(Identity()(x), x) and Identity().message_bits(10) == 320
    assert isinstance(make_compressor("stochastic", bits=8), StochasticQuantizer)
    assert isinstance(make_compressor("none"), Identity)
    with pytest.raises(ValueError, match="bits"):
        StochasticQuantizer(0)
    with pytest.raises(ValueError, match="bits"):
        make_compressor("deterministic")
    with pytest.raises(ValueError, match="unknown compressor"):
        make_compressor("topk", bits=2)
    with pytest.raises(ValueError, match="norm"):
        StochasticQuantizer(4, norm="l1")


def test_quantizers_are_the_shared_grid_row_by_row():
    x = np.random.default_rng(5).standard_normal((4, 30))
    out = StochasticQuantizer(5)(x, np.random.default_rng(6))
    assert out.tobytes() == qz.quantize(x, 5, np.random.default_rng(6), axis=1, form="offset").tobytes()
    one = StochasticQuantizer(5, norm="l2")(x[0], 6)  # a single message: the same draws as a (1, d) stack
    assert one.shape == (30,) and np.array_equal(one, qz.quantize(x[:1], 5, np.random.default_rng(6), norm="l2", axis=1)[0])
    assert np.array_equal(DeterministicQuantizer(3)(x), qz.quantize(x, 3, axis=1, stochastic=False))

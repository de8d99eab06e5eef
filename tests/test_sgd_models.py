"""Tests of repro.sgd.models: exact, vectorized gradients (finite-difference checks)."""
import numpy as np
import pytest

from repro.sgd.models import MLP, LogisticRegression, make_model


def numerical_grad(model, X, F, y, eps=1e-6):
    g = np.zeros_like(X)
    for k in range(model.dim):
        e = np.zeros(model.dim)
        e[k] = eps
        g[:, k] = (model.loss(X + e, F, y) - model.loss(X - e, F, y)) / (2 * eps)
    return g


MODELS = [
    LogisticRegression(6, 4, l2=0.05),
    MLP(6, 4, n_hidden=5, activation="tanh", l2=0.05),
    MLP(6, 4, n_hidden=5, activation="relu"),
]


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_gradient_matches_finite_differences_for_every_worker(model):
    rng = np.random.default_rng(0)
    n, b = 3, 7
    X = rng.standard_normal((n, model.dim))
    F = rng.standard_normal((n, b, 6))
    y = rng.integers(0, 4, (n, b))
    loss, grad = model.loss_grad(X, F, y)
    assert loss.shape == (n,) and grad.shape == (n, model.dim)
    assert np.allclose(loss, model.loss(X, F, y))
    assert np.allclose(grad, numerical_grad(model, X, F, y), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_batched_equals_per_worker_and_shared_batch_broadcasts(model):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, model.dim))
    F = rng.standard_normal((4, 5, 6))
    y = rng.integers(0, 4, (4, 5))
    loss, grad = model.loss_grad(X, F, y)
    for i in range(4):
        li, gi = model.loss_grad(X[i:i + 1], F[i], y[i])
        assert np.allclose(li, loss[i]) and np.allclose(gi[0], grad[i])
    shared_loss, _ = model.loss_grad(X, F[0], y[0])
    assert np.allclose(shared_loss[0], loss[0])


def test_logistic_regression_known_values():
    m = LogisticRegression(3, 5)
    X = np.zeros((2, m.dim))
    F = np.ones((2, 4, 3))
    y = np.zeros((2, 4), int)
    assert np.allclose(m.loss(X, F, y), np.log(5))  # uniform softmax
    assert m.dim == 3 * 5 + 5
    blocks = m.unpack(np.arange(m.dim, dtype=float))
    assert blocks["W"].shape == (1, 3, 5) and blocks["b"][0, 0] == 15
    assert np.all(m.accuracy(X, F, y) == 1.0)  # ties -> class 0


def test_init_and_errors():
    m = MLP(4, 3, n_hidden=8)
    assert np.array_equal(m.init(3), m.init(3)) and m.init(3).shape == (m.dim,)
    with pytest.raises(ValueError, match="parameters must have shape"):
        m.loss(np.zeros((2, m.dim + 1)), np.zeros((5, 4)), np.zeros(5, int))
    with pytest.raises(ValueError, match="labels must lie"):
        m.loss(np.zeros((1, m.dim)), np.zeros((5, 4)), np.full(5, 3))
    with pytest.raises(ValueError, match="features must have shape"):
        m.loss(np.zeros((1, m.dim)), np.zeros((5, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match="activation"):
        MLP(4, 3, activation="sigmoid")
    with pytest.raises(ValueError, match="l2"):
        LogisticRegression(4, 3, l2=-1)
    with pytest.raises(ValueError, match="unknown model"):
        make_model("cnn", 4, 3)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_float32_loss_and_gradient_stay_float32_and_match_float64(model):
    rng = np.random.default_rng(3)
    n, b = 4, 9
    X = rng.standard_normal((n, model.dim))
    F = rng.standard_normal((n, b, 6))
    y = rng.integers(0, 4, (n, b))
    loss64, g64 = model.loss_grad(X, F, y)
    loss32, g32 = model.loss_grad(X.astype(np.float32), F.astype(np.float32), y)
    assert loss32.dtype == np.float32 and g32.dtype == np.float32 and g32.shape == g64.shape
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * np.abs(g64).max())
    # the float32 weight gradients take another memory layout into sgemm: same as the plain product
    A, B = rng.standard_normal((2, n, b, 5)).astype(np.float32)
    np.testing.assert_allclose(model._tmatmul(A, B), np.swapaxes(A, -1, -2) @ B, rtol=1e-6, atol=1e-6)

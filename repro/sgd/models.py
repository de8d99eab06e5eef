r"""Models with exact gradients, vectorized over workers.

The parameters of all ``n`` workers are stacked as one array ``X`` of shape ``(n, d)``
(row ``i`` is worker ``i``'s flat parameter vector). One call evaluates every worker's
minibatch loss and exact gradient in batched matrix products, without a Python loop
over workers:

* ``features`` of shape ``(n, b, p)`` (a minibatch of ``b`` samples per worker) or
  ``(b, p)`` (the same samples for every worker, e.g. an evaluation set);
* ``labels`` of shape ``(n, b)`` or ``(b,)``, integers in ``[0, n_classes)``.

The loss of worker ``i`` is the mean softmax cross-entropy over its ``b`` samples plus
:math:`\tfrac{\lambda}{2}\lVert x_i\rVert^2` (``l2`` = λ, on every parameter, biases
included), so with ``l2 > 0`` the logistic regression is strongly convex.

Parameter layout (row-major flattening, see :meth:`unpack`):

* :class:`LogisticRegression`: ``W`` (p, C), ``b`` (C) — ``d = pC + C``;
* :class:`MLP`: ``W1`` (p, h), ``b1`` (h), ``W2`` (h, C), ``b2`` (C) —
  ``d = ph + h + hC + C``.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .topology import as_rng

__all__ = ["LogisticRegression", "MLP", "make_model"]


def _pos_int(v, name):
    if not isinstance(v, Integral) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    s = z - m
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


class _SoftmaxModel:
    """Shared plumbing: shapes, cross-entropy, metrics. Subclasses define the network."""

    n_features: int
    n_classes: int
    l2: float
    _shapes: tuple[tuple[str, tuple[int, ...]], ...]

    def _init_common(self, n_features, n_classes, l2):
        self.n_features = _pos_int(n_features, "n_features")
        self.n_classes = _pos_int(n_classes, "n_classes")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        if not isinstance(l2, Real) or l2 < 0:
            raise ValueError(f"l2 must be a non-negative number, got {l2!r}")
        self.l2 = float(l2)

    @property
    def dim(self) -> int:
        """Number of parameters ``d``."""
        return int(sum(np.prod(s) for _, s in self._shapes))

    def unpack(self, X) -> dict[str, np.ndarray]:
        """Views of the named parameter blocks; each gains a leading worker axis ``(n, ...)``."""
        X = self._check_X(X)
        out, k = {}, 0
        for name, shape in self._shapes:
            size = int(np.prod(shape))
            out[name] = X[:, k:k + size].reshape((X.shape[0],) + shape)
            k += size
        return out

    def _check_X(self, X):
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"parameters must have shape (n_workers, {self.dim}), got {np.shape(X)}")
        return X

    def _check_data(self, X, features, labels=None):
        f = np.asarray(features)
        if f.ndim not in (2, 3) or f.shape[-1] != self.n_features:
            raise ValueError(f"features must have shape (n_workers, batch, {self.n_features}) or "
                             f"(batch, {self.n_features}), got {f.shape}")
        if f.ndim == 3 and f.shape[0] != X.shape[0]:
            raise ValueError(f"features hold {f.shape[0]} workers' batches but parameters have "
                             f"{X.shape[0]} workers")
        if labels is None:
            return f, None
        y = np.asarray(labels)
        if y.shape != f.shape[:-1]:
            raise ValueError(f"labels must have shape {f.shape[:-1]} to match features, got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"labels must lie in [0, {self.n_classes}), got range [{y.min()}, {y.max()}]")
        y = np.broadcast_to(y, (X.shape[0],) + f.shape[-2:-1]).astype(np.intp)
        return f, y

    @staticmethod
    def _t(a):
        return np.swapaxes(a, -1, -2)

    @classmethod
    def _tmatmul(cls, a, b, out=None):
        """``a^T @ b`` over the last two axes (the weight gradients: features or activations
        transposed times the back-propagated errors). In float32 the factor ``b`` is passed
        column-major per matrix: OpenBLAS's sgemm was about twice as fast that way for the
        logistic regression's thin products (a few samples per worker), with the same
        numbers in our checks. float64 keeps the plain call (dgemm is faster that way, and
        the chains' numbers stay bit for bit)."""
        if b.dtype == np.float32:
            b = cls._t(np.ascontiguousarray(cls._t(b)))
        return np.matmul(cls._t(a), b, out=out)

    def penalty(self, X) -> np.ndarray:
        """The l2 term of every worker, shape ``(n,)``."""
        X = self._check_X(X)
        return 0.5 * self.l2 * np.einsum("ij,ij->i", X, X) if self.l2 else np.zeros(X.shape[0], dtype=X.dtype)

    def per_sample_loss(self, X, features, labels) -> np.ndarray:
        """Cross-entropy of every sample, shape ``(n, b)`` (no regularisation term)."""
        X = self._check_X(X)
        f, y = self._check_data(X, features, labels)
        logp = _log_softmax(self._forward(X, f)[0])
        return -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]

    def loss(self, X, features, labels) -> np.ndarray:
        """Objective of every worker, shape ``(n,)``: mean cross-entropy + l2 term."""
        X = self._check_X(X)
        return self.per_sample_loss(X, features, labels).mean(axis=-1) + self.penalty(X)

    def loss_grad(self, X, features, labels) -> tuple[np.ndarray, np.ndarray]:
        """Objective ``(n,)`` and its exact gradient ``(n, d)`` for every worker at once."""
        X = self._check_X(X)
        f, y = self._check_data(X, features, labels)
        logits, cache = self._forward(X, f)
        logp = _log_softmax(logits)
        b = logits.shape[-2]
        loss = -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0].mean(axis=-1) + self.penalty(X)
        dlogits = np.exp(logp)
        np.put_along_axis(dlogits, y[..., None],
                          np.take_along_axis(dlogits, y[..., None], axis=-1) - 1.0, axis=-1)
        dlogits /= b
        grad = self._backward(X, f, dlogits, cache)
        if self.l2:
            grad += self.l2 * X
        return loss, grad

    def predict(self, X, features) -> np.ndarray:
        """Predicted class of every sample, shape ``(n, b)``."""
        X = self._check_X(X)
        f, _ = self._check_data(X, features)
        return self._forward(X, f)[0].argmax(axis=-1)

    def accuracy(self, X, features, labels) -> np.ndarray:
        """Fraction of correct predictions per worker, shape ``(n,)``."""
        X = self._check_X(X)
        _, y = self._check_data(X, features, labels)
        return (self.predict(X, features) == y).mean(axis=-1)


class LogisticRegression(_SoftmaxModel):
    """Multinomial logistic (softmax) regression.

    Parameters
    ----------
    n_features, n_classes : int
    l2 : float
        Weight decay λ ≥ 0; λ > 0 makes every worker's objective λ-strongly convex.
    """

    def __init__(self, n_features: int, n_classes: int, l2: float = 0.0):
        self._init_common(n_features, n_classes, l2)
        p, c = self.n_features, self.n_classes
        self._shapes = (("W", (p, c)), ("b", (c,)))

    def __repr__(self):
        return f"LogisticRegression(n_features={self.n_features}, n_classes={self.n_classes}, l2={self.l2})"

    def init(self, rng, scale: float = 0.0) -> np.ndarray:
        """Initial parameter vector ``(d,)``: zeros, or N(0, scale²) entries if ``scale > 0``."""
        rng = as_rng(rng)
        if scale == 0:
            return np.zeros(self.dim)
        return scale * rng.standard_normal(self.dim)

    def _forward(self, X, f):
        pr = self.unpack(X)
        return f @ pr["W"] + pr["b"][:, None, :], None

    def _backward(self, X, f, dlogits, cache):
        # written straight into the (n, d) gradient: no per-block arrays, no concatenation
        n, (p, c) = X.shape[0], (self.n_features, self.n_classes)
        grad = np.empty((n, self.dim), dtype=np.result_type(f, dlogits))
        gW = grad[:, :p * c].reshape(n, p, c)  # a view: only the last, contiguous axis is split
        if not np.may_share_memory(gW, grad):  # pragma: no cover - numpy keeps this a view
            return np.concatenate([self._tmatmul(f, dlogits).reshape(n, -1), dlogits.sum(axis=-2)], axis=1)
        self._tmatmul(f, dlogits, out=gW)                      # (n, p, C)
        np.sum(dlogits, axis=-2, out=grad[:, p * c:])          # (n, C)
        return grad


class MLP(_SoftmaxModel):
    """One-hidden-layer perceptron: ``softmax(act(x W1 + b1) W2 + b2)``.

    Parameters
    ----------
    n_features, n_classes : int
    n_hidden : int
    activation : {"relu", "tanh"}
    l2 : float
        Weight decay λ ≥ 0 (the objective is non-convex whatever λ).
    """

    def __init__(self, n_features: int, n_classes: int, n_hidden: int = 64,
                 activation: str = "relu", l2: float = 0.0):
        self._init_common(n_features, n_classes, l2)
        self.n_hidden = _pos_int(n_hidden, "n_hidden")
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {activation!r}")
        self.activation = activation
        p, h, c = self.n_features, self.n_hidden, self.n_classes
        self._shapes = (("W1", (p, h)), ("b1", (h,)), ("W2", (h, c)), ("b2", (c,)))

    def __repr__(self):
        return (f"MLP(n_features={self.n_features}, n_classes={self.n_classes}, n_hidden={self.n_hidden}, "
                f"activation={self.activation!r}, l2={self.l2})")

    def init(self, rng) -> np.ndarray:
        """Initial parameters ``(d,)``: He (relu) or Glorot (tanh) normal weights, zero biases."""
        rng = as_rng(rng)
        p, h, c = self.n_features, self.n_hidden, self.n_classes
        s1 = np.sqrt(2.0 / p) if self.activation == "relu" else np.sqrt(2.0 / (p + h))
        s2 = np.sqrt(2.0 / (h + c))
        return np.concatenate([s1 * rng.standard_normal(p * h), np.zeros(h),
                               s2 * rng.standard_normal(h * c), np.zeros(c)])

    def _forward(self, X, f):
        pr = self.unpack(X)
        z = f @ pr["W1"] + pr["b1"][:, None, :]       # (n, b, h)
        a = np.maximum(z, 0.0) if self.activation == "relu" else np.tanh(z)
        return a @ pr["W2"] + pr["b2"][:, None, :], (z, a, pr)

    def _backward(self, X, f, dlogits, cache):
        z, a, pr = cache
        n = X.shape[0]
        gW2 = self._tmatmul(a, dlogits)
        gb2 = dlogits.sum(axis=-2)
        da = dlogits @ self._t(pr["W2"])
        dz = da * (z > 0) if self.activation == "relu" else da * (1.0 - a * a)
        gW1 = self._tmatmul(f, dz)
        gb1 = dz.sum(axis=-2)
        return np.concatenate([gW1.reshape(n, -1), gb1, gW2.reshape(n, -1), gb2], axis=1)


def make_model(name: str, n_features: int, n_classes: int, **kwargs):
    """``"logistic"`` → :class:`LogisticRegression`, ``"mlp"`` → :class:`MLP`."""
    if name == "logistic":
        return LogisticRegression(n_features, n_classes, **kwargs)
    if name == "mlp":
        return MLP(n_features, n_classes, **kwargs)
    raise ValueError(f"unknown model {name!r}; choose 'logistic' or 'mlp'")

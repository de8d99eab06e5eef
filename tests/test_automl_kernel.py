"""repro.automl.kernel: the prior over models learned from other data sets, the identity kernel."""
import numpy as np
import pytest

from repro.automl import kernel
from repro.automl.errors import KernelError, MatrixError
from repro.errors import ReproError


def test_learned_kernel_is_psd_and_shrinks_towards_scaled_identity():
    rng = np.random.default_rng(0)
    level = rng.uniform(0, 1, size=(6, 1))
    prior = level + 0.02 * rng.normal(size=(6, 10))  # fewer data sets than models: S is singular
    k = kernel.learn_kernel(prior)
    assert 0 < k.shrinkage <= 1
    assert kernel.check_psd(k.cov) > 0
    assert k.mean == pytest.approx(prior.mean(axis=0))
    assert np.all(k.correlation()[~np.eye(10, dtype=bool)] > 0.5)  # the shared level makes models correlated
    full = kernel.learn_kernel(prior, shrinkage=1.0)
    s = np.cov(prior, rowvar=False, bias=True)
    assert full.cov == pytest.approx(np.trace(s) / 10 * np.eye(10))
    with pytest.raises(KernelError, match="not positive definite"):
        kernel.learn_kernel(prior, shrinkage=0.0)
    ident = kernel.identity_kernel(prior)
    assert ident.cov == pytest.approx(np.trace(s) / 10 * np.eye(10))
    assert np.trace(ident.cov) == pytest.approx(np.trace(s))


def test_kernel_bad_inputs_are_clear_errors():
    with pytest.raises(MatrixError, match="NaN"):
        kernel.learn_kernel([[0.1, np.nan], [0.2, 0.3], [0.3, 0.1]])
    with pytest.raises(KernelError, match="at least 2"):
        kernel.learn_kernel([[0.1, 0.2]])
    with pytest.raises(KernelError, match=r"\[0, 1\]"):
        kernel.learn_kernel([[0.1, 0.2], [0.3, 0.5]], shrinkage=1.5)
    with pytest.raises(KernelError, match="scale 0"):
        kernel.identity_kernel([[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(KernelError, match="symmetric"):
        kernel.check_psd(np.array([[1.0, 0.2], [0.0, 1.0]]))
    assert issubclass(KernelError, ReproError) and issubclass(MatrixError, ReproError)

"""repro.automl.gp: the GP posterior of one user, expected improvement."""
import numpy as np
import pytest
from scipy.stats import norm

from repro.automl import gp
from repro.automl.errors import KernelError
from repro.automl.kernel import ModelKernel


def two_point_kernel():
    return ModelKernel(mean=np.array([0.2, 0.4]), cov=np.array([[1.0, 0.5], [0.5, 2.0]]), shrinkage=0.0)


def test_posterior_two_points_closed_form():
    # prior N(m, [[a, b], [b, d]]), observe model 0 = y with noise s:
    # mu0 = m0 + a/(a+s)(y-m0), var0 = a - a^2/(a+s); mu1 = m1 + b/(a+s)(y-m0), var1 = d - b^2/(a+s)
    k = two_point_kernel()
    mu, sd = gp.posterior(k, [0], [1.0], noise=0.1)
    assert mu == pytest.approx([0.2 + 0.8 / 1.1, 0.4 + 0.5 * 0.8 / 1.1], abs=1e-12)
    assert sd ** 2 == pytest.approx([1.0 - 1.0 / 1.1, 2.0 - 0.25 / 1.1], abs=1e-12)
    assert mu == pytest.approx([0.9272727272727, 0.7636363636364], abs=1e-10)  # golden values


def test_posterior_both_points_noise_free_interpolates():
    k = two_point_kernel()
    mu, sd = gp.posterior(k, [1, 0], [0.3, -0.7], noise=0.0)
    assert mu == pytest.approx([-0.7, 0.3], abs=1e-10)
    assert sd == pytest.approx([0.0, 0.0], abs=1e-6)


def test_posterior_without_observations_is_the_prior():
    k = two_point_kernel()
    mu, sd = gp.posterior(k, [], [], noise=0.1)
    assert mu == pytest.approx(k.mean)
    assert sd == pytest.approx(np.sqrt([1.0, 2.0]))


def test_posterior_bad_inputs():
    k = two_point_kernel()
    with pytest.raises(KernelError, match="distinct"):
        gp.posterior(k, [0, 0], [1.0, 1.0], noise=0.1)
    with pytest.raises(KernelError, match="same length"):
        gp.posterior(k, [0], [1.0, 2.0], noise=0.1)
    with pytest.raises(KernelError, match="finite"):
        gp.posterior(k, [0], [np.nan], noise=0.1)


def test_expected_improvement_hand_values():
    # mu=1, sigma=1, best=0: z=1, EI = Phi(1) + phi(1) = 0.841345 + 0.241971
    assert float(gp.expected_improvement(1.0, 1.0, 0.0)) == pytest.approx(1.0833155, abs=1e-6)
    # mu=0.5, sigma=2, best=1: z=-0.25, EI = -0.5 Phi(-0.25) + 2 phi(-0.25)
    assert float(gp.expected_improvement(0.5, 2.0, 1.0)) == pytest.approx(0.5726893, abs=1e-6)


def test_expected_improvement_matches_scipy_norm_and_limits():
    rng = np.random.default_rng(1)
    mu, sd, best, xi = rng.normal(size=50), rng.uniform(0.01, 2, size=50), 0.3, 0.05
    z = (mu - best - xi) / sd
    ref = (mu - best - xi) * norm.cdf(z) + sd * norm.pdf(z)
    assert gp.expected_improvement(mu, sd, best, xi) == pytest.approx(ref, rel=1e-10, abs=1e-14)
    assert gp.expected_improvement([0.5, -0.5], [0.0, 0.0], 0.0) == pytest.approx([0.5, 0.0])
    assert np.all(gp.expected_improvement(mu, sd, best) >= 0)
    with pytest.raises(KernelError):
        gp.expected_improvement(0.0, -1.0, 0.0)

"""IHT and normalized IHT (repro.sparse.iht)."""
from __future__ import annotations

import numpy as np
import pytest

from repro.sparse import iht as ih


def _problem(m=120, n=300, s=8, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    supp = rng.choice(n, s, replace=False)
    x[supp] = rng.choice([-1, 1], s) * rng.uniform(1, 2, s)
    return A, x, A @ x


def test_hard_threshold():
    x = np.array([0.1, -3.0, 2.0, 0.5])
    assert np.array_equal(ih.hard_threshold(x, 2), [0, -3.0, 2.0, 0])
    assert np.count_nonzero(ih.hard_threshold(np.ones(5), 3)) == 3
    with pytest.raises(ValueError, match="larger than the number of unknowns"):
        ih.hard_threshold(x, 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_niht_recovers_sparse_vector_exactly(seed):
    A, x, y = _problem(seed=seed)
    res = ih.niht(A, y, 8, n_iter=500, tol=1e-12)
    assert np.array_equal(res.support, np.flatnonzero(x))
    assert np.linalg.norm(res.x - x) < 1e-8 * np.linalg.norm(x)


def test_iht_fixed_step_recovers():
    A, x, y = _problem(m=150, s=5, seed=4)
    res = ih.iht(A, y, 5, n_iter=2000, tol=1e-13)
    assert np.array_equal(res.support, np.flatnonzero(x))
    assert np.linalg.norm(res.x - x) < 1e-6 * np.linalg.norm(x)


def test_niht_residual_decreases_and_bad_s():
    A, x, y = _problem(seed=5)
    res = ih.niht(A, y, 8, n_iter=50)
    assert res.residual_norms[-1] < 1e-3 * res.residual_norms[0]
    with pytest.raises(ValueError, match="s=301 is larger"):
        ih.niht(A, y, 301)
    with pytest.raises(ValueError, match="y must have shape"):
        ih.niht(A, y[:-1], 3)

"""Simulated point-source skies and their comparison (repro.sparse.skies)."""
import numpy as np
import pytest

from repro.sparse import operators, skies


def test_random_sky_separation_and_errors():
    grid = operators.sky_grid(21)
    rng = np.random.default_rng(1)
    x = skies.random_sky(grid, 6, rng, min_sep_pix=3)
    idx = np.flatnonzero(x)
    assert idx.size == 6 and np.all(x[idx] >= 1) and np.all(x[idx] <= 10)
    step = 2 / 20
    d = np.hypot(grid.l[idx, None] - grid.l[None, idx], grid.m[idx, None] - grid.m[None, idx])
    assert d[~np.eye(6, dtype=bool)].min() >= 3 * step - 1e-12
    with pytest.raises(ValueError, match="cannot place"):
        skies.random_sky(grid, 200, rng, min_sep_pix=5)
    with pytest.raises(ValueError, match="s must be in"):
        skies.random_sky(grid, 0, rng)


def test_add_noise_has_the_requested_level():
    rng = np.random.default_rng(2)
    clean = rng.standard_normal(500)
    noisy = skies.add_noise(clean, 0.1, rng)
    assert np.linalg.norm(noisy - clean) == pytest.approx(0.1 * np.linalg.norm(clean))
    with pytest.raises(ValueError):
        skies.add_noise(clean, -1, rng)


def test_errors_and_support():
    x = np.array([0.0, 2.0, 0.0, 1.0])
    assert skies.relative_error(x, x) == 0.0
    assert skies.relative_error(2 * x, x) == pytest.approx(1.0)
    assert skies.support_recovered(3 * x, x) and not skies.support_recovered(np.roll(x, 1), x)


def test_brightest_and_same_sources():
    grid = operators.sky_grid(11)
    x = np.zeros(grid.n_pixels)
    x[[3, 10, 20]] = [5.0, 9.0, 1.0]
    top = skies.brightest(x, grid, 2)
    assert top.pixel.tolist() == [10, 3]
    assert skies.same_sources(top, skies.brightest(x, grid, 3), tol=1e-9)
    moved = top.copy()
    moved["l"] += 0.5
    assert not skies.same_sources(top, moved, tol=0.1)


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("repro.sparse.skies"), optionflags=doctest.ELLIPSIS).failed == 0

"""The station measurement operator (repro.sparse.operators)."""
from __future__ import annotations

import numpy as np
import pytest

from repro.sparse import operators as op


def _random_layout(n_ant=12, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.zeros((n_ant, 3))
    pos[:, :2] = rng.uniform(-30, 30, (n_ant, 2))
    pos[:, 2] = rng.normal(0, 0.2, n_ant)
    return pos


def test_grid_is_above_horizon():
    g = op.sky_grid(31)
    assert np.all(g.l ** 2 + g.m ** 2 < 1) and np.all(g.n > 0)
    g20 = op.sky_grid(31, min_elevation_deg=20)
    assert g20.n_pixels < g.n_pixels and np.all(g20.n >= np.sin(np.deg2rad(20)) - 1e-12)
    img = g.to_image(np.arange(g.n_pixels, dtype=float))
    assert np.isnan(img[0, 0]) and img[g.mask][5] == 5
    with pytest.raises(ValueError, match="npix"):
        op.sky_grid(1)


def test_single_point_source_visibilities():
    pos = _random_layout()
    freq = 60e6
    pairs = op.baseline_pairs(len(pos))
    grid = op.sky_grid(21)
    A = op.StationOperator(op.baseline_uvw(pos, freq, pairs), grid)
    j = grid.nearest(0.3, -0.2)
    x = np.zeros(grid.n_pixels)
    x[j] = 2.5
    lam = 299_792_458.0 / freq
    s = np.array([grid.l[j], grid.m[j], grid.n[j]])
    # expected from first principles: geometric phase of the path difference (r_p - r_q).s
    expect = 2.5 * np.exp(-2j * np.pi * ((pos[pairs[:, 0]] - pos[pairs[:, 1]]) @ s) / lam)
    assert np.allclose(A.forward(x), expect, rtol=1e-12, atol=1e-12)
    assert np.allclose(np.abs(A.forward(x)), 2.5)
    # real stacking
    assert np.allclose(A.forward_real(x), op.stack_real(expect))
    assert np.allclose(A.real_matrix() @ x, op.stack_real(expect))
    # a source at zenith: all visibilities real up to the w term (w ~ 0 here)
    z = np.zeros(grid.n_pixels)
    z[grid.nearest(0, 0)] = 1
    assert np.allclose(A.forward(z), np.exp(-2j * np.pi * A.uvw[:, 2] * grid.n[grid.nearest(0, 0)]))


def test_adjoint_dot_product():
    rng = np.random.default_rng(1)
    pos = _random_layout(10, seed=3)
    grid = op.sky_grid(17)
    A = op.StationOperator(op.baseline_uvw(pos, 50e6), grid)
    x = rng.standard_normal(grid.n_pixels) + 1j * rng.standard_normal(grid.n_pixels)
    y = rng.standard_normal(A.shape[0]) + 1j * rng.standard_normal(A.shape[0])
    assert np.vdot(y, A.forward(x)) == pytest.approx(np.vdot(A.adjoint(y), x), rel=1e-12)
    xr = rng.standard_normal(grid.n_pixels)
    r = rng.standard_normal(A.real_shape[0])
    assert r @ A.forward_real(xr) == pytest.approx(A.adjoint_real(r) @ xr, rel=1e-12)
    assert np.allclose(A.adjoint_real(r), A.real_matrix().T @ r)


def test_bad_inputs():
    with pytest.raises(ValueError, match="positions_m"):
        op.baseline_uvw(np.zeros((4, 2)), 50e6)
    with pytest.raises(ValueError, match="frequency_hz"):
        op.baseline_uvw(np.zeros((4, 3)), -1)

import numpy as np
import pytest

from repro.sparse import experiments as ex
from repro.sparse import operators

from .conftest import needs_data



def test_random_sky_separation_and_errors():
    grid = operators.sky_grid(21)
    rng = np.random.default_rng(1)
    x = ex.random_sky(grid, 6, rng, min_sep_pix=3)
    idx = np.flatnonzero(x)
    assert idx.size == 6 and np.all(x[idx] >= 1) and np.all(x[idx] <= 10)
    step = 2 / 20
    d = np.hypot(grid.l[idx, None] - grid.l[None, idx], grid.m[idx, None] - grid.m[None, idx])
    assert d[~np.eye(6, dtype=bool)].min() >= 3 * step - 1e-12
    with pytest.raises(ValueError, match="cannot place"):
        ex.random_sky(grid, 200, rng, min_sep_pix=5)
    with pytest.raises(ValueError, match="s must be in"):
        ex.random_sky(grid, 0, rng)


def test_add_noise_has_the_requested_level():
    rng = np.random.default_rng(2)
    clean = rng.standard_normal(500)
    noisy = ex.add_noise(clean, 0.1, rng)
    assert np.linalg.norm(noisy - clean) == pytest.approx(0.1 * np.linalg.norm(clean))
    with pytest.raises(ValueError):
        ex.add_noise(clean, -1, rng)


def test_recovery_table_and_solve_on_a_gaussian_problem():
    grid = operators.sky_grid(15)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((400, grid.n_pixels)) / 20
    df = ex.recovery_table(A, grid, [2, 8, 64], [4], n_seeds=2, noise=0.01, seed=5)
    assert len(df) == 2 * (2 + 2 + 1)
    full = df[df.bits == 64]
    assert full.support_ok.all() and (full.rel_error < 0.05).all()
    assert df[(df.bits == 8) & (df.rounding == "stochastic")].support_ok.all()
    again = ex.recovery_table(A, grid, [2, 8, 64], [4], n_seeds=2, noise=0.01, seed=5)
    assert np.allclose(df.rel_error, again.rel_error)  # seeded


def test_brightest_and_same_sources():
    grid = operators.sky_grid(11)
    x = np.zeros(grid.n_pixels)
    x[[3, 10, 20]] = [5.0, 9.0, 1.0]
    top = ex.brightest(x, grid, 2)
    assert top.pixel.tolist() == [10, 3]
    assert ex.same_sources(top, ex.brightest(x, grid, 3), tol=1e-9)
    moved = top.copy()
    moved["l"] += 0.5
    assert not ex.same_sources(top, moved, tol=0.1)


def test_operator_timings_table():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((300, 200))
    df = ex.operator_timings(A, [4, 8, 64], rng, repeats=2)
    assert set(df.layout) == {"bytes", "packed", "float64"}
    assert df.loc[df.bits == 64, "memory_ratio"].iloc[0] == 1.0
    assert df.loc[(df.bits == 8), "memory_ratio"].iloc[0] > 7.0  # 64/b less the per-row scales


@needs_data
def test_real_station_problem_and_noise():
    P = ex.station_problem(21)
    assert P.A.shape == (2 * 1081, P.grid.n_pixels)
    assert set(P.sources) >= {"Cas A", "Cyg A"}
    frac = ex.radiometer_noise_fraction(P)
    assert 0.01 < frac < 0.5
    assert ex.radiometer_noise_fraction(P, integration_s=4.0) == pytest.approx(frac / 2)


def test_solve_timings_table():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((300, 200))
    y = A[:, :3].sum(axis=1)
    df = ex.solve_timings(A, y, 3, [8, 64], rng, n_iter=5)
    assert df.bits.tolist() == [8, 64] and (df.n_iter == 5).all()
    assert df.loc[df.bits == 64, "speedup"].iloc[0] == 1.0

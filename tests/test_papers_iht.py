"""The driver of the iht chain (repro.papers.iht)."""
import numpy as np

from repro import params
from repro.papers import iht as paper
from repro.sparse import operators

from .conftest import needs_data


def test_setup_names_the_seeds_and_builds_nothing_yet():
    P = params.load("iht", "smoke", {"seed": 7})
    S = paper.setup(P)
    assert (S.seeds.recovery, S.seeds.real_sky, S.seeds.speed) == (7, 7, 7)
    assert "problem" not in S.__dict__ and "speed_problem" not in S.__dict__  # lazy


@needs_data
def test_setup_problems_are_built_once():
    S = paper.setup(params.load("iht", "smoke", {"npix": 15, "speed_npix": 17}))
    assert S.problem is S.problem and S.problem.grid.npix == 15
    assert S.speed_problem.grid.npix == 17
    assert 0 < paper.noise_fraction(S.problem, 3, n_iter=20) < 1


def test_recovery_table_on_a_gaussian_problem():
    grid = operators.sky_grid(15)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((400, grid.n_pixels)) / 20
    df = paper.recovery_table(A, grid, [2, 8, 64], [4], n_seeds=2, noise=0.01, seed=5)
    assert len(df) == 2 * (2 + 2 + 1)
    full = df[df.bits == 64]
    assert full.support_ok.all() and (full.rel_error < 0.05).all()
    assert df[(df.bits == 8) & (df.rounding == "stochastic")].support_ok.all()
    again = paper.recovery_table(A, grid, [2, 8, 64], [4], n_seeds=2, noise=0.01, seed=5)
    assert np.array_equal(df.rel_error, again.rel_error)  # seeded


def test_real_sky_table_on_a_gaussian_problem():
    from repro.sparse import skies, station

    grid = operators.sky_grid(15)
    rng = np.random.default_rng(4)
    A = rng.standard_normal((400, grid.n_pixels)) / 20
    x = skies.random_sky(grid, 3, rng)
    prob = station.StationProblem(snapshot=None, grid=grid, op=None, A=A, y=A @ x, sources={})
    full, maps, table = paper.real_sky_table(prob, [4, 8, 64], 3, 2, np.random.default_rng(0), n_iter=50, tol=0.2)
    assert set(maps) == {4, 8, 64} and np.array_equal(np.flatnonzero(full), np.flatnonzero(x))
    assert table.bits.tolist() == [4, 4, 8, 8] and table.same_top3.all()


def test_operator_timings_table():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((300, 200))
    df = paper.operator_timings(A, [4, 8, 64], rng, repeats=2)
    assert set(df.layout) == {"bytes", "packed", "float64"}
    assert df.loc[df.bits == 64, "memory_ratio"].iloc[0] == 1.0
    assert df.loc[(df.bits == 8), "memory_ratio"].iloc[0] > 7.0  # 64/b less the per-row scales


def test_solve_timings_table():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((300, 200))
    y = A[:, :3].sum(axis=1)
    df = paper.solve_timings(A, y, 3, [8, 64], rng, n_iter=5)
    assert df.bits.tolist() == [8, 64] and (df.n_iter == 5).all()
    assert df.loc[df.bits == 64, "speedup"].iloc[0] == 1.0


def test_docstring_examples():
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module("repro.papers.iht"), optionflags=doctest.ELLIPSIS).failed == 0


def test_the_speedup_counts_only_precisions_that_keep_the_support():
    import pandas as pd
    import pytest
    from repro.papers import iht as paper
    recovery = {"bits": [2] * 10 + [4] * 10 + [8] * 10 + [64] * 10,
                "rounding": ["stochastic"] * 30 + ["float64"] * 10,
                "support_ok": [True] * 8 + [False] * 2 + [True] * 10 + [True] * 9 + [False] + [True] * 10}
    assert paper.accurate_precisions(recovery, 0.9) == [4, 8]          # 2 bits: 8 of 10 skies
    assert paper.accurate_precisions(recovery, 0.8) == [2, 4, 8]
    solves = pd.DataFrame({"bits": [2, 4, 8, 32, 64], "speedup": [14.0, 12.3, 9.0, 2.0, 1.0]})
    assert paper.best_speedup(solves) == (2, 14.0)                     # the fastest of all
    assert paper.best_speedup(solves, eligible=[4, 8]) == (4, 12.3)    # the fastest that keeps the support
    with pytest.raises(ValueError, match="eligible"):
        paper.best_speedup(solves, eligible=[])

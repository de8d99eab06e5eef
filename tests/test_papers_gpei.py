"""The driver of the gpei chain (repro.papers.gpei): setup, one split, the experiment tables."""
import numpy as np
import pytest

from repro import params
from repro.automl import data
from repro.automl.errors import AutomlError
from repro.papers import gpei as paper

from .conftest import needs_data


def toy(n=12, k=4, seed=0):
    rng = np.random.default_rng(seed)
    q = np.clip(rng.uniform(0.2, 0.9, (n, 1)) + 0.05 * rng.normal(size=(n, k)), 0, 1)
    return data.Matrices(q, rng.uniform(1, 5, (n, k)), [f"d{i}" for i in range(n)], [f"m{j}" for j in range(k)], "toy")


def test_setup_names_the_seeds_and_loads_nothing_yet():
    S = paper.setup(params.load("gpei", "smoke", {"seed": 7, "n_splits": 3}))
    assert S.seeds.splits == (7, 8, 9) and S.threads == 1
    assert list(S.sources) == ["ds3lab", "oboe"]
    assert S.sources["ds3lab"].n_users == 20 and S.sources["oboe"].evals_per_user == 10
    assert all("matrices" not in src.__dict__ for src in S.sources.values())  # lazy
    assert paper.random_order_seed(3, 5) == 3 * 100003 + 5


@needs_data
def test_setup_loads_each_source_once():
    S = paper.setup(params.load("gpei", "smoke", {"ds3lab_max_differing": 0}))
    src = S.sources["ds3lab"]
    assert src.matrices is src.matrices and src.matrices.n_datasets == 33


def test_prepare_learns_kernels_on_the_prior_only():
    m = toy()
    p = paper.prepare(m, 6, seed=2)
    assert not set(p.split.users) & set(p.split.prior)
    assert p.users.quality == pytest.approx(m.quality[p.split.users])
    assert p.kernels["learned"].mean == pytest.approx(m.quality[p.split.prior].mean(axis=0))
    assert p.kernels["identity"].name == "identity"
    assert paper.horizon(p.users, 2, 3) == pytest.approx(3 * p.users.cost.mean() * 6 / 2)
    with pytest.raises(AutomlError, match="evals_per_user"):
        paper.horizon(p.users, 2, 0)


def test_experiment_tables_have_the_promised_shape():
    m = toy()
    table, curves = paper.compare_schedulers(m, 6, [0, 1], [1, 2], ["round_robin", "gp_ei"],
                                             evals_per_user=2, per_second_modes=(False,), grid_points=5,
                                             progress=False)
    assert len(table) == 2 * 2 * 3  # seeds x devices x (round_robin, gp_ei learned, gp_ei identity)
    assert set(table.kernel) == {"learned", "identity"} and np.all(table.mean_regret >= 0)
    assert len(curves) == len(table) * 5 and curves.t_frac.max() == pytest.approx(1.0)
    red = paper.reductions(table, ("gp_ei", "learned"), ("round_robin", "learned"), n_devices=2)
    assert list(red.seed) == [0, 1]
    assert red.reduction.to_numpy() == pytest.approx(1 - red.better / red.worse)
    with pytest.raises(AutomlError, match="no runs"):
        paper.reductions(table, ("gp_ei", "learned"), ("random", "learned"))
    with pytest.raises(AutomlError, match="unknown policy"):
        paper.compare_schedulers(m, 6, [0], [1], ["fifo"], evals_per_user=2, progress=False)
    su = paper.single_user(m, 6, [0], 3, progress=False)
    assert set(su.method) == {"GP-EI, learned kernel", "GP-EI, identity kernel", "random order"}
    assert su.groupby(["user", "method"]).regret.apply(lambda r: np.all(np.diff(r.to_numpy()) <= 1e-12)).all()
    sp = paper.speedup(m, 6, [0], [1, 2], 0.01, progress=False)
    assert sp.speedup.iloc[0] == 1.0 and np.isfinite(sp.time).all()
    s = paper.spread([0.1, -0.2, 0.3])
    assert s["wins"] == 2 and s["median"] == pytest.approx(0.1)


def test_threads_do_not_change_the_tables():
    m = toy()
    one = paper.speedup(m, 6, [0, 1], [1, 2], 0.01, progress=False, threads=1)
    other = paper.speedup(m, 6, [0, 1], [1, 2], 0.01, progress=False, threads=None)
    assert one.equals(other)


def test_wilcoxon_greater_is_the_exact_one_sided_signed_rank_test():
    # 10 positive differences: every sign pattern is equally likely under the null, so p = 2**-10
    assert paper.wilcoxon_greater(np.arange(1, 11) * 0.01) == pytest.approx(2.0 ** -10)
    # ranks 1..4 with only the smallest negative: W+ = 9 of 10; P(W+ >= 9) = 2 / 16 sign patterns
    assert paper.wilcoxon_greater([-0.1, 0.2, 0.3, 0.4]) == pytest.approx(2 / 16)
    # the mirror image is not significant: W+ = 1, P(W+ >= 1) = 15 / 16
    assert paper.wilcoxon_greater([0.1, -0.2, -0.3, -0.4]) == pytest.approx(15 / 16)
    # zeros are dropped; nothing left: nothing to test
    assert paper.wilcoxon_greater([0.0, 0.1, 0.2]) == pytest.approx(paper.wilcoxon_greater([0.1, 0.2]))
    assert paper.wilcoxon_greater([0.0, 0.0]) == 1.0
    with pytest.raises(AutomlError, match="finite"):
        paper.wilcoxon_greater([0.1, np.nan])

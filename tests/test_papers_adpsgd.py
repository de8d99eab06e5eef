"""The driver of the adpsgd chain (repro.papers.adpsgd): set-up, grids and the numbers of its claims."""
import math

import numpy as np
import pandas as pd
import pytest

from repro import params
from repro.papers import adpsgd
from repro.sgd import models
from repro.sgd.problem import mnist_problem



def test_setup_names_the_seeds_and_checks_the_settings():
    S = adpsgd.setup(params.load("adpsgd", "smoke"))
    assert S.seeds.runs == [0] and S.seeds.data == S.seeds.shards == S.seeds.figure == 0
    assert set(S.computes) == {"homogeneous", "straggler", "random"} and S.graphs["adpsgd"] == "bipartite"
    cfg = S.mpi_config("adpsgd", slow=True)
    assert (cfg.slow_rank, cfg.batch_size, cfg.n_samples, cfg.seed) == (1, 16, 2000, 0)
    from repro.errors import ParameterError
    with pytest.raises(ParameterError, match="n_workers=7"):
        adpsgd.setup(params.load("adpsgd", "smoke", {"n_workers": 7}))


@pytest.fixture(scope="module")
def mnist_small():
    problem = mnist_problem(1200, 0.2, 0)
    return problem, models.LogisticRegression(problem.n_features, 10, l2=1e-4)


# ----------------------------------------------------------------------------- chain numbers
def _fake_curves():
    rows = []
    for alg, scale in (("allreduce", 1.0), ("adpsgd", 1.02)):
        e = np.linspace(0, 4, 9)
        rows.append(pd.DataFrame({"epoch": e, "time": e * (2.0 if alg == "allreduce" else 1.0),
                                  "train_loss": scale / (1 + e)}).assign(network="slow", compute="homogeneous",
                                                                         algorithm=alg, seed=0))
    return pd.concat(rows, ignore_index=True)


def test_epoch_gap_golden():
    g = adpsgd.epoch_gap(_fake_curves())
    assert len(g) == 1
    assert g.gap.iloc[0] == pytest.approx(0.02, abs=1e-12)
    with pytest.raises(ValueError, match="both needed"):
        adpsgd.epoch_gap(_fake_curves().query("algorithm == 'allreduce'"))


def test_time_ratios_and_straggler_growth_golden():
    finals = pd.DataFrame({"network": ["fast"] * 4, "compute": ["homogeneous"] * 2 + ["straggler"] * 2,
                           "algorithm": ["allreduce", "adpsgd"] * 2, "seed": 0,
                           "time_per_epoch": [1.2, 1.0, 9.0, 1.1]})
    r = adpsgd.time_ratios(finals).set_index(["compute", "algorithm"]).ratio
    assert r[("homogeneous", "allreduce")] == pytest.approx(1.2)
    assert r[("straggler", "adpsgd")] == pytest.approx(1.0)
    s = adpsgd.straggler_growth(finals, "fast")
    assert s["growth"] == pytest.approx((9.0 / 1.1) / 1.2)
    with pytest.raises(ValueError, match="needed"):
        adpsgd.straggler_growth(finals, "slow")


def test_speedup_table_and_slope_golden():
    e = np.linspace(0, 8, 17)
    loss = 1 / (1 + e)
    rows = [pd.DataFrame({"epoch": e, "time": e * 1.0, "train_loss": loss}).assign(algorithm="sgd", n_workers=1, seed=0)]
    for n in (2, 4, 8):
        rows.append(pd.DataFrame({"epoch": e, "time": e / n, "train_loss": loss}).assign(algorithm="adpsgd", n_workers=n, seed=0))
    t = adpsgd.speedup_table(pd.concat(rows, ignore_index=True), target_epochs=4)
    np.testing.assert_allclose(t.speedup, [2, 4, 8])
    assert adpsgd.scaling_slope(t.n_workers, t.speedup) == pytest.approx(1.0)
    assert math.isnan(adpsgd.scaling_slope([2, 4], [2.0, 0.0]))
    with pytest.raises(ValueError, match="beyond"):
        adpsgd.speedup_table(pd.concat(rows, ignore_index=True), target_epochs=9)


def test_run_grid_small(mnist_small):
    problem, model = mnist_small
    nets = adpsgd.networks(1e-5, 1e10, 1e-3, 5e7)
    comps = adpsgd.compute_models(0.005, 0.1, 10, 0.05, 10)
    curves, finals = adpsgd.run_grid(problem, model, n_workers=4, nets={"slow": nets["slow"]},
                                     computes={"straggler": comps["straggler"]}, seeds=[0], epochs=1, batch_size=16,
                                     lr=0.1, graphs={"dpsgd": "ring", "adpsgd": "bipartite"}, evals_per_epoch=2)
    assert set(finals.algorithm) == set(adpsgd.ALGORITHMS) and len(finals) == 3
    assert (finals.epoch >= 1).all() and not finals.diverged.any()
    r = adpsgd.time_ratios(finals).set_index("algorithm").ratio
    assert r["allreduce"] > 3 and r["dpsgd"] > 3
    with pytest.raises(ValueError, match="no graph"):
        adpsgd.run_grid(problem, model, n_workers=4, nets=nets, computes=comps, seeds=[0], epochs=1, batch_size=16,
                        lr=0.1, graphs={})


def test_check_settings_names_the_parameter():
    from repro.errors import ParameterError
    adpsgd.check_settings(16, [8, 16, 32, 64], "bipartite", "ring", 8, 12)
    with pytest.raises(ParameterError, match="n_workers=7"):
        adpsgd.check_settings(7, [8], "bipartite", "ring", 8, 12)
    with pytest.raises(ParameterError, match="speedup_workers=6"):
        adpsgd.check_settings(8, [6], "torus", "ring", 8, 12)   # a 2 x 3 torus has an odd cycle
    with pytest.raises(ParameterError, match="target_epochs"):
        adpsgd.check_settings(8, [8], "bipartite", "ring", 13, 12)

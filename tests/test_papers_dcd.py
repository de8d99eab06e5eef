"""Tests of repro.papers.dcd, the driver of the `dcd` chain."""
import numpy as np
import pandas as pd
import pytest

from repro import params
from repro.papers import dcd
from repro.sgd import compress, models, partition, topology
from repro.sgd.problem import Problem

from .conftest import needs_data


def _toy_problem(n_workers=4, n=240, p=6, c=3, seed=0):
    """A small separable-ish softmax problem on a ring: (problem, model, shards, W)."""
    rng = np.random.default_rng(seed)
    means = 2.0 * rng.standard_normal((c, p))
    y = rng.integers(0, c, n)
    X = means[y] + rng.standard_normal((n, p))
    adj = topology.ring(n_workers)
    W = topology.mixing_matrix(adj)
    problem = Problem(X[:200], y[:200], X[200:], y[200:], c, dataset="toy", class_names=tuple("abc"), image_shape=(p,))
    return problem, models.LogisticRegression(p, c), partition.partition_iid(200, n_workers, seed), W


ALL = dcd.FULL_PRECISION_ALGORITHMS + dcd.COMPRESSED_ALGORITHMS


# ------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("bad", [0, 33, -1, 2.5, True, "8"])
def test_check_bits_refuses_bad_values(bad):
    with pytest.raises(ValueError, match="bits"):
        dcd.check_bits(bad)


def test_compressor_for_and_labels():
    assert isinstance(dcd.compressor_for(32), compress.Identity)
    q = dcd.compressor_for(8)
    assert isinstance(q, compress.StochasticQuantizer) and q.bits == 8 and q.norm == "inf"
    assert q.message_bits(100) == 8 * 100 + 32
    assert dcd.label("dcd", 8) == "DCD-PSGD 8-bit"
    assert dcd.label("dpsgd", 32) == "D-PSGD"
    assert dcd.label("ecd", 32) == "ECD-PSGD 32-bit"
    with pytest.raises(ValueError, match="unknown algorithm 'd2'"):
        dcd.label("d2", 8)
    with pytest.raises(ValueError, match="bits must be in"):
        dcd.compressor_for(0)


def test_divergence_guard_is_transparent_then_trips():
    q = compress.StochasticQuantizer(4)
    g = dcd.DivergenceGuard(q, 10.0)
    V = np.random.default_rng(0).standard_normal((3, 50))
    assert np.array_equal(g(V, np.random.default_rng(1)), q(V, np.random.default_rng(1)))
    assert g.message_bits(50) == q.message_bits(50) and g.bits == 4
    assert np.isnan(g(V * 100, np.random.default_rng(1))).all()
    assert np.isnan(g(np.full((2, 3), np.nan), np.random.default_rng(1))).all()
    with pytest.raises(ValueError, match="blowup"):
        dcd.DivergenceGuard(q, 0)


def test_check_claim_settings():
    dcd.check_claim_settings(ALL, [4, 8, 32], 8, 4)
    with pytest.raises(ValueError, match="low_bits=2 must be one of bits"):
        dcd.check_claim_settings(ALL, [4, 8, 32], 8, 2)
    with pytest.raises(ValueError, match="missing: ecd"):
        dcd.check_claim_settings(ALL[:-1], [4, 8], 8, 4)


def test_build_problem_refuses_bad_parameters_before_loading():
    with pytest.raises(ValueError, match="unknown dataset"):
        dcd.build("imagenet")
    with pytest.raises(ValueError, match="n_workers must be an integer >= 2"):
        dcd.build("mnist", n_workers=1)
    with pytest.raises(ValueError, match="unknown topology"):
        dcd.build("mnist", topology_name="star")


@needs_data
def test_build_on_real_mnist():
    pr, model, shards, adj = dcd.build("mnist", n_workers=4, n_hidden=8, n_samples=500, test_fraction=0.2, seed=3)
    assert pr.n_train + pr.n_test == 500
    assert pr.n_test == pytest.approx(100, abs=5)
    assert pr.n_features == 784 and pr.image_shape == (28, 28)
    assert model.dim == 784 * 8 + 8 + 8 * 10 + 10
    assert topology.degrees(adj).max() == 2 and len(shards) == 4
    assert sorted(np.concatenate(shards).tolist()) == list(range(pr.n_train))
    assert abs(pr.train_features.mean()) < 1e-3  # standardized with the training statistics


@needs_data
def test_setup_is_the_same_problem_and_summary():
    S = dcd.setup(params.load("dcd", "smoke", {"n_samples": 500, "n_hidden": 8}))
    assert S.seeds.data == 0 and S.seeds.runs == [0] and len(S.grid) == 4
    info = S.summary()
    assert info["n_train"] + info["n_test"] == 500 and info["degree"] == 2 and info["dim"] == S.dim
    assert np.allclose(S.W.sum(axis=1), 1) and info["shard_sizes"] == [len(s) for s in S.shards]
    assert S.problem.n_train == dcd.build("mnist", n_hidden=8, n_samples=500, seed=0)[0].n_train


# -------------------------------------------------------------------------- training
def test_run_grid_tables_and_32_bit_equivalence():
    pr = _toy_problem()
    curves, runs = dcd.run_grid(*pr, ALL, [4, 32], [0, 1], n_epochs=3, batch_size=5, lr=0.2, evals_per_epoch=2)
    assert len(runs) == 2 * (2 + 4 * 2)
    assert set(curves.columns) >= {"algorithm", "bits", "seed", "step", "epoch", "train_loss", "consensus"}
    assert curves.epoch.max() == pytest.approx(3.0)
    d = pr[1].dim
    mb = runs.set_index(["algorithm", "bits"]).message_bits.groupby(level=[0, 1]).first()
    assert mb[("dcd", 4)] == 4 * d + 32 and mb[("dpsgd", 32)] == 32 * d
    final = dcd.final_losses(curves)
    for a, ref in [("dcd", "dpsgd"), ("ecd", "dpsgd"), ("naive_quantized", "dpsgd"), ("qsgd_allreduce", "allreduce")]:
        assert abs(dcd.relative_gap(final, a, 32, reference=(ref, 32))) < 1e-8
    # everything trains on this easy problem
    first = curves[curves.step == 0].train_loss.max()
    assert (final.loss < 0.7 * first).all()


def test_run_grid_is_reproducible_and_seeds_differ():
    pr = _toy_problem()
    kw = dict(n_epochs=1, batch_size=5, lr=0.2)
    a, _ = dcd.run_grid(*pr, ["dcd"], [2], [7], **kw)
    b, _ = dcd.run_grid(*pr, ["dcd"], [2], [7], **kw)
    c, _ = dcd.run_grid(*pr, ["dcd"], [2], [8], **kw)
    assert np.array_equal(a.train_loss, b.train_loss)
    assert not np.array_equal(a.train_loss, c.train_loss)


def test_run_grid_marks_divergence():
    pr = _toy_problem()
    curves, runs = dcd.run_grid(*pr, ["naive_quantized"], [1], [0], n_epochs=30, batch_size=5, lr=50.0, blowup=1e3)
    assert runs.diverged.iloc[0]
    assert runs.final_loss.iloc[0] == np.inf
    assert curves.step.max() < runs.n_steps.iloc[0]


def test_run_grid_refuses_bad_arguments():
    pr = _toy_problem()
    with pytest.raises(ValueError, match="unknown algorithm"):
        dcd.run_grid(*pr, ["sgd"], [8], [0], n_epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="bits must be in"):
        dcd.run_grid(*pr, ["dcd"], [0], [0], n_epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="n_epochs"):
        dcd.run_grid(*pr, ["dcd"], [8], [0], n_epochs=0, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="seeds"):
        dcd.run_grid(*pr, ["dcd"], [8], [], n_epochs=1, batch_size=5, lr=0.1)


# ----------------------------------------------------------------------- summaries
def _curves():
    rows = []
    for seed, losses in [(0, [2.0, 1.0, 0.5]), (1, [2.0, 1.2, 0.7])]:
        rows += [{"algorithm": "dpsgd", "bits": 32, "seed": seed, "step": 10 * k, "epoch": k / 2, "train_loss": v,
                  "consensus": 0.0} for k, v in enumerate(losses)]
    rows += [{"algorithm": "ecd", "bits": 2, "seed": 0, "step": 10 * k, "epoch": k / 2, "train_loss": v,
              "consensus": 0.0} for k, v in enumerate([2.0, 0.9, 0.6])]
    rows += [{"algorithm": "ecd", "bits": 2, "seed": 1, "step": 0, "epoch": 0.0, "train_loss": 2.0, "consensus": 0.0},
             {"algorithm": "ecd", "bits": 2, "seed": 1, "step": 10, "epoch": 0.5, "train_loss": np.nan, "consensus": 0.0}]
    return pd.DataFrame(rows)


def test_mean_curves_and_final_losses_treat_divergence_as_inf():
    m = dcd.mean_curves(_curves())
    dp = m[m.algorithm == "dpsgd"]
    assert dp.loss.tolist() == pytest.approx([2.0, 1.1, 0.6])
    assert dp.loss_min.tolist() == pytest.approx([2.0, 1.0, 0.5])
    ecd = m[m.algorithm == "ecd"]
    assert ecd.loss.iloc[0] == 2.0 and np.isinf(ecd.loss.iloc[1]) and np.isinf(ecd.loss.iloc[2])
    fin = dcd.final_losses(_curves())
    assert fin.set_index("algorithm").loss["dpsgd"] == pytest.approx(0.6)
    assert np.isinf(dcd.relative_gap(fin, "ecd", 2))
    assert dcd.relative_gap(fin, "dpsgd", 32) == 0.0
    with pytest.raises(ValueError, match="no result for algorithm 'dcd'"):
        dcd.relative_gap(fin, "dcd", 8)


def test_message_table():
    t = dcd.message_table(100, ["allreduce", "dcd"], [8, 32])
    assert t.message_bits.tolist() == [3200, 832, 3200] and t.communication.tolist() == ["allreduce", "gossip", "gossip"]


# ------------------------------------------------------------------------- speed-up per seed
def _speedup_inputs():
    """Per-seed curves of three configurations and their seconds per iteration in one cell."""
    from repro.sgd import timing
    rows = []
    curves = {("dcd", 8): {0: [2.0, 1.0, 0.5], 1: [2.0, 1.2, 0.5]},
              ("dpsgd", 32): {0: [2.0, 1.0, 0.5], 1: [2.0, 1.3, 0.9]},
              ("qsgd_allreduce", 8): {0: [2.0, 0.9, 0.5], 1: [2.0, 1.5, 1.1]}}
    for (a, b), by_seed in curves.items():
        for seed, losses in by_seed.items():
            rows += [{"algorithm": a, "bits": b, "seed": seed, "step": 10 * k, "epoch": k / 2, "train_loss": v}
                     for k, v in enumerate(losses)]
    runs = pd.DataFrame({"algorithm": ["dcd", "dpsgd", "qsgd_allreduce"], "bits": [8, 32, 8],
                         "label": ["a", "b", "c"], "message_bits": [800, 3200, 800],
                         "communication": ["gossip", "gossip", "allreduce"]})
    grid = timing.network_grid([1e-4, 1e-2], [1e10, 1e3])
    times = timing.iteration_times(runs, grid, n_workers=4, degree=2, compute_s=0.01)
    return pd.DataFrame(rows), times, "high latency, low bandwidth"


def test_seed_speedups_time_each_seed_with_the_cells_seconds():
    curves, times, cell = _speedup_inputs()
    sec = times[times.cell == cell].set_index("algorithm").seconds
    # target 1.0: seed 0 - DCD at step 10, D-PSGD at 10, QSGD at 10; seed 1 - DCD at 20, D-PSGD at 20, QSGD never
    sp = dcd.seed_speedups(curves, times, 1.0, cell, ("dcd", 8), [("dpsgd", 32), ("qsgd_allreduce", 8)])
    assert sp.seed.tolist() == [0, 1]
    assert sp.time.tolist() == pytest.approx([10 * sec["dcd"], 20 * sec["dcd"]])
    assert sp.baseline_time.tolist() == pytest.approx([10 * min(sec["dpsgd"], sec["qsgd_allreduce"]), 20 * sec["dpsgd"]])
    assert sp.speedup.tolist() == pytest.approx([min(sec["dpsgd"], sec["qsgd_allreduce"]) / sec["dcd"],
                                                 sec["dpsgd"] / sec["dcd"]])
    # a target nobody reaches: nan; only DCD reaches it: inf; DCD never does: 0
    assert np.isnan(dcd.seed_speedups(curves, times, 0.1, cell, ("dcd", 8), [("dpsgd", 32)]).speedup).all()
    only = dcd.seed_speedups(curves, times, 0.5, cell, ("dcd", 8), [("qsgd_allreduce", 8)])
    assert only.speedup.iloc[1] == np.inf
    assert dcd.seed_speedups(curves, times, 0.5, cell, ("qsgd_allreduce", 8), [("dcd", 8)]).speedup.iloc[1] == 0.0
    with pytest.raises(ValueError, match="unknown cell"):
        dcd.seed_speedups(curves, times, 1.0, "nowhere", ("dcd", 8), [("dpsgd", 32)])
    with pytest.raises(ValueError, match="no result for algorithm 'ecd'"):
        dcd.seed_speedups(curves, times, 1.0, cell, ("ecd", 8), [("dpsgd", 32)])
    with pytest.raises(ValueError, match="no curve of 'dcd' at 8 bits for seed 1"):
        dcd.seed_speedups(curves[(curves.algorithm != "dcd") | (curves.seed == 0)], times, 1.0, cell, ("dcd", 8),
                          [("dpsgd", 32)])


def test_speedup_test_is_a_one_sided_t_test_of_the_log_speedups():
    from scipy import stats
    s = [1.7, 1.6, 1.8]
    t = dcd.speedup_test(s)
    assert t["p"] == pytest.approx(stats.ttest_1samp(np.log(s), 0.0, alternative="greater").pvalue)
    assert t["speedups"] == s and t["n"] == 3
    assert dcd.speedup_test([1.737] * 3)["p"] == 0.0          # identical in every seed
    assert dcd.speedup_test([0.9] * 3)["p"] == 1.0
    assert dcd.speedup_test([0.8, 1.1, 0.9])["p"] > 0.5
    assert np.isnan(dcd.speedup_test([1.5, 0.0, 1.2])["p"])    # a run that never reached the target
    assert np.isnan(dcd.speedup_test([1.5])["p"])               # one seed

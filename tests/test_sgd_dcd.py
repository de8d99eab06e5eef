"""Tests of repro.sgd.dcd: the experiment functions of the `dcd` chain."""
import numpy as np
import pandas as pd
import pytest

from repro.sgd import compress, dcd, models, partition, topology

from .conftest import needs_data


def _toy_problem(n_workers=4, n=240, p=6, c=3, seed=0):
    """A small separable-ish softmax problem on a ring, in the chain's Problem shape."""
    rng = np.random.default_rng(seed)
    means = 2.0 * rng.standard_normal((c, p))
    y = rng.integers(0, c, n)
    X = means[y] + rng.standard_normal((n, p))
    adj = topology.ring(n_workers)
    W = topology.mixing_matrix(adj)
    return dcd.Problem(dataset="toy", features=X[:200], labels=y[:200], test_features=X[200:], test_labels=y[200:],
                       shards=partition.partition_iid(200, n_workers, seed), model=models.LogisticRegression(p, c),
                       topology="ring", W=W, mixing=topology.check_mixing(W), degree=2,
                       class_names=tuple("abc"), image_shape=(p,))


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


def test_pool_images():
    imgs = np.arange(2 * 4 * 4 * 3, dtype=float).reshape(2, 4, 4, 3)
    out = dcd.pool_images(imgs, 2)
    assert out.shape == (2, 2, 2, 3)
    assert out[0, 0, 0, 0] == pytest.approx(np.mean(imgs[0, :2, :2, 0]))
    assert dcd.pool_images(imgs, 1).shape == imgs.shape
    with pytest.raises(ValueError, match="cannot be pooled"):
        dcd.pool_images(imgs, 3)


def test_check_claim_settings():
    dcd.check_claim_settings(ALL, [4, 8, 32], 8, 4)
    with pytest.raises(ValueError, match="low_bits=2 must be one of bits"):
        dcd.check_claim_settings(ALL, [4, 8, 32], 8, 2)
    with pytest.raises(ValueError, match="missing: ecd"):
        dcd.check_claim_settings(ALL[:-1], [4, 8], 8, 4)


def test_build_problem_refuses_bad_parameters_before_loading():
    with pytest.raises(ValueError, match="unknown dataset"):
        dcd.build_problem("imagenet")
    with pytest.raises(ValueError, match="n_workers must be an integer >= 2"):
        dcd.build_problem("mnist", n_workers=1)
    with pytest.raises(ValueError, match="unknown topology"):
        dcd.build_problem("mnist", topology_name="star")


@needs_data
def test_build_problem_on_real_mnist():
    pr = dcd.build_problem("mnist", n_workers=4, n_hidden=8, n_samples=500, test_fraction=0.2, seed=3)
    assert len(pr.labels) + len(pr.test_labels) == 500
    assert len(pr.test_labels) == pytest.approx(100, abs=5)
    assert pr.features.shape[1] == 784 and pr.image_shape == (28, 28)
    assert pr.dim == 784 * 8 + 8 + 8 * 10 + 10
    assert pr.degree == 2 and pr.n_workers == 4
    assert sorted(np.concatenate(pr.shards).tolist()) == list(range(len(pr.labels)))
    assert abs(pr.features.mean()) < 1e-3  # standardized with the training statistics


# -------------------------------------------------------------------------- training
def test_run_grid_tables_and_32_bit_equivalence():
    pr = _toy_problem()
    curves, runs = dcd.run_grid(pr, ALL, [4, 32], [0, 1], n_epochs=3, batch_size=5, lr=0.2, evals_per_epoch=2)
    assert len(runs) == 2 * (2 + 4 * 2)
    assert set(curves.columns) >= {"algorithm", "bits", "seed", "step", "epoch", "train_loss", "consensus"}
    assert curves.epoch.max() == pytest.approx(3.0)
    d = pr.dim
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
    a, _ = dcd.run_grid(pr, ["dcd"], [2], [7], **kw)
    b, _ = dcd.run_grid(pr, ["dcd"], [2], [7], **kw)
    c, _ = dcd.run_grid(pr, ["dcd"], [2], [8], **kw)
    assert np.array_equal(a.train_loss, b.train_loss)
    assert not np.array_equal(a.train_loss, c.train_loss)


def test_run_grid_marks_divergence():
    pr = _toy_problem()
    curves, runs = dcd.run_grid(pr, ["naive_quantized"], [1], [0], n_epochs=30, batch_size=5, lr=50.0, blowup=1e3)
    assert runs.diverged.iloc[0]
    assert runs.final_loss.iloc[0] == np.inf
    assert curves.step.max() < runs.n_steps.iloc[0]


def test_run_grid_refuses_bad_arguments():
    pr = _toy_problem()
    with pytest.raises(ValueError, match="unknown algorithm"):
        dcd.run_grid(pr, ["sgd"], [8], [0], n_epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="bits must be in"):
        dcd.run_grid(pr, ["dcd"], [0], [0], n_epochs=1, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="n_epochs"):
        dcd.run_grid(pr, ["dcd"], [8], [0], n_epochs=0, batch_size=5, lr=0.1)
    with pytest.raises(ValueError, match="seeds"):
        dcd.run_grid(pr, ["dcd"], [8], [], n_epochs=1, batch_size=5, lr=0.1)


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


def test_network_grid_and_iteration_times_follow_the_model():
    grid = dcd.network_grid([1e-4, 1e-2], [1e10, 1e8])
    assert len(grid) == 4 and set(grid.latency) == {"low", "high"}
    slow = grid[(grid.latency == "high") & (grid.bandwidth == "low")].iloc[0]
    assert (slow.latency_s, slow.bandwidth_bps) == (1e-2, 1e8)
    with pytest.raises(ValueError, match="low < high"):
        dcd.network_grid([1e-2, 1e-4], [1e10, 1e8])
    with pytest.raises(ValueError, match="high > low"):
        dcd.network_grid([1e-4, 1e-2], [1e8, 1e10])
    pr = _toy_problem(n_workers=8)
    msgs = dcd.message_table(pr, ["allreduce", "dcd"], [8])
    t = dcd.iteration_times(msgs, grid, n_workers=8, degree=2, compute_s=0.005)
    m32, m8 = 32 * pr.dim, 8 * pr.dim + 32
    ar = t[(t.algorithm == "allreduce") & (t.cell == slow.cell)].seconds.iloc[0]
    assert ar == pytest.approx(0.005 + 14 * (1e-2 + m32 / 8 / 1e8))
    dc = t[(t.algorithm == "dcd") & (t.cell == slow.cell)].seconds.iloc[0]
    assert dc == pytest.approx(0.005 + 2 * (1e-2 + m8 / 1e8))
    with pytest.raises(ValueError, match="compute_s"):
        dcd.iteration_times(msgs, grid, n_workers=8, degree=2, compute_s=-1)


def test_time_to_target_speedup_and_ratio():
    mean = pd.DataFrame({"algorithm": ["allreduce"] * 3 + ["dcd"] * 3, "bits": [32] * 3 + [8] * 3,
                         "step": [0, 10, 20] * 2, "epoch": [0, 1, 2] * 2, "loss": [2.0, 1.0, 0.5, 2.0, 0.9, 0.4]})
    assert dcd.target_loss(mean, 0.5) == 1.0
    assert dcd.target_loss(mean, 1.0) == 0.5
    with pytest.raises(ValueError, match="fraction"):
        dcd.target_loss(mean, 0.0)
    times = pd.DataFrame({"algorithm": ["allreduce", "dcd"], "bits": [32, 8], "cell": ["c", "c"], "seconds": [2.0, 1.0]})
    clock = dcd.wall_clock_curves(mean, times)
    assert clock[clock.algorithm == "allreduce"].time.tolist() == [0.0, 20.0, 40.0]
    ttt = dcd.time_to_target_table(clock, 0.5)
    t = ttt.set_index("algorithm").time_to_target
    assert t["allreduce"] == 40.0 and t["dcd"] == 20.0
    assert dcd.speedup(ttt, "c", ("dcd", 8), [("allreduce", 32)]) == 2.0
    assert dcd.time_ratio(ttt, "c", ("allreduce", 32), [("dcd", 8)]) == 2.0
    never = dcd.time_to_target_table(clock, 0.1)
    assert np.isnan(dcd.speedup(never, "c", ("dcd", 8), [("allreduce", 32)]))
    with pytest.raises(ValueError, match="unknown cell"):
        dcd.speedup(ttt, "nowhere", ("dcd", 8), [("allreduce", 32)])

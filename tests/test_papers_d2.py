"""Tests of repro.papers.d2, the driver of the d2 chain (fast: synthetic blobs)."""
import numpy as np
import pandas as pd
import pytest

from repro import params
from repro.papers import d2
from repro.sgd import topology
from repro.sgd.problem import split_problem


def _blobs(n_per=100, n_classes=4, p=6, sep=1.5, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_classes, p)) * sep
    y = np.repeat(np.arange(n_classes), n_per)
    return means[y] + rng.standard_normal((len(y), p)), y


@pytest.fixture(scope="module")
def grid():
    X, y = _blobs()
    problem = split_problem(X, y, None, 0.25, 0)
    model = d2.build_model("logistic", problem.n_features, problem.n_classes, l2=1e-3)
    curves, finals = d2.train_grid(problem, model, [2, 8], ["iid", "sorted", "labels:1"], [0, 1],
                                   epochs=15, batch_size=4, lr=0.5)
    return problem, model, curves, finals


def test_setup_names_the_seeds_and_checks_the_skews():
    S = d2.setup(params.load("d2", "smoke"))
    assert S.seeds.runs == [0, 1] and S.seeds.data == S.seeds.partitions == 0 and S.threads == 2
    assert S.skews == ["iid", "labels:2", "sorted"]
    with pytest.raises(ValueError, match="claim_skew"):
        d2.setup(params.load("d2", "smoke", {"skews": ["iid", "labels:2"]}))


def test_build_model():
    assert d2.build_model("mlp", 9, 10, n_hidden=4).dim == 9 * 4 + 4 + 4 * 10 + 10
    assert d2.build_model("logistic", 9, 10).dim == 9 * 10 + 10
    with pytest.raises(ValueError, match="unknown model"):
        d2.build_model("cnn", 9, 10)


def test_partition_for():
    X, y = _blobs()
    problem = split_problem(X, y, None, 0.25, 0)
    shards = d2.partition_for(problem, 4, "labels:1", 7)
    assert [len(np.unique(problem.train_labels[s])) for s in shards] == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="not possible"):
        d2.partition_for(problem, 2, "labels:1", 7)


# -------------------------------------------------------------------------------- mixing
def test_mixing_matrices_fix_only_what_d2_needs():
    even = d2.mixing_matrices("ring", 8)
    assert topology.check_mixing(even.W).lambda_min == pytest.approx(-1 / 3)
    np.testing.assert_allclose(even.W_d2, (even.W + np.eye(8)) / 2)
    assert even.for_algorithm("dpsgd") is even.W and even.for_algorithm("allreduce") is None
    odd = d2.mixing_matrices("ring", 5)
    assert np.array_equal(odd.W, odd.W_d2)  # lambda_min > -1/3: unchanged
    table = d2.mixing_table("ring", [5, 8])
    assert table.d2_ok.tolist() == [True, True, False, True]
    assert table.fixed.tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="unknown topology"):
        d2.mixing_matrices("star", 8)
    with pytest.raises(ValueError, match="n_workers"):
        d2.mixing_matrices("ring", 1)


# ------------------------------------------------------------------------------ training
def test_train_grid_tables(grid):
    problem, model, curves, finals = grid
    # labels:1 with 2 workers and 4 classes is impossible: skipped
    assert len(finals) == (2 + 3) * 3 * 2
    assert set(finals[finals.n_workers == 2]["skew"]) == {"iid", "sorted"}
    assert list(curves.columns[:4]) == ["n_workers", "skew", "algorithm", "seed"]
    assert {"train_loss", "test_acc", "consensus", "epoch"} <= set(curves.columns)
    assert not finals.diverged.any()
    assert finals.epoch.min() >= 15 - 1e-9
    assert np.isfinite(finals.zeta2_ref).all() and np.isfinite(finals.zeta2_init).all()
    # the same (n_workers, skew, seed) shares its partition: one zeta2 for all three algorithms
    assert finals.groupby(["n_workers", "skew", "seed"]).zeta2_ref.nunique().max() == 1
    # label skew raises the data variance
    z = finals[finals.n_workers == 8].groupby("skew").zeta2_init.mean()
    assert z["sorted"] > 5 * z["iid"]
    # consensus is zero for centralized SGD only
    last = curves.groupby(["n_workers", "skew", "algorithm", "seed"]).consensus.last().reset_index()
    assert (last[last.algorithm == "allreduce"].consensus < 1e-20).all()
    assert (last[(last.algorithm == "dpsgd") & (last.n_workers == 8)].consensus > 0).all()


def test_d2_beats_dpsgd_on_sorted_data_and_matches_centralized(grid):
    _, _, _, finals = grid
    c = d2.claim_numbers(finals, 8, "sorted")
    assert c["seeds"] == [0, 1]
    assert c["loss_reduction"]["min"] > 0.03
    assert c["d2_vs_allreduce"]["max"] < 0.02
    assert c["iid_loss_diff"]["max"] < 0.01
    assert c["zeta_ratio"] < 0.25
    assert c["losses"]["d2"] < c["losses"]["dpsgd"]


def test_train_grid_is_seeded_and_checks_its_arguments():
    X, y = _blobs(n_per=30)
    problem = split_problem(X, y, None, 0.25, 0)
    model = d2.build_model("mlp", problem.n_features, problem.n_classes, n_hidden=4)
    kw = dict(epochs=2, batch_size=4, lr=0.1)
    a = d2.train_grid(problem, model, [4], ["labels:2"], [3], **kw)[0]
    b = d2.train_grid(problem, model, [4], ["labels:2"], [3], **kw)[0]
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="unknown algorithm"):
        d2.train_grid(problem, model, [4], ["iid"], [0], algorithms_list=["adpsgd"], **kw)
    with pytest.raises(ValueError, match="epochs"):
        d2.train_grid(problem, model, [4], ["iid"], [0], epochs=0, batch_size=4, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        d2.train_grid(problem, model, [4], ["iid"], [0], epochs=1, batch_size=4, lr=-1.0)
    with pytest.raises(ValueError, match="n_workers"):
        d2.train_grid(problem, model, [1], ["iid"], [0], **kw)
    with pytest.raises(ValueError, match="skew"):
        d2.train_grid(problem, model, [4], ["unshuffled"], [0], **kw)


def test_curve_bands_summarize_and_arrays(grid):
    _, _, curves, finals = grid
    bands = d2.curve_bands(curves, "train_loss")
    one = bands[(bands.n_workers == 8) & (bands["skew"] == "iid") & (bands.algorithm == "d2")]
    raw = curves[(curves.n_workers == 8) & (curves["skew"] == "iid") & (curves.algorithm == "d2")]
    assert len(one) == len(raw) // 2
    assert (one["min"] <= one["mean"]).all() and (one["mean"] <= one["max"]).all()
    with pytest.raises(ValueError, match="unknown metric"):
        d2.curve_bands(curves, "loss")
    s = d2.summarize(finals)
    assert len(s) == 15 and (s.n_seeds == 2).all()
    back = pd.DataFrame(d2.to_arrays(curves))
    assert back["skew"].tolist() == curves["skew"].tolist()
    np.testing.assert_array_equal(back.train_loss, curves.train_loss)
    pts = d2.zeta_points(finals)
    assert np.allclose(pts[pts.algorithm == "allreduce"].excess_loss_mean, 0)


# ------------------------------------------------------------------------- claim numbers
def _finals(losses, accs=None, zetas=None):
    """Hand-made finals: losses[skew][algorithm] = [per seed]."""
    rows = []
    for skew, by_alg in losses.items():
        for a, vals in by_alg.items():
            for s, v in enumerate(vals):
                rows.append({"n_workers": 4, "skew": skew, "algorithm": a, "seed": s, "train_loss": v,
                             "test_acc": (accs or {}).get(skew, {}).get(a, [0.9] * len(vals))[s],
                             "zeta2_ref": (zetas or {"iid": 0.0, "labels:2": 1.0, "sorted": 2.0})[skew],
                             "zeta2_init": 0.0})
    return pd.DataFrame(rows)


def test_claim_numbers_golden():
    losses = {"iid": {"allreduce": [1.0, 1.0], "dpsgd": [1.0, 1.0], "d2": [1.02, 0.99]},
              "labels:2": {"allreduce": [1.0, 1.0], "dpsgd": [1.2, 1.2], "d2": [1.0, 1.0]},
              "sorted": {"allreduce": [1.0, 2.0], "dpsgd": [1.4, 2.5], "d2": [1.05, 2.0]}}
    accs = {"sorted": {"allreduce": [0.9, 0.9], "dpsgd": [0.8, 0.85], "d2": [0.9, 0.86]}}
    c = d2.claim_numbers(_finals(losses, accs), 4, "sorted")
    assert c["loss_reduction"]["min"] == pytest.approx(1 - 2.0 / 2.5)
    assert c["loss_reduction"]["max"] == pytest.approx(1 - 1.05 / 1.4)
    assert c["acc_gain"]["min"] == pytest.approx(0.01) and c["acc_gain"]["mean"] == pytest.approx(0.055)
    assert c["d2_vs_allreduce"]["max"] == pytest.approx(0.05) and c["d2_vs_allreduce"]["min"] == 0
    assert c["iid_loss_diff"]["max"] == pytest.approx(0.02) and c["iid_loss_diff"]["mean"] == pytest.approx(0.015)
    # excess losses: D-PSGD 0, 0.2, 0.45 at zeta 0, 1, 2 -> slope 0.225; D2 0.005, 0, 0.025 -> slope 0.01
    assert c["zeta_slopes"]["dpsgd"] == pytest.approx(0.225)
    assert c["zeta_slopes"]["d2"] == pytest.approx(0.01)
    assert c["zeta_ratio"] == pytest.approx(0.01 / 0.225)
    assert c["zeta_ranges"]["dpsgd"] == pytest.approx(0.45)
    assert c["losses"]["dpsgd"] == pytest.approx(1.95)


def test_significance_of_the_claims_is_a_one_sided_paired_t_test():
    from scipy import stats
    from repro.sgd import significance
    losses = {"iid": {"allreduce": [1.0, 1.0, 1.0], "dpsgd": [1.0, 1.0, 1.0], "d2": [1.0, 1.0, 1.0]},
              "sorted": {"allreduce": [1.0, 1.0, 1.0], "dpsgd": [1.4, 2.5, 2.0], "d2": [1.05, 2.0, 1.9]}}
    accs = {"sorted": {"allreduce": [0.9] * 3, "dpsgd": [0.8, 0.85, 0.9], "d2": [0.9, 0.86, 0.88]}}
    f = _finals(losses, accs, {"iid": 0.0, "sorted": 2.0})
    c = d2.claim_numbers(f, 4, "sorted")
    sel = f[(f.n_workers == 4) & (f["skew"] == "sorted")]
    lt = significance.paired_test(sel, treatment="d2", control="dpsgd", value="train_loss", effect="reduction")
    red = [1 - 1.05 / 1.4, 1 - 2.0 / 2.5, 1 - 1.9 / 2.0]
    assert lt["effects"] == pytest.approx(red) and lt["keys"] == [0, 1, 2] and lt["n"] == 3
    assert lt["mean"] == pytest.approx(c["loss_reduction"]["mean"])   # the same numbers as the claim
    assert lt["p"] == pytest.approx(stats.ttest_1samp(red, 0.0, alternative="greater").pvalue)
    at = significance.paired_test(sel, treatment="d2", control="dpsgd", value="test_acc")
    assert at["effects"] == pytest.approx([0.1, 0.01, -0.02]) and at["mean"] == pytest.approx(c["acc_gain"]["mean"])
    assert at["p"] == pytest.approx(stats.ttest_1samp([0.1, 0.01, -0.02], 0.0, alternative="greater").pvalue)
    assert 0.1 < at["p"] < 0.5   # a positive mean gain, far from significant
    with pytest.raises(ValueError, match="effect"):
        significance.paired_test(sel, treatment="d2", control="dpsgd", value="test_acc", effect="ratio")
    with pytest.raises(ValueError, match="one row per"):
        significance.paired_test(f, treatment="d2", control="dpsgd", value="test_acc")   # two skew levels
    with pytest.raises(ValueError, match="no rows"):
        significance.paired_test(sel, treatment="d2", control="adpsgd", value="test_acc")
    with pytest.raises(ValueError, match="only one of"):
        significance.paired_test(sel[~((sel.algorithm == "d2") & (sel.seed == 2))], treatment="d2", control="dpsgd",
                                 value="test_acc")


def test_one_sided_paired_t_edge_cases():
    from repro.sgd.significance import one_sided_paired_t
    same = one_sided_paired_t([0.2, 0.2, 0.2])  # the effect is identical in every seed
    assert same["p"] == 0.0 and same["t"] == np.inf and same["sd"] == 0.0
    assert one_sided_paired_t([-0.2, -0.2])["p"] == 1.0
    assert one_sided_paired_t([0.0, 0.0])["p"] == 1.0
    assert np.isnan(one_sided_paired_t([0.3])["p"])            # one seed: no test
    assert np.isnan(one_sided_paired_t([0.3, np.inf])["p"])    # a non-finite effect: no test
    assert np.isnan(one_sided_paired_t([])["p"])
    worse = one_sided_paired_t([-0.1, -0.3, -0.2])
    assert worse["t"] < 0 and worse["p"] > 0.95


def test_claim_numbers_errors():
    f = _finals({"iid": {"allreduce": [1.0], "dpsgd": [1.0], "d2": [1.0]},
                 "sorted": {"allreduce": [1.0], "dpsgd": [1.5], "d2": [1.0]}})
    with pytest.raises(ValueError, match="no runs"):
        d2.claim_numbers(f, 4, "labels:2")
    with pytest.raises(ValueError, match="no runs"):
        d2.claim_numbers(f, 16, "sorted")
    with pytest.raises(ValueError, match="missing"):
        d2.claim_numbers(f[f.algorithm != "d2"], 4, "sorted")
    with pytest.raises(ValueError, match="two skew levels"):
        d2.zeta_sensitivity(f[f["skew"] == "sorted"], 4)
    g = f.copy()
    g["zeta2_ref"] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        d2.zeta_sensitivity(g, 4)

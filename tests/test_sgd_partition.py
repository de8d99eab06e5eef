"""Tests of repro.sgd.partition: iid, label-skewed and Dirichlet partitions; data variance."""
import numpy as np
import pytest

from repro.sgd import partition as pt
from repro.sgd.models import LogisticRegression


def labels(n=600, c=10, seed=0):
    return np.random.default_rng(seed).integers(0, c, n)


def assert_is_partition(shards, n):
    allidx = np.concatenate(shards)
    assert len(allidx) == n and np.array_equal(np.sort(allidx), np.arange(n))


def test_iid_partition_is_balanced_and_seeded():
    s = pt.partition_iid(103, 4, rng=1)
    assert_is_partition(s, 103)
    assert sorted(len(x) for x in s) == [25, 26, 26, 26]
    assert all(np.array_equal(a, b) for a, b in zip(s, pt.partition_iid(103, 4, rng=1)))


@pytest.mark.parametrize("n_workers,k", [(5, 2), (8, 2), (4, 3), (10, 1), (3, 10)])
def test_label_skew_gives_each_worker_exactly_k_classes(n_workers, k):
    y = labels()
    s = pt.partition_label_skew(y, n_workers, k, rng=3)
    assert_is_partition(s, len(y))
    counts = pt.class_counts(y, s, 10)
    assert np.all((counts > 0).sum(axis=1) == k)
    assert np.all(counts.sum(axis=0) > 0)


def test_label_skew_errors():
    y = labels()
    with pytest.raises(ValueError, match="held by no worker"):
        pt.partition_label_skew(y, 4, 2, rng=0)
    with pytest.raises(ValueError, match="classes_per_worker"):
        pt.partition_label_skew(y, 4, 11, rng=0)
    with pytest.raises(ValueError, match="n_workers"):
        pt.partition_label_skew(y, 0, 2, rng=0)


def test_dirichlet_skew_grows_as_alpha_shrinks():
    y = labels(2000)
    def skew(alpha):
        c = pt.class_counts(y, pt.partition_dirichlet(y, 8, alpha, rng=4), 10).astype(float)
        p = c / c.sum(axis=1, keepdims=True)
        return np.mean(np.abs(p - p.mean(axis=0)))
    s_small, s_big = skew(0.1), skew(100.0)
    assert s_small > 5 * s_big
    assert_is_partition(pt.partition_dirichlet(y, 8, 0.5, rng=4), 2000)
    with pytest.raises(ValueError, match="alpha"):
        pt.partition_dirichlet(y, 8, 0.0, rng=0)
    with pytest.raises(ValueError, match="unknown partition"):
        pt.partition("sorted", y, 4, rng=0)


def test_data_variance_is_larger_for_skewed_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 800)
    F = rng.standard_normal((4, 5))[y] + rng.standard_normal((800, 5))
    m = LogisticRegression(5, 4, l2=0.1)
    x = np.zeros(m.dim)
    z_iid = pt.data_variance(m, x, F, y, pt.partition("iid", y, 4, rng=1))
    z_skew = pt.data_variance(m, x, F, y, pt.partition("label_skew", y, 4, rng=1, classes_per_worker=1))
    assert z_skew > 20 * z_iid
    # one worker holding everything: no spread at all
    assert pt.data_variance(m, x, F, y, [np.arange(800)]) == pytest.approx(0.0, abs=1e-20)
    # by hand for two workers
    s = pt.partition_iid(800, 2, rng=2)
    g = [m.loss_grad(x[None], F[i], y[i])[1][0] for i in s]
    assert pt.data_variance(m, x, F, y, s) == pytest.approx(np.sum((g[0] - g[1]) ** 2) / 4)


# ------------------------------------------------------------------------------ skew levels
def test_parse_skew_forms_labels_and_errors():
    assert pt.parse_skew("iid") == ("iid", {})
    assert pt.parse_skew("sorted") == ("sorted", {})
    assert pt.parse_skew("labels:2") == ("label_skew", {"classes_per_worker": 2})
    assert pt.parse_skew("dirichlet:0.1") == ("dirichlet", {"alpha": 0.1})
    assert pt.skew_label("labels:1") == "1 label/worker"
    assert pt.skew_label("dirichlet:0.5") == "Dirichlet α=0.5"
    for bad in ["IID", "labels:0", "labels:2.5", "labels:", "dirichlet:-1", "dirichlet:inf", "shuffled", 3]:
        with pytest.raises(ValueError, match="skew"):
            pt.parse_skew(bad)
    with pytest.raises(ValueError, match="claim_skew"):
        pt.check_skews(["iid", "labels:2"], claim_skew="sorted")
    with pytest.raises(ValueError, match="must include 'iid'"):
        pt.check_skews(["sorted"], need_iid=True)
    with pytest.raises(ValueError, match="repeated"):
        pt.check_skews(["iid", "iid"])


def test_partition_sorted_gives_contiguous_label_blocks():
    y = np.repeat(np.arange(5), 20)
    shards = pt.partition_sorted(y, 5, 3)
    assert sorted(np.concatenate(shards).tolist()) == list(range(100))  # a partition
    assert [len(np.unique(y[s])) for s in shards] == [1] * 5  # one class per worker
    halves = pt.partition_sorted(y, 10, 3)
    holders = pt.class_counts(y, halves, 5).astype(bool).sum(axis=0)
    assert holders.tolist() == [2] * 5  # every class on exactly two workers
    again = pt.partition_sorted(y, 10, 3)
    assert all(np.array_equal(a, b) for a, b in zip(halves, again))  # seeded
    with pytest.raises(ValueError, match="n_workers"):
        pt.partition_sorted(y, 0, 3)


def test_feasible():
    assert pt.feasible("labels:2", 8, 10) == (True, "")
    ok, why = pt.feasible("labels:1", 8, 10)
    assert not ok and "held by nobody" in why
    assert not pt.feasible("labels:11", 20, 10)[0]

"""Tests of repro.astro.mergers.statistics: error rates, AUC, bootstrap intervals, paired tests."""
import numpy as np
import pytest

from repro.astro.mergers import statistics as st


def test_confusion_error_and_balanced_error_golden():
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 0])
    c = st.confusion(y, pred)
    assert c.tolist() == [[6, 2], [1, 1]]
    assert st.error_rate(y, pred) == pytest.approx(0.3)
    assert st.balanced_error(y, pred) == pytest.approx(0.5 * (2 / 8 + 1 / 2))
    # calling everything a non-merger: low error, balanced error 0.5
    assert st.error_rate(y, np.zeros(10)) == pytest.approx(0.2)
    assert st.balanced_error(y, np.zeros(10)) == pytest.approx(0.5)
    assert np.isnan(st.balanced_error(np.zeros(3), np.zeros(3)))


def test_roc_auc_matches_pair_counting_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60) + 0.3 * y, 1)  # rounded: many ties
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg])
    assert st.roc_auc(y, s) == pytest.approx(brute, abs=1e-12)
    assert st.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert np.isnan(st.roc_auc([1, 1], [0.2, 0.3]))


def test_bootstrap_ci_covers_value_and_is_seeded():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(40), np.zeros(400)].astype(int)
    s = np.clip(0.5 * y + 0.6 * rng.random(len(y)), 0, 1)
    v, lo, hi = st.bootstrap_ci(y, s, "balanced_error", n_boot=300, seed=3)
    assert lo <= v <= hi and hi - lo > 0.02
    assert st.bootstrap_ci(y, s, "balanced_error", n_boot=300, seed=3) == (v, lo, hi)
    # a perfect classifier has a degenerate interval
    assert st.bootstrap_ci(y, y.astype(float), "error", n_boot=50) == (0.0, 0.0, 0.0)


def test_summarize_and_fold_metrics():
    import pandas as pd
    df = pd.DataFrame({"method": ["a"] * 8 + ["b"] * 8, "repeat": 0, "fold": [0, 0, 0, 0, 1, 1, 1, 1] * 2,
                       "y": [0, 0, 1, 1] * 4, "p_merger": [0.1, 0.2, 0.9, 0.8] * 2 + [0.9, 0.2, 0.1, 0.8] * 2})
    t = st.summarize(df, by=["method"], n_boot=50).set_index("method")
    assert t.loc["a", "balanced_error"] == 0 and t.loc["b", "balanced_error"] == 0.5
    assert t.loc["b", ["tn", "fp", "fn", "tp"]].tolist() == [2, 2, 2, 2]
    fm = st.fold_metrics(df, by=["method"])
    assert len(fm) == 4 and fm[fm.method == "b"]["balanced_error"].tolist() == [0.5, 0.5]


def test_mcnemar_exact_and_chi2():
    a = np.r_[np.ones(20), np.zeros(2), np.ones(78)].astype(bool)
    b = np.r_[np.zeros(20), np.ones(2), np.ones(78)].astype(bool)
    r = st.mcnemar_test(a, b)
    assert (r["only_a_right"], r["only_b_right"], r["exact"]) == (20, 2, True)
    from scipy.stats import binomtest
    assert r["p_value"] == pytest.approx(binomtest(2, 22, 0.5).pvalue, rel=1e-9)
    big = st.mcnemar_test(np.r_[np.ones(40), np.zeros(20)].astype(bool), np.r_[np.zeros(40), np.ones(20)].astype(bool))
    assert not big["exact"] and big["statistic"] == pytest.approx((abs(40 - 20) - 1) ** 2 / 60)
    with pytest.raises(ValueError, match="shape"):
        st.mcnemar_test([True], [True, False])


def test_paired_tests_direction_and_corrected_t():
    rng = np.random.default_rng(2)
    b = 0.2 + 0.02 * rng.standard_normal(15)
    a = b - 0.01 + 0.005 * rng.standard_normal(15)
    t = st.paired_tests(a, b, test_train_ratio=0.25)
    assert t["mean_diff"] < 0 and t["n"] == 15
    assert t["p_ttest"] < 0.01 and t["p_wilcoxon"] < 0.01
    assert t["p_ttest"] < t["p_corrected_t"] < 0.5  # the correction widens the variance
    d = a - b
    tc = d.mean() / np.sqrt((1 / 15 + 0.25) * d.var(ddof=1))
    from scipy import stats
    assert t["p_corrected_t"] == pytest.approx(stats.t.cdf(tc, 14), rel=1e-9)
    worse = st.paired_tests(b, a)
    assert worse["p_ttest"] > 0.99
    same = st.paired_tests(a, a)
    assert same["p_wilcoxon"] == 1.0


def test_paired_bootstrap_diff():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(50), np.zeros(200)].astype(int)
    good = np.where(rng.random(250) < 0.9, y, 1 - y).astype(float)
    bad = np.where(rng.random(250) < 0.6, y, 1 - y).astype(float)
    d, lo, hi, p = st.paired_bootstrap_diff(y, bad, good, n_boot=300, seed=1)
    assert d == pytest.approx(st.balanced_error(y, bad > 0.5) - st.balanced_error(y, good > 0.5))
    assert 0 < lo < d < hi and p < 0.01


def test_cluster_bootstrap_counts_repeated_images_once():
    rng = np.random.default_rng(4)
    y1 = np.r_[np.ones(30), np.zeros(120)].astype(int)
    s1 = np.clip(0.45 * y1 + 0.6 * rng.random(150), 0, 1)
    # the same images scored twice (two repeats with identical predictions)
    y2, s2, g2 = np.r_[y1, y1], np.r_[s1, s1], np.r_[np.arange(150), np.arange(150)]
    one = st.bootstrap_ci(y1, s1, n_boot=400, seed=0)
    naive = st.bootstrap_ci(y2, s2, n_boot=400, seed=0)
    clus = st.bootstrap_ci(y2, s2, n_boot=400, seed=0, groups=g2)
    assert one[0] == naive[0] == clus[0]
    w = lambda t: t[2] - t[1]  # noqa: E731
    assert w(naive) < 0.85 * w(one)  # rows as independent: too narrow
    assert w(clus) == pytest.approx(w(one), rel=0.25)
    with pytest.raises(ValueError, match="same label"):
        st.bootstrap_ci([0, 1], [0.2, 0.7], groups=[0, 0])

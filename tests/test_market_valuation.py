"""Tests of repro.market.valuation: exact KNN-Shapley and leave-one-out against brute force."""
import numpy as np
import pytest

from repro.market import valuation as v


def _problem(n=7, n_test=5, n_classes=3, p=2, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, p)), rng.integers(0, n_classes, n),
            rng.standard_normal((n_test, p)), rng.integers(0, n_classes, n_test))


def _utility(order, y, yt, K, n):
    def u(subset):
        if not subset:
            return 0.0
        keep = np.zeros(n, bool)
        keep[list(subset)] = True
        return v.knn_utility(order, y, yt, K, keep=keep)
    return u


@pytest.mark.parametrize("n,K,seed", [(7, 3, 0), (6, 1, 1), (5, 5, 2), (8, 2, 3), (4, 6, 4), (1, 2, 5), (9, 4, 6)])
def test_knn_shapley_equals_brute_force_enumeration(n, K, seed):
    X, y, Xt, yt = _problem(n, seed=seed)
    order = v.knn_order(X, Xt)
    exact = v.knn_shapley(X, y, Xt, yt, K)
    brute = v.brute_force_shapley(_utility(order, y, yt, K, n), n)
    np.testing.assert_allclose(exact, brute, atol=1e-12)
    # efficiency: the values add up to the utility of the whole set
    assert exact.sum() == pytest.approx(v.knn_utility(order, y, yt, K), abs=1e-12)


def test_knn_shapley_golden_one_dimensional():
    # training points at 1, 2, 3 with labels 0, 1, 0; one test point at 0 with label 0; K = 1
    # U(S) = 1 if the nearest point of S has label 0. By hand over the 6 orders of arrival:
    # point@1 adds 1 unless point@3 arrived first and point@2 did not (1 order of 6 gives 0,
    # and in the order 2,1 it turns 0 into 1): 5/6; point@2 removes 1 when only point@3 came
    # before it (1 order): -1/6; point@3 adds 1 when it comes first (2 orders): 1/3.
    vals = v.knn_shapley(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 0]), np.array([0.0]), np.array([0]), K=1)
    np.testing.assert_allclose(vals, [5 / 6, -1 / 6, 1 / 3], atol=1e-15)
    assert vals.sum() == pytest.approx(1.0)


def test_loo_matches_brute_force_and_group_loo():
    X, y, Xt, yt = _problem(9, n_test=6, seed=3)
    order = v.knn_order(X, Xt)
    for K in (1, 3, 9, 12):
        u = _utility(order, y, yt, K, 9)
        full = u(tuple(range(9)))
        brute = np.array([full - u(tuple(j for j in range(9) if j != i)) for i in range(9)])
        np.testing.assert_allclose(v.loo_points(order, y, yt, K), brute, atol=1e-12)
        groups = np.arange(9) % 3
        gl = v.group_loo(order, y, yt, K, groups)
        gb = [full - u(tuple(j for j in range(9) if groups[j] != g)) for g in range(3)]
        np.testing.assert_allclose(gl, gb, atol=1e-12)


def test_flipped_labels_have_lower_value_and_duplicates_share():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [4.0, 4.0]])
    y = np.repeat([0, 1], 40)
    X = centres[y] + rng.standard_normal((80, 2)) * 0.7
    y_noisy = y.copy()
    y_noisy[:10] = 1  # ten class-0 points carry the wrong label
    yt = np.repeat([0, 1], 30)
    Xt = centres[yt] + rng.standard_normal((60, 2)) * 0.7
    vals = v.knn_shapley(X, y_noisy, Xt, yt, K=5)
    assert vals[:10].mean() < 0 < vals[10:].mean()
    # an exact duplicate gets exactly the same value as its original (symmetry)
    X2, y2 = np.vstack([X, X[40:41]]), np.append(y_noisy, y_noisy[40])
    vals2 = v.knn_shapley(X2, y2, Xt, yt, K=5)
    assert vals2[40] == pytest.approx(vals2[80], abs=1e-12)
    assert vals2[40] < vals[40]  # ... and the original's value is diluted


def test_split_payment_exact_and_proportional():
    parts = v.split_payment(100, [3.0, 1.0, 0.0, -2.0])
    assert parts.tolist() == [75, 25, 0, 0] and parts.sum() == 100
    parts = v.split_payment(10, [1.0, 1.0, 1.0])
    assert parts.tolist() == [4, 3, 3]  # largest remainder, ties to the lower index
    assert v.split_payment(7, [-1.0, -5.0]).tolist() == [4, 3]  # nothing positive: equal split
    assert v.split_payment(0, [1.0, 2.0]).tolist() == [0, 0]
    rng = np.random.default_rng(1)
    for _ in range(50):
        w = rng.standard_normal(rng.integers(1, 12))
        total = int(rng.integers(0, 10**6))
        p = v.split_payment(total, w)
        assert p.sum() == total and (p >= 0).all() and (p[w <= 0] == 0).all() | (w <= 0).all()
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="total"):
            v.split_payment(bad, [1.0])
    with pytest.raises(ValueError, match="finite"):
        v.split_payment(5, [np.nan, 1.0])
    with pytest.raises(ValueError, match="non-empty"):
        v.split_payment(5, [])


def test_spearman_and_errors():
    assert v.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert v.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(v.spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        v.spearman([1, 2], [1, 2, 3])
    X, y, Xt, yt = _problem()
    with pytest.raises(ValueError, match="K must be"):
        v.knn_shapley(X, y, Xt, yt, K=0)
    with pytest.raises(ValueError, match="labels"):
        v.knn_shapley(X, y[:-1], Xt, yt, K=1)
    with pytest.raises(ValueError, match="features"):
        v.knn_order(X, np.ones((2, 5)))
    with pytest.raises(ValueError, match="too slow"):
        v.brute_force_shapley(lambda s: 0.0, 20)

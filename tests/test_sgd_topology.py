"""Tests of repro.sgd.topology: graphs, mixing matrices, spectral checks, D2's fix."""
import numpy as np
import pytest

from repro.sgd import topology as tp


def test_ring_torus_complete_degrees():
    assert np.all(tp.degrees(tp.ring(8)) == 2)
    assert np.all(tp.degrees(tp.ring(2)) == 1)
    assert np.all(tp.degrees(tp.torus(4, 4)) == 4)
    a = tp.torus(12)  # 3 x 4
    assert a.shape == (12, 12) and np.all(tp.degrees(a) == 4)
    assert np.all(tp.degrees(tp.torus(2, 5)) == 3)  # the two vertical neighbours coincide
    assert np.all(tp.degrees(tp.complete(5)) == 4)
    for a in (tp.ring(7), tp.torus(3, 5), tp.complete(4)):
        assert np.array_equal(a, a.T) and np.all(np.diag(a) == 0) and tp.is_connected(a)


def test_random_graphs_are_seeded_connected_and_regular():
    a = tp.random_regular(16, 3, rng=5)
    assert np.all(tp.degrees(a) == 3) and tp.is_connected(a)
    assert np.array_equal(a, tp.random_regular(16, 3, rng=5))
    assert not np.array_equal(a, tp.random_regular(16, 3, rng=6))
    e = tp.erdos_renyi(20, 0.3, rng=np.random.default_rng(1))
    assert tp.is_connected(e) and np.array_equal(e, e.T)
    assert np.array_equal(e, tp.erdos_renyi(20, 0.3, rng=1))


def test_is_connected_detects_two_components():
    a = np.zeros((4, 4), int)
    a[0, 1] = a[1, 0] = a[2, 3] = a[3, 2] = 1
    assert not tp.is_connected(a)


@pytest.mark.parametrize("method", ["metropolis", "uniform"])
@pytest.mark.parametrize("adj", [tp.ring(6), tp.torus(3, 3), tp.complete(5), tp.erdos_renyi(10, 0.3, rng=2)])
def test_mixing_matrices_are_valid(adj, method):
    W = tp.mixing_matrix(adj, method)
    info = tp.check_mixing(W)
    assert np.allclose(W, W.T) and np.allclose(W.sum(0), 1) and W.min() >= 0
    assert np.all(W[(adj == 0) & ~np.eye(len(adj), dtype=bool)] == 0)  # supported on the graph
    assert 0 < info.spectral_gap <= 1 + 1e-12
    assert info.eigenvalues[0] == pytest.approx(1.0)


def test_ring_spectrum_matches_closed_form():
    # Metropolis on a ring: W = I/3 + (shift + shift^T)/3 -> eigenvalues 1/3 + 2/3 cos(2 pi k / n)
    n = 10
    info = tp.check_mixing(tp.mixing_matrix(tp.ring(n)))
    expected = np.sort(1 / 3 + 2 / 3 * np.cos(2 * np.pi * np.arange(n) / n))[::-1]
    assert np.allclose(info.eigenvalues, expected)
    assert info.lambda_min == pytest.approx(-1 / 3)
    assert info.rho == pytest.approx(1 / 3 + 2 / 3 * np.cos(2 * np.pi / n))
    full = tp.check_mixing(tp.mixing_matrix(tp.complete(n), "uniform"))
    assert full.spectral_gap == pytest.approx(1.0) and full.rho == pytest.approx(0, abs=1e-12)


def test_check_mixing_rejects_bad_matrices():
    with pytest.raises(ValueError, match="doubly stochastic"):
        tp.check_mixing(np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="symmetric"):
        tp.check_mixing(np.array([[0.5, 0.5, 0], [0.25, 0.5, 0.25], [0.25, 0, 0.75]]))
    with pytest.raises(ValueError, match="negative"):
        tp.check_mixing(np.array([[1.5, -0.5], [-0.5, 1.5]]))
    with pytest.raises(ValueError, match="square"):
        tp.check_mixing(np.ones((2, 3)) / 3)


def test_fix_for_d2():
    W = tp.mixing_matrix(tp.ring(8))  # lambda_min = -1/3 exactly: fails D2's strict condition
    fixed, msg = tp.fix_for_d2(W)
    assert "(W + I)/2" in msg and "-1/3" in msg
    assert np.allclose(fixed, (W + np.eye(8)) / 2)
    assert tp.check_mixing(fixed).lambda_min == pytest.approx(1 / 3)
    ok = tp.mixing_matrix(tp.ring(7))  # odd ring: lambda_min > -1/3
    same, msg = tp.fix_for_d2(ok)
    assert np.array_equal(same, ok) and "kept" in msg


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="unknown topology 'star'"):
        tp.graph("star", 4)
    with pytest.raises(ValueError, match="n_workers"):
        tp.ring(1)
    with pytest.raises(ValueError, match="even"):
        tp.random_regular(5, 3, rng=0)
    with pytest.raises(ValueError, match="degree"):
        tp.random_regular(5, 5, rng=0)
    with pytest.raises(ValueError, match="p must"):
        tp.erdos_renyi(5, 0.0, rng=0)
    with pytest.raises(ValueError, match="rng"):
        tp.erdos_renyi(5, 0.5, rng=None)
    with pytest.raises(ValueError, match="mixing method"):
        tp.mixing_matrix(tp.ring(4), "laplacian")
    assert tp.graph("torus", 16).shape == (16, 16)
    assert np.all(tp.degrees(tp.graph("random_regular", 8, degree=4, rng=0)) == 4)

"""repro.automl.data: the real DS3Lab and OBOE matrices, checks, splits."""
import numpy as np
import pytest

from repro.automl import data
from repro.automl.errors import MatrixError
from repro.errors import DataError


@pytest.fixture(scope="module")
def ds3lab():
    return data.load_ds3lab()


def test_ds3lab_pool(ds3lab):
    assert ds3lab.quality.shape == (31, 9)
    assert np.all((ds3lab.quality >= 0) & (ds3lab.quality <= 1))
    assert not any("synthetic" in f for f in ds3lab.notes["files"])
    assert sum(ds3lab.notes["own_cost"]) == 8
    # the 8 data sets of TS-MS/test.txt carry their own measured times; the first costs 42.75 s for model 1
    own = np.flatnonzero(ds3lab.notes["own_cost"])
    assert ds3lab.cost[own[0]][:4] == pytest.approx([42.75, 96.0, 2250.0, 10.0])
    assert ds3lab.cost.min() > 0
    # no two kept data sets agree in 8 of their 9 accuracies
    q = ds3lab.quality
    same = (np.abs(q[:, None, :] - q[None, :, :]) > 1e-9).sum(axis=2)
    assert same[~np.eye(len(q), dtype=bool)].min() >= 2


def test_ds3lab_dedupe_levels():
    assert data.load_ds3lab(max_differing=0).n_datasets == 33
    assert data.load_ds3lab(max_differing=1).n_datasets == 31


def test_oboe_matrices():
    m = data.load_oboe()
    assert m.quality.shape == (418, 219) == m.cost.shape
    assert np.all((m.quality > 0) & (m.quality <= 1)) and m.cost.min() > 0
    assert m.models[0].startswith("AB(") and m.datasets[0] == "openml3"


def test_read_whitespace_matrix(tmp_path):
    p = tmp_path / "m.txt"
    p.write_text("0.1\t0.2  0.3\t\n\n0.4    0.5\t0.6")
    assert data.read_whitespace_matrix(p) == pytest.approx(np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]))
    p.write_text("0.1 0.2\n0.3\n")
    with pytest.raises(DataError, match="different lengths"):
        data.read_whitespace_matrix(p)
    p.write_text("0.1 x\n")
    with pytest.raises(DataError, match="line 1"):
        data.read_whitespace_matrix(p)


def test_distinct_rows_merges_one_model_reruns():
    a = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.9], [0.5, 0.6, 0.7]])
    kept, first, origins = data.distinct_rows([("a", a), ("b", a[:1])], max_differing=1)
    assert len(kept) == 2 and first == ["a:1", "a:3"] and origins[0] == ["a:1", "a:2", "b:1"]


def test_split_is_disjoint_and_seeded():
    s1, s2 = data.split(31, 20, 4), data.split(31, 20, 4)
    assert np.array_equal(s1.users, s2.users) and not set(s1.users) & set(s1.prior)
    assert len(s1.users) == 20 and len(s1.prior) == 11
    assert not np.array_equal(s1.users, data.split(31, 20, 5).users)
    assert len(data.split(31, 10, 0, n_prior=5).prior) == 5
    with pytest.raises(MatrixError, match="prior"):
        data.split(10, 9, 0)


def test_matrices_validation():
    with pytest.raises(MatrixError, match="NaN"):
        data.Matrices(np.array([[0.1, np.nan]]), np.ones((1, 2)), ["d"], ["a", "b"], "test")
    with pytest.raises(MatrixError, match="> 0"):
        data.Matrices(np.array([[0.1, 0.2]]), np.array([[1.0, -2.0]]), ["d"], ["a", "b"], "test")
    with pytest.raises(MatrixError, match="names"):
        data.Matrices(np.array([[0.1, 0.2]]), np.ones((1, 2)), ["d", "e"], ["a", "b"], "test")
    with pytest.raises(MatrixError, match="unknown source"):
        data.load("imagenet")


def test_rows_and_summary():
    q = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.9]])
    m = data.Matrices(q, np.ones((3, 2)), ["a", "b", "c"], ["x", "y"], "test")
    sub = m.rows([2, 0])
    assert sub.datasets == ["c", "a"] and sub.quality == pytest.approx(q[[2, 0]]) and sub.models == ["x", "y"]
    s = m.summary()
    assert s["data sets"] == 3 and s["best quality, median over data sets"] == pytest.approx(0.4)

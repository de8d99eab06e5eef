"""Tests of repro.sgd.datasets: IDX parsing and its errors, the real MNIST and CIFAR-10 test sets."""
import gzip

import numpy as np
import pytest

from repro.errors import DataError
from repro import datasets as ds

from .conftest import needs_data


def write_idx(path, arr, code=0x08, compress=False, extra=b""):
    head = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, dtype=">i4").tobytes()
    raw = head + arr.tobytes() + extra
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def test_read_idx_roundtrip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(ds.read_idx(write_idx(tmp_path / "a.idx", a)), a)
    assert np.array_equal(ds.read_idx(write_idx(tmp_path / "a.idx.gz", a, compress=True)), a)
    b = np.arange(5, dtype=">i4")
    assert np.array_equal(ds.read_idx(write_idx(tmp_path / "b.idx", b, code=0x0C)), b)


def test_read_idx_errors_name_the_file(tmp_path):
    a = np.zeros((2, 2), np.uint8)
    with pytest.raises(DataError, match=r"bad\.idx.*bad magic"):
        p = tmp_path / "bad.idx"
        p.write_bytes(b"\x08\x03\x00\x00" + a.tobytes())
        ds.read_idx(p)
    with pytest.raises(DataError, match=r"long\.idx.*header announces shape \(2, 2\)"):
        ds.read_idx(write_idx(tmp_path / "long.idx", a, extra=b"\x00"))
    with pytest.raises(DataError, match=r"broken\.gz"):
        p = tmp_path / "broken.gz"
        p.write_bytes(b"not gzip at all")
        ds.read_idx(p)


def test_holdout_split_and_standardize():
    y = np.repeat(np.arange(4), 50)
    tr, te = ds.holdout_split(y, 0.2, rng=0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 200
    assert np.all(np.bincount(y[te]) == 10)
    with pytest.raises(ValueError, match="test_fraction"):
        ds.holdout_split(y, 1.5, rng=0)
    x = np.random.default_rng(0).uniform(size=(30, 2, 2))
    a, b = ds.standardize(x, x[:5])
    assert a.shape == (30, 4) and np.allclose(a.mean(0), 0, atol=1e-6) and np.allclose(b, a[:5])


@needs_data
def test_mnist_test_set():
    images, labels = ds.load_mnist()
    assert images.shape == (10000, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.dtype == np.int64 and list(labels[:5]) == [7, 2, 1, 0, 4]  # the well-known first digits
    assert np.all(np.bincount(labels) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


@needs_data
def test_cifar10_test_set_subset():
    images, labels = ds.load_cifar10(per_class=3)
    assert images.shape == (30, 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert np.array_equal(labels, np.repeat(np.arange(10), 3))
    with pytest.raises(ValueError, match="per_class"):
        ds.load_cifar10(per_class=0)


@needs_data
def test_cifar10_jpegs_exclude_gives_a_disjoint_draw_and_none_keeps_the_old_one():
    jp, names = ds.cifar10_jpegs(50, np.random.default_rng(0))
    assert names == [ds.cifar10_file(int(k)) for k in np.random.default_rng(0).choice(10000, 50, replace=False)]
    jp2, names2 = ds.cifar10_jpegs(50, np.random.default_rng(0), exclude=names)
    assert not set(names) & set(names2) and len(set(names2)) == 50
    assert all(j[:2] == b"\xff\xd8" for j in jp2)   # JPEG files
    with pytest.raises(ValueError, match="1..9950"):
        ds.cifar10_jpegs(9951, np.random.default_rng(0), exclude=names)

"""Tests of repro.sgd.problem: the one training-problem type and its builders."""
import numpy as np
import pytest

from repro.sgd.problem import image_problem, mnist_problem, pool_images, split_problem

from .conftest import needs_data


def test_split_problem_is_stratified_and_standardized():
    rng = np.random.default_rng(0)
    images = rng.random((1000, 3, 3)).astype(np.float32)
    labels = np.repeat(np.arange(10), 100)
    p = split_problem(images, labels, 500, 0.2, 1)
    assert (p.n_train, p.n_test, p.n_features, p.n_classes) == (400, 100, 9, 10)
    assert np.bincount(p.train_labels).tolist() == [40] * 10
    assert p.train_features.dtype == np.float64
    np.testing.assert_allclose(p.train_features.mean(axis=0), 0, atol=1e-6)
    assert not set(p.train_index) & set(p.test_index)
    train = images[p.train_index].reshape(400, -1)
    expected = (images[p.test_index[0]].ravel() - train.mean(0)) / (train.std(0) + 1e-8)
    np.testing.assert_allclose(p.test_features[0], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="n_samples"):
        split_problem(images, labels, 1, 0.2, 1)


@needs_data
def test_mnist_problem_subsample():
    p = mnist_problem(1000, 0.2, 0)
    assert p.n_train + p.n_test == 1000 and p.n_classes == 10
    assert set(np.unique(p.test_labels)) == set(range(10))


def test_pool_images():
    imgs = np.arange(2 * 4 * 4 * 3, dtype=float).reshape(2, 4, 4, 3)
    out = pool_images(imgs, 2)
    assert out.shape == (2, 2, 2, 3)
    assert out[0, 0, 0, 0] == pytest.approx(np.mean(imgs[0, :2, :2, 0]))
    assert pool_images(imgs, 1).shape == imgs.shape
    with pytest.raises(ValueError, match="cannot be pooled"):
        pool_images(imgs, 3)


def test_image_problem_refuses_bad_parameters_before_loading():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown dataset"):
        image_problem("imagenet", rng)


@needs_data
def test_image_problem_on_real_mnist():
    p = image_problem("mnist", np.random.default_rng(3), n_samples=500, test_fraction=0.2)
    assert p.n_train + p.n_test == 500 and p.n_test == pytest.approx(100, abs=5)
    assert p.n_features == 784 and p.image_shape == (28, 28) and p.dataset == "mnist" and p.n_classes == 10
    assert abs(p.train_features.mean()) < 1e-3  # standardized with the training statistics
    with pytest.raises(ValueError, match="n_samples"):
        image_problem("mnist", np.random.default_rng(3), n_samples=1, min_samples=8)

"""Tests of repro.astro.mergers.batches: balanced batches, augmentation, the tf.data pipeline."""
import numpy as np
import pytest

from repro.astro.mergers import batches as B


def test_balanced_batches_have_equal_classes_and_cover_the_minority():
    y = np.r_[np.ones(7), np.zeros(50)].astype(int)
    b = B.balanced_batches(y, 8, 10, np.random.default_rng(0))
    assert b.shape == (10, 8)
    assert (y[b].sum(axis=1) == 4).all()
    assert set(b[y[b] == 1].ravel()) == set(range(7))  # every merger is used
    with pytest.raises(ValueError, match="even"):
        B.balanced_batches(y, 7, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no mergers"):
        B.balanced_batches(np.zeros(10, int), 4, 2, np.random.default_rng(0))


def test_augment_batch_is_seeded_and_identity_without_transforms():
    x = np.random.default_rng(0).random((3, 24, 24, 3)).astype(np.float32) * 255
    same = B.augment_batch(x, [0, 0], rotate=False, flip=False, zoom=0, shift=0).numpy()
    np.testing.assert_allclose(same, x, atol=1e-4)
    a = B.augment_batch(x, [1, 2]).numpy()
    b = B.augment_batch(x, [1, 2]).numpy()
    c = B.augment_batch(x, [1, 3]).numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1
    # a 180-degree rotation without zoom and shift is an exact flip of both axes
    import tensorflow as tf
    half = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=np.tile([[-1, 0, 23, 0, -1, 23, 0, 0]], (3, 1)).astype(np.float32),
        output_shape=[24, 24], fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT").numpy()
    np.testing.assert_allclose(half, x[:, ::-1, ::-1], atol=1e-3)


def test_make_dataset_gathers_batches_in_order_and_augments_each_with_its_seed():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 255, (10, 16, 16, 3)).astype(np.uint8)
    y = np.r_[np.ones(4), np.zeros(6)].astype(int)
    idx = B.balanced_batches(y, 4, 3, rng)
    plain = list(B.make_dataset(X, y, idx, seed=5, augment=None))
    assert len(plain) == 3
    for (xb, yb), b in zip(plain, idx):
        np.testing.assert_array_equal(xb.numpy(), X[b].astype(np.float32))
        np.testing.assert_array_equal(yb.numpy(), y[b])
    aug = {"zoom": 0.1, "shift": 0.05}
    xb1 = next(iter(B.make_dataset(X, y, idx, seed=5, augment=aug)))[0].numpy()
    np.testing.assert_array_equal(xb1, B.augment_batch(X[idx[0]].astype(np.float32), [5, 0], **aug).numpy())


def test_class_weights_balance_the_classes():
    y = np.r_[np.ones(2), np.zeros(8)].astype(int)
    w = B.class_weights(y)
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum()) and w.mean() == pytest.approx(1.0)

"""Tests of the model builder and training pieces of repro.astro.mergers (small images, a few steps)."""
import numpy as np
import pytest

from repro.astro import mergers as M
from repro.errors import ReproError

from .conftest import needs_data


@needs_data
def test_pretrained_weights_are_loaded_from_the_file():
    model = M.build_model(32, "imagenet", seed=0)
    base = model.get_layer("mobilenet_base")
    path = M.weights_path()
    for layer in ("conv1", "conv_dw_5", "conv_pw_13", "conv_pw_13_bn"):
        got = base.get_layer(layer).get_weights()
        ref = M.h5_layer_weights(path, layer)
        assert len(got) == len(ref)
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(g, r)
    assert base.count_params() == 218544 + 0  # the registry's parameter count of the file
    scratch = M.build_model(32, None, seed=0).get_layer("mobilenet_base").get_layer("conv1").get_weights()[0]
    assert not np.allclose(scratch, M.h5_layer_weights(path, "conv1")[0])


@needs_data
def test_missing_or_corrupt_weights_file_gives_clear_error(tmp_path):
    with pytest.raises(M.WeightsError, match="does not exist"):
        M.build_model(32, "imagenet", weights_file=tmp_path / "nope.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(M.WeightsError, match="cannot load pretrained weights"):
        M.build_model(32, "imagenet", weights_file=bad)
    assert issubclass(M.WeightsError, ReproError)
    with pytest.raises(ValueError, match="image_size"):
        M.build_model(16, None)


def test_model_shape_and_probabilities():
    model = M.build_model(32, None, dense_units=8, seed=1)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 2)
    p = M.predict_proba(model, np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3)).astype(np.uint8))
    assert p.shape == (5,) and np.all((p >= 0) & (p <= 1))


def test_balanced_batches_have_equal_classes_and_cover_the_minority():
    y = np.r_[np.ones(7), np.zeros(50)].astype(int)
    b = M.balanced_batches(y, 8, 10, np.random.default_rng(0))
    assert b.shape == (10, 8)
    assert (y[b].sum(axis=1) == 4).all()
    assert set(b[y[b] == 1].ravel()) == set(range(7))  # every merger is used
    with pytest.raises(ValueError, match="even"):
        M.balanced_batches(y, 7, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no mergers"):
        M.balanced_batches(np.zeros(10, int), 4, 2, np.random.default_rng(0))


def test_augment_batch_is_seeded_and_identity_without_transforms():
    x = np.random.default_rng(0).random((3, 24, 24, 3)).astype(np.float32) * 255
    same = M.augment_batch(x, [0, 0], rotate=False, flip=False, zoom=0, shift=0).numpy()
    np.testing.assert_allclose(same, x, atol=1e-4)
    a = M.augment_batch(x, [1, 2]).numpy()
    b = M.augment_batch(x, [1, 2]).numpy()
    c = M.augment_batch(x, [1, 3]).numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1
    # a 180-degree rotation without zoom and shift is an exact flip of both axes
    import tensorflow as tf
    half = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=np.tile([[-1, 0, 23, 0, -1, 23, 0, 0]], (3, 1)).astype(np.float32),
        output_shape=[24, 24], fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT").numpy()
    np.testing.assert_allclose(half, x[:, ::-1, ::-1], atol=1e-3)


def test_cv_splits_subsample_and_train_val():
    y = np.r_[np.ones(10), np.zeros(40)].astype(int)
    s = M.cv_splits(y, 5, 2, 0)
    assert len(s) == 10
    for r in (0, 1):
        te = np.concatenate([x["test"] for x in s if x["repeat"] == r])
        assert sorted(te) == list(range(50))
    assert all(y[x["test"]].sum() == 2 for x in s)
    assert not np.array_equal(s[0]["test"], s[5]["test"])  # repeats shuffle differently
    tr, va = M.train_val_split(s[0]["train"], y, 0.25, 0)
    assert len(np.intersect1d(tr, va)) == 0 and y[va].sum() == 2
    sub = M.subsample(tr, y, 0.1, 0)
    assert y[sub].sum() == 2 and set(sub) <= set(tr)
    with pytest.raises(ValueError, match="folds"):
        M.cv_splits(np.r_[np.ones(2), np.zeros(10)].astype(int), 5, 1, 0)


def test_train_two_phases_and_scratch_keep_best_weights():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (40, 32, 32, 3)).astype(np.uint8)
    y = np.r_[np.ones(12), np.zeros(28)].astype(int)
    X[y == 1, 12:20, 12:20] = 255  # a bright centre marks the "mergers"
    cfg = M.TrainConfig(arm="scratch", image_size=32, batch_size=8, steps_per_epoch=2, head_epochs=1,
                        finetune_epochs=1, dense_units=4, seed=0)
    model, hist = M.train(X[:30], y[:30], X[30:], y[30:], cfg)
    assert [h["phase"] for h in hist] == ["scratch", "scratch"]
    assert sum(h["best"] for h in hist) == 1
    with pytest.raises(ValueError, match="arm"):
        M.TrainConfig(arm="imagenet")


@needs_data
def test_transfer_training_freezes_then_unfreezes_base_but_not_batchnorm():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (24, 32, 32, 3)).astype(np.uint8)
    y = np.r_[np.ones(8), np.zeros(16)].astype(int)
    cfg = M.TrainConfig(arm="transfer", image_size=32, batch_size=4, steps_per_epoch=1, head_epochs=1,
                        finetune_epochs=1, dense_units=4, patience=5, seed=0)
    model, hist = M.train(X[:16], y[:16], X[16:], y[16:], cfg)
    assert [h["phase"] for h in hist] == ["head", "finetune"]
    base = model.get_layer("mobilenet_base")
    conv = base.get_layer("conv1").get_weights()[0]
    bn = base.get_layer("conv1_bn").get_weights()
    path = M.weights_path()
    ref_bn = M.h5_layer_weights(path, "conv1_bn")
    for g, r in zip(bn, ref_bn):  # batch-norm statistics and scales stay ImageNet's
        np.testing.assert_array_equal(g, r)
    # the conv kernel is either the file's (if phase 1 was best) or moved by phase 2
    assert conv.shape == M.h5_layer_weights(path, "conv1")[0].shape


def test_bn_momentum_sets_how_fast_the_inference_statistics_follow():
    import keras
    x = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3)).astype(np.float32)
    y = np.r_[np.ones(4), np.zeros(4)].astype(np.int32)
    means = {}
    for m in (0.0, 0.99):
        model = M.build_model(32, None, dense_units=4, seed=3, bn_momentum=m)
        bns = [la for la in model.get_layer("mobilenet_base").layers if isinstance(la, keras.layers.BatchNormalization)]
        assert len(bns) == 27 and all(la.momentum == m for la in bns)
        model.compile(keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
        model.train_on_batch(x, y)
        means[m] = np.asarray(bns[0].moving_mean)
    # one step from zero: momentum 0 takes the batch mean, 0.99 takes 1 % of it
    assert np.abs(means[0.0]).max() > 1e-3
    np.testing.assert_allclose(means[0.99], 0.01 * means[0.0], rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="bn_momentum"):
        M.build_model(32, None, bn_momentum=1.0)

"""Tests of repro.astro.mergers.cnn: the model, its pretrained weights, training, saved models (small images)."""
import dataclasses

import numpy as np
import pytest

from repro.astro.mergers import cnn
from repro.errors import ReproError

from .conftest import needs_data


@needs_data
def test_pretrained_weights_are_loaded_from_the_file():
    model = cnn.build_model(32, "imagenet", seed=0)
    base = model.get_layer("mobilenet_base")
    path = cnn.weights_path()
    for layer in ("conv1", "conv_dw_5", "conv_pw_13", "conv_pw_13_bn"):
        got = base.get_layer(layer).get_weights()
        ref = cnn.h5_layer_weights(path, layer)
        assert len(got) == len(ref)
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(g, r)
    assert base.count_params() == 218544  # the registry's parameter count of the file
    scratch = cnn.build_model(32, None, seed=0).get_layer("mobilenet_base").get_layer("conv1").get_weights()[0]
    assert not np.allclose(scratch, cnn.h5_layer_weights(path, "conv1")[0])
    with pytest.raises(cnn.WeightsError, match="cannot read layer"):
        cnn.h5_layer_weights(path, "no_such_layer")


@needs_data
def test_missing_or_corrupt_weights_file_gives_clear_error(tmp_path):
    with pytest.raises(cnn.WeightsError, match="does not exist"):
        cnn.build_model(32, "imagenet", weights_file=tmp_path / "nope.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(cnn.WeightsError, match="cannot load pretrained weights"):
        cnn.build_model(32, "imagenet", weights_file=bad)
    assert issubclass(cnn.WeightsError, ReproError)
    with pytest.raises(ValueError, match="image_size"):
        cnn.build_model(16, None)
    with pytest.raises(ValueError, match="weights"):
        cnn.build_model(32, "cifar")


def test_model_shape_and_probabilities():
    model = cnn.build_model(32, None, dense_units=8, seed=1)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 2)
    p = cnn.predict_proba(model, np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3)).astype(np.uint8))
    assert p.shape == (5,) and np.all((p >= 0) & (p <= 1))
    assert cnn.predict_proba(model, np.zeros((0, 32, 32, 3))).shape == (0,)


def test_train_config_defaults_are_the_full_profile():
    from repro import params
    P = params.load("mergers", "full").as_dict()
    cfg = cnn.TrainConfig()
    shared = [f.name for f in dataclasses.fields(cfg) if f.name in P]
    assert len(shared) == 14
    for name in shared:
        assert getattr(cfg, name) == P[name], name


def test_train_two_phases_and_scratch_keep_best_weights():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (40, 32, 32, 3)).astype(np.uint8)
    y = np.r_[np.ones(12), np.zeros(28)].astype(int)
    X[y == 1, 12:20, 12:20] = 255  # a bright centre marks the "mergers"
    cfg = cnn.TrainConfig(arm="scratch", image_size=32, batch_size=8, steps_per_epoch=2, head_epochs=1,
                          finetune_epochs=1, dense_units=4, seed=0)
    model, hist = cnn.train(X[:30], y[:30], X[30:], y[30:], cfg)
    assert [h["phase"] for h in hist] == ["scratch", "scratch"]
    assert sum(h["best"] for h in hist) == 1
    with pytest.raises(ValueError, match="arm"):
        cnn.TrainConfig(arm="imagenet")


@needs_data
def test_transfer_training_freezes_then_unfreezes_base_but_not_batchnorm():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (24, 32, 32, 3)).astype(np.uint8)
    y = np.r_[np.ones(8), np.zeros(16)].astype(int)
    cfg = cnn.TrainConfig(arm="transfer", image_size=32, batch_size=4, steps_per_epoch=1, head_epochs=1,
                          finetune_epochs=1, dense_units=4, patience=5, seed=0)
    model, hist = cnn.train(X[:16], y[:16], X[16:], y[16:], cfg)
    assert [h["phase"] for h in hist] == ["head", "finetune"]
    base = model.get_layer("mobilenet_base")
    conv = base.get_layer("conv1").get_weights()[0]
    bn = base.get_layer("conv1_bn").get_weights()
    path = cnn.weights_path()
    ref_bn = cnn.h5_layer_weights(path, "conv1_bn")
    for g, r in zip(bn, ref_bn):  # batch-norm statistics and scales stay ImageNet's
        np.testing.assert_array_equal(g, r)
    # the conv kernel is either the file's (if phase 1 was best) or moved by phase 2
    assert conv.shape == cnn.h5_layer_weights(path, "conv1")[0].shape


def test_bn_momentum_sets_how_fast_the_inference_statistics_follow():
    import keras
    x = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3)).astype(np.float32)
    y = np.r_[np.ones(4), np.zeros(4)].astype(np.int32)
    means = {}
    for m in (0.0, 0.99):
        model = cnn.build_model(32, None, dense_units=4, seed=3, bn_momentum=m)
        bns = [la for la in model.get_layer("mobilenet_base").layers if isinstance(la, keras.layers.BatchNormalization)]
        assert len(bns) == 27 and all(la.momentum == m for la in bns)
        model.compile(keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
        model.train_on_batch(x, y)
        means[m] = np.asarray(bns[0].moving_mean)
    # one step from zero: momentum 0 takes the batch mean, 0.99 takes 1 % of it
    assert np.abs(means[0.0]).max() > 1e-3
    np.testing.assert_allclose(means[0.99], 0.01 * means[0.0], rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="bn_momentum"):
        cnn.build_model(32, None, bn_momentum=1.0)


def test_saved_model_records_its_view_and_loads(tmp_path):
    model = cnn.build_model(32, None, dense_units=4, seed=0)
    mpath = cnn.save_model(model, tmp_path / "sub" / "m.keras", crop=0.5)
    assert mpath.is_file() and cnn.model_view(mpath) == {"image_size": 32, "crop": 0.5}
    assert not list(mpath.parent.glob(".*tmp*"))      # no temporary file left behind
    x = np.random.default_rng(2).integers(0, 255, (3, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(cnn.predict_proba(cnn.load_model(mpath), x), cnn.predict_proba(model, x), rtol=1e-6)
    # a model saved without a record: the whole image; broken records and files: clear errors
    model.save(tmp_path / "plain.keras")
    assert cnn.model_view(tmp_path / "plain.keras") == {"crop": 1.0}
    mpath.with_suffix(".json").write_text('{"image_size": 32, "crop": 3}')
    with pytest.raises(cnn.ModelError, match="crop must be"):
        cnn.model_view(mpath)
    with pytest.raises(cnn.ModelError, match="does not exist"):
        cnn.load_model(tmp_path / "none.keras")
    (tmp_path / "junk.keras").write_bytes(b"junk")
    with pytest.raises(cnn.ModelError, match="cannot load model"):
        cnn.load_model(tmp_path / "junk.keras")


def test_train_without_validation_runs_exact_epochs_and_saved_file_has_no_optimizer(tmp_path):
    import zipfile

    import h5py
    rng = np.random.default_rng(5)
    X = rng.integers(0, 255, (12, 32, 32, 3)).astype(np.uint8)
    y = np.r_[np.ones(4), np.zeros(8)].astype(int)
    cfg = cnn.TrainConfig(arm="scratch", image_size=32, batch_size=4, steps_per_epoch=1, head_epochs=1,
                          finetune_epochs=2, dense_units=4, patience=0, augment=False)
    model, hist = cnn.train(X, y, None, None, cfg)
    assert [h["epoch"] for h in hist] == [1, 2, 3] and all(h["val_loss"] is None for h in hist)
    assert cnn.kept_epochs(hist) == {"scratch": 3}           # no early stopping: the last epoch's weights
    with pytest.raises(ValueError, match="both validation images and labels"):
        cnn.train(X, y, X, None, cfg)
    path = cnn.save_model(model, tmp_path / "m.keras", crop=0.5, card={"threshold": 0.3})
    assert cnn.model_view(path)["threshold"] == 0.3
    with zipfile.ZipFile(path) as z:
        z.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as f:
        sizes = []
        f.visititems(lambda n, o: sizes.append(n) if isinstance(o, h5py.Dataset) and n.startswith("optimizer") else None)
    assert sizes == []                                        # inference only: no optimizer state
    np.testing.assert_allclose(cnn.predict_proba(cnn.load_model(path), X), cnn.predict_proba(model, X), rtol=1e-6)
    with pytest.raises(ValueError, match="must not redefine"):
        cnn.save_model(model, tmp_path / "n.keras", card={"crop": 0.2})

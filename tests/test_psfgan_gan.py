"""repro.astro.psfgan.gan: the stretch, the L1 weight map, the networks' shapes, training and inference."""
import doctest

import numpy as np
import pytest

from repro.astro.psfgan import gan


def test_docstring_examples():
    assert doctest.testmod(gan).failed == 0


def test_stretch_and_inverse():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (4, 16, 16)) + rng.uniform(0, 5, (4, 1, 1))
    scale = gan.image_scale(x)
    y = gan.stretch(x, scale)
    assert y.max() <= 1.0 + 1e-12
    assert np.allclose(y.reshape(4, -1).max(axis=1), 1.0)
    assert np.allclose(gan.unstretch(y, scale), x, rtol=1e-10, atol=1e-12)
    # golden value: arcsinh(50 * 0.1) / arcsinh(50)
    assert gan.stretch(0.1, 1.0) == pytest.approx(np.arcsinh(5.0) / np.arcsinh(50.0), rel=1e-12)
    assert gan.stretch(-0.2, 1.0) == pytest.approx(-gan.stretch(0.2, 1.0))
    with pytest.raises(gan.GANError):
        gan.stretch(1.0, 0.0)
    with pytest.raises(gan.GANError):
        gan.image_scale(np.zeros((4, 4)))


def test_prepare_shapes_and_clipping():
    x = np.ones((2, 8, 8))
    xs, ys, scale = gan.prepare(x, 3 * x)
    assert xs.shape == ys.shape == (2, 8, 8, 1) and xs.dtype == np.float32
    assert np.all(ys <= 1.0) and scale.shape == (2, 1, 1)
    assert gan.prepare(x)[1] is None


def test_center_weight_map():
    w = gan.center_weight_map(64, 5, 10.0)
    assert w.mean() == pytest.approx(1.0, rel=1e-6)
    assert w[32, 32] / w[0, 0] == pytest.approx(10.0)


def test_gan_shapes_training_and_inference_units(tmp_path):
    g = gan.PSFGAN(size=16, base_filters=4, max_filters=8, seed=0)
    assert g.generator.output_shape == (None, 16, 16, 1)
    assert g.discriminator.output_shape[-1] == 1
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (8, 16, 16)) + 1.0
    hist = g.fit(x, 0.5 * x, steps=1, batch_size=4, progress=False, checkpoint_dir=tmp_path / "ck")
    assert len(hist) == 1 and np.isfinite(hist[0]["g_l1"]) and hist[0]["step"] == 1
    out = gan.remove_point_source(g.generator, x)
    assert out.shape == x.shape and np.all(np.isfinite(out))
    # the output is in the input's units: |out| <= sinh(arcsinh(50)) * max / 50 = max
    assert np.abs(out).max() <= x.max() * (1 + 1e-6)
    assert gan.remove_point_source(g.generator, x[0]).shape == (16, 16)
    # the checkpoint loads into a fresh GAN and gives the same output
    h = gan.PSFGAN(size=16, base_filters=4, max_filters=8, seed=1)
    h.load(tmp_path / "ck")
    assert np.allclose(gan.remove_point_source(h.generator, x), out)
    with pytest.raises(gan.GANError, match="03_train"):
        h.load(tmp_path / "missing")
    with pytest.raises(gan.GANError):
        g.fit(x[:, :8, :8], x[:, :8, :8], steps=1, progress=False)
    with pytest.raises(gan.GANError, match="steps"):
        g.fit(x, x, steps=0, progress=False)
    with pytest.raises(gan.GANError, match="batch_size"):
        g.fit(x, x, steps=1, batch_size=9, progress=False)
    with pytest.raises(gan.GANError):
        gan.build_generator(size=24)


def test_validation_keeps_the_best_checkpoint_and_records_every_score(tmp_path):
    """A validation function whose scores go 3, 1, 2: the kept weights are those of the second evaluation."""
    g = gan.PSFGAN(size=16, base_filters=4, max_filters=8, seed=0)
    x = np.random.default_rng(0).normal(0, 0.05, (8, 16, 16)) + 1.0
    scores, outputs = iter([3.0, 1.0, 2.0]), []

    def validate(generator):
        outputs.append(gan.remove_point_source(generator, x))
        return {"score": next(scores), "extra": 7}

    hist = g.fit(x, 0.5 * x, steps=6, batch_size=4, eval_every=2, validate=validate, augment=True,
                 checkpoint_dir=tmp_path / "ck", progress=False)
    assert [h["step"] for h in hist] == [2, 4, 6] and [h["best"] for h in hist] == [True, True, False]
    assert g.best["step"] == 4 and hist[0]["extra"] == 7 and hist[-1]["epoch"] == 3.0
    h = gan.PSFGAN(size=16, base_filters=4, max_filters=8, seed=1)
    h.load(tmp_path / "ck")
    kept = gan.remove_point_source(h.generator, x)
    assert np.allclose(kept, outputs[1]) and not np.allclose(kept, outputs[2])


def test_same_seed_same_training():
    x = np.random.default_rng(0).normal(0, 0.05, (8, 16, 16)) + 1.0
    runs = []
    for _ in range(2):
        g = gan.PSFGAN(size=16, base_filters=4, max_filters=8, seed=3, lr_schedule="cosine", decay_steps=3)
        runs.append(g.fit(x, 0.5 * x, steps=3, batch_size=4, seed=5, augment=True, progress=False)[-1]["g_l1"])
    assert runs[0] == pytest.approx(runs[1], rel=1e-5)


def test_dihedral_is_the_psf_transform_on_every_image():
    from repro.astro.psfgan import transform
    a = np.random.default_rng(1).random((3, 5, 5, 1))
    for t in range(8):
        d = gan.dihedral(a, t)
        assert all(np.array_equal(d[i, :, :, 0], transform(a[i, :, :, 0], t)) for i in range(3))
    assert np.array_equal(gan.dihedral(a, 0), a)
    with pytest.raises(gan.GANError, match="0..7"):
        gan.dihedral(a, 8)


def test_learning_rate_schedules():
    assert gan.learning_rate_schedule(1e-3) == 1e-3
    sched = gan.learning_rate_schedule(2e-4, "cosine", 100, 0.05)
    assert float(sched(0)) == pytest.approx(2e-4)
    assert float(sched(50)) == pytest.approx(2e-4 * (0.05 + 0.95 * 0.5), rel=1e-4)
    assert float(sched(100)) == pytest.approx(1e-5, rel=1e-4)
    with pytest.raises(gan.GANError, match="unknown learning-rate schedule"):
        gan.learning_rate_schedule(1e-3, "step")
    with pytest.raises(gan.GANError, match="decay_steps"):
        gan.learning_rate_schedule(1e-3, "cosine", 0)

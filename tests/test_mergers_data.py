"""Tests of image loading, degradation and `predict` (CLI too) in repro.astro.mergers."""
import numpy as np
import pandas as pd
import pytest

from repro.astro import mergers as M

from .conftest import needs_data


def _write_jpeg(path, arr):
    import tensorflow as tf
    path.write_bytes(tf.io.encode_jpeg(tf.constant(arr, tf.uint8), quality=95).numpy())


@needs_data
def test_labels_and_sample():
    lab = M.load_labels()
    assert len(lab) == 2000 and lab["is_merger"].sum() == 115
    s = M.select_sample(lab, 10, 20, seed=1)
    assert len(s) == 30 and s["is_merger"].sum() == 10
    assert s.equals(M.select_sample(lab, 10, 20, seed=1))
    assert len(M.select_sample(lab)) == 2000
    with pytest.raises(ValueError, match="116 mergers"):
        M.select_sample(lab, 116, 0)


@needs_data
def test_decode_real_cutout_and_downsample():
    lab = M.load_labels()
    p = M.image_paths(lab.iloc[:2])
    img = M.decode_jpeg(p[0])
    assert img.shape == (423, 423, 3) and img.dtype == np.uint8
    small = M.load_images(p, 32)
    assert small.shape == (2, 32, 32, 3)
    # area averaging keeps the mean brightness
    assert small[0].mean() == pytest.approx(img.mean(), abs=1.0)


def test_corrupt_missing_and_empty_images_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.jpeg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(M.ImageError, match="corrupt"):
        M.decode_jpeg(bad)
    empty = tmp_path / "empty.jpeg"
    empty.write_bytes(b"")
    with pytest.raises(M.ImageError, match="empty"):
        M.decode_jpeg(empty)
    with pytest.raises(M.ImageError, match="does not exist"):
        M.decode_jpeg(tmp_path / "missing.jpeg")


def test_grey_images_become_rgb(tmp_path):
    import tensorflow as tf
    p = tmp_path / "g.png"
    p.write_bytes(tf.io.encode_png(tf.constant(np.full((10, 12, 1), 7, np.uint8))).numpy())
    img = M.decode_jpeg(p)
    assert img.shape == (10, 12, 3) and (img == 7).all()


def test_perturb_noise_and_blur():
    img = np.full((50, 50, 3), 100, np.uint8)
    img[20:30, 20:30] = 200
    n1 = M.perturb(img, "noise", 10, seed=1)
    assert n1.std() > 5 and np.array_equal(n1, M.perturb(img, "noise", 10, seed=1))
    assert abs((n1 - img).std() - 10) < 0.5
    b = M.perturb(img, "blur", 2, seed=0)
    assert b.max() < 200 and b.mean() == pytest.approx(img.mean(), abs=0.5)
    assert np.array_equal(M.perturb(img, "none", 0, seed=0), img.astype(np.float32))
    with pytest.raises(ValueError, match="kind"):
        M.perturb(img, "jpeg", 1, seed=0)
    assert M.condition_name("noise", 10.0) == "noise 10" and M.condition_name("none", 0) == "clean"


def test_cached_images_reuses_cache(tmp_path, monkeypatch):
    calls = []
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        _write_jpeg(folder / f"{i}.jpeg", np.full((40, 40, 3), 50 * i, np.uint8))
    sample = pd.DataFrame({"objid": ["0", "1", "2"], "filename": [f"{i}.jpeg" for i in range(3)]})
    monkeypatch.setattr(M, "image_paths", lambda s: (calls.append(1), [folder / f for f in s["filename"]])[1])
    a = M.cached_images(tmp_path / "c.npz", sample, {"s8": 8}, progress=False)
    b = M.cached_images(tmp_path / "c.npz", sample, {"s8": 8}, progress=False)
    assert len(calls) == 1 and np.array_equal(a["s8"], b["s8"]) and a["s8"].shape == (3, 8, 8, 3)
    M.cached_images(tmp_path / "c.npz", sample.iloc[:2], {"s8": 8}, progress=False)
    assert len(calls) == 2  # other objids: decoded again


def test_predict_folder_and_cli(tmp_path, capsys):
    model = M.build_model(32, None, dense_units=4, seed=0)
    mpath = tmp_path / "m.keras"
    model.save(mpath)
    imgs = tmp_path / "cutouts"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for name in ("b.jpeg", "a.jpg"):
        _write_jpeg(imgs / name, rng.integers(0, 255, (64, 64, 3)).astype(np.uint8))
    (imgs / "notes.txt").write_text("ignored")
    df = M.predict(mpath, imgs)
    assert df["file"].tolist() == ["a.jpg", "b.jpeg"]
    assert np.all((df.p_merger >= 0) & (df.p_merger <= 1))
    out = tmp_path / "p.csv"
    assert M.main(["predict", str(mpath), str(imgs), "--out", str(out)]) == 0
    got = pd.read_csv(out)
    np.testing.assert_allclose(got.p_merger, df.p_merger, rtol=1e-5)
    # errors: one line, exit status 2
    assert M.main(["predict", str(tmp_path / "none.keras"), str(imgs)]) == 2
    assert "model file" in capsys.readouterr().err
    (imgs / "c.jpeg").write_bytes(b"broken")
    assert M.main(["predict", str(mpath), str(imgs)]) == 2
    assert "c.jpeg is corrupt" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(M.ImageError, match="no .jpg"):
        M.predict(model, empty)


def test_center_crop_and_cnn_view():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 200          # a bright square in the middle
    c = M.center_crop(img, 0.2)
    assert c.shape == (20, 20, 3) and (c == 200).all()
    assert M.center_crop(img, 1.0) is img
    assert M.center_crop(np.stack([img, img]), 0.5).shape == (2, 50, 50, 3)
    v = M.cnn_view(img, 10, 0.2)
    assert v.shape == (10, 10, 3) and v.dtype == np.uint8 and (v == 200).all()
    # the whole frame, area-averaged: the square covers 4 % of it
    assert M.cnn_view(img, 10, 1.0).mean() == pytest.approx(0.04 * 200, abs=0.5)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="crop"):
            M.center_crop(img, bad)


def test_saved_model_records_its_crop_and_predict_uses_it(tmp_path, capsys):
    model = M.build_model(32, None, dense_units=4, seed=0)
    mpath = M.save_model(model, tmp_path / "m.keras", crop=0.5)
    assert mpath.is_file() and M.model_view(mpath) == {"image_size": 32, "crop": 0.5}
    assert not list(tmp_path.glob(".*tmp*"))      # no temporary file left behind
    imgs = tmp_path / "cutouts"
    imgs.mkdir()
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 255, (2, 96, 96, 3)).astype(np.uint8)
    for i, a in enumerate(arr):
        _write_jpeg(imgs / f"{i}.png", a)
    df = M.predict(mpath, imgs)
    files = sorted(imgs.iterdir())
    want = M.predict_proba(model, M.load_images(files, 32, crop=0.5))
    np.testing.assert_allclose(df.p_merger, want, rtol=1e-5)
    whole = M.predict(mpath, imgs, crop=1.0)      # an explicit crop overrides the record
    np.testing.assert_allclose(whole.p_merger, M.predict_proba(model, M.load_images(files, 32)), rtol=1e-5)
    out = tmp_path / "p.csv"
    assert M.main(["predict", str(mpath), str(imgs), "--out", str(out), "--crop", "1.0"]) == 0
    np.testing.assert_allclose(pd.read_csv(out).p_merger, whole.p_merger, rtol=1e-5)
    # a model saved without a record: the whole image; a broken record: a clear error
    model.save(tmp_path / "plain.keras")
    assert M.model_view(tmp_path / "plain.keras") == {"crop": 1.0}
    (tmp_path / "m.json").write_text("{not json")
    assert M.main(["predict", str(mpath), str(imgs)]) == 2
    assert "m.json: cannot read the image preparation" in capsys.readouterr().err
    (tmp_path / "m.json").write_text('{"image_size": 32, "crop": 3}')
    with pytest.raises(M.ModelError, match="crop must be"):
        M.model_view(mpath)

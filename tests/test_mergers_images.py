"""Tests of repro.astro.mergers.images: labels, sample, decoding, the CNN's view, caches, degradations."""
import numpy as np
import pandas as pd
import pytest

from repro.astro.mergers import images as im

from .conftest import needs_data


def _write_jpeg(path, arr):
    import tensorflow as tf
    path.write_bytes(tf.io.encode_jpeg(tf.constant(arr, tf.uint8), quality=95).numpy())


@needs_data
def test_labels_and_sample():
    lab = im.load_labels()
    assert len(lab) == 2000 and lab["is_merger"].sum() == 115
    s = im.select_sample(lab, 10, 20, seed=1)
    assert len(s) == 30 and s["is_merger"].sum() == 10
    assert s.equals(im.select_sample(lab, 10, 20, seed=1))
    assert len(im.select_sample(lab)) == 2000
    with pytest.raises(ValueError, match="116 mergers"):
        im.select_sample(lab, 116, 0)


@needs_data
def test_decode_real_cutout_and_downsample():
    lab = im.load_labels()
    p = im.image_paths(lab.iloc[:2])
    img = im.decode_jpeg(p[0])
    assert img.shape == (423, 423, 3) and img.dtype == np.uint8
    small = im.load_images(p, 32)
    assert small.shape == (2, 32, 32, 3)
    # area averaging keeps the mean brightness
    assert small[0].mean() == pytest.approx(img.mean(), abs=1.0)


def test_corrupt_missing_and_empty_images_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.jpeg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(im.ImageError, match="corrupt"):
        im.decode_jpeg(bad)
    empty = tmp_path / "empty.jpeg"
    empty.write_bytes(b"")
    with pytest.raises(im.ImageError, match="empty"):
        im.decode_jpeg(empty)
    with pytest.raises(im.ImageError, match="does not exist"):
        im.decode_jpeg(tmp_path / "missing.jpeg")


def test_grey_images_become_rgb(tmp_path):
    import tensorflow as tf
    p = tmp_path / "g.png"
    p.write_bytes(tf.io.encode_png(tf.constant(np.full((10, 12, 1), 7, np.uint8))).numpy())
    img = im.decode_jpeg(p)
    assert img.shape == (10, 12, 3) and (img == 7).all()


def test_load_images_of_different_sizes_need_a_size(tmp_path):
    _write_jpeg(tmp_path / "a.jpeg", np.full((20, 20, 3), 9, np.uint8))
    _write_jpeg(tmp_path / "b.jpeg", np.full((30, 30, 3), 9, np.uint8))
    files = sorted(tmp_path.iterdir())
    with pytest.raises(im.ImageError, match="different shapes"):
        im.load_images(files)
    assert im.load_images(files, 8).shape == (2, 8, 8, 3)
    assert im.load_images([], 8).shape == (0, 8, 8, 3)


def test_perturb_noise_and_blur():
    img = np.full((50, 50, 3), 100, np.uint8)
    img[20:30, 20:30] = 200
    n1 = im.perturb(img, "noise", 10, seed=1)
    assert n1.std() > 5 and np.array_equal(n1, im.perturb(img, "noise", 10, seed=1))
    assert abs((n1 - img).std() - 10) < 0.5
    b = im.perturb(img, "blur", 2, seed=0)
    assert b.max() < 200 and b.mean() == pytest.approx(img.mean(), abs=0.5)
    assert np.array_equal(im.perturb(img, "none", 0, seed=0), img.astype(np.float32))
    with pytest.raises(ValueError, match="kind"):
        im.perturb(img, "jpeg", 1, seed=0)


def test_cached_images_reuses_cache(tmp_path, monkeypatch):
    calls = []
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        _write_jpeg(folder / f"{i}.jpeg", np.full((40, 40, 3), 50 * i, np.uint8))
    sample = pd.DataFrame({"objid": ["0", "1", "2"], "filename": [f"{i}.jpeg" for i in range(3)]})
    monkeypatch.setattr(im, "image_paths", lambda s: (calls.append(1), [folder / f for f in s["filename"]])[1])
    a = im.cached_images(tmp_path / "c.npz", sample, {"s8": 8}, progress=False)
    b = im.cached_images(tmp_path / "c.npz", sample, {"s8": 8}, progress=False)
    assert len(calls) == 1 and np.array_equal(a["s8"], b["s8"]) and a["s8"].shape == (3, 8, 8, 3)
    im.cached_images(tmp_path / "c.npz", sample.iloc[:2], {"s8": 8}, progress=False)
    assert len(calls) == 2  # other objids: decoded again
    c = im.cached_images(tmp_path / "c.npz", sample.iloc[:2], {"s8": 8, "mean": lambda x: x.mean()}, progress=False)
    assert len(calls) == 3 and c["mean"].shape == (2,)  # a new representation: decoded again


def test_center_crop_and_cnn_view():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 200          # a bright square in the middle
    c = im.center_crop(img, 0.2)
    assert c.shape == (20, 20, 3) and (c == 200).all()
    assert im.center_crop(img, 1.0) is img
    assert im.center_crop(np.stack([img, img]), 0.5).shape == (2, 50, 50, 3)
    v = im.cnn_view(img, 10, 0.2)
    assert v.shape == (10, 10, 3) and v.dtype == np.uint8 and (v == 200).all()
    # the whole frame, area-averaged: the square covers 4 % of it
    assert im.cnn_view(img, 10, 1.0).mean() == pytest.approx(0.04 * 200, abs=0.5)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="crop"):
            im.center_crop(img, bad)

"""Tests of repro.astro.mergers.cli: `predict` on a folder of cutouts and `python -m repro.astro.mergers predict`."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from repro.astro import mergers as M


def _write_jpeg(path, arr):
    import tensorflow as tf
    path.write_bytes(tf.io.encode_jpeg(tf.constant(arr, tf.uint8), quality=95).numpy())


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
    with pytest.raises(M.ImageError, match="does not exist"):
        M.predict(model, tmp_path / "nowhere")


def test_saved_model_records_its_crop_and_predict_uses_it(tmp_path, capsys):
    model = M.build_model(32, None, dense_units=4, seed=0)
    mpath = M.save_model(model, tmp_path / "m.keras", crop=0.5)
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
    (tmp_path / "m.json").write_text("{not json")
    assert M.main(["predict", str(mpath), str(imgs)]) == 2
    assert "m.json: cannot read the image preparation" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli(tmp_path):
    res = subprocess.run([sys.executable, "-m", "repro.astro.mergers", "predict", str(tmp_path / "none.keras"),
                          str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("error: model file")

"""Tests of repro.astro.mergers.cli: `predict` on a folder of cutouts and `python -m repro.astro.mergers predict`."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from repro.astro import mergers as M

from .conftest import needs_data


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


def test_predict_uses_the_card_threshold_and_warns_without_one(tmp_path, capsys):
    model = M.build_model(32, None, dense_units=4, seed=0)
    imgs = tmp_path / "cutouts"
    imgs.mkdir()
    rng = np.random.default_rng(3)
    for i in range(6):
        _write_jpeg(imgs / f"{i}.jpg", rng.integers(0, 255, (48, 48, 3)).astype(np.uint8))
    p = M.predict_proba(model, M.load_images(sorted(imgs.iterdir()), 32))
    thr = float(p.min()) - 1e-4                # an untrained network scores everything near 0.5
    carded = M.save_model(model, tmp_path / "c.keras", crop=1.0, card={"threshold": thr})
    df = M.predict(carded, imgs)
    assert df.attrs["threshold"] == pytest.approx(thr, abs=1e-9)
    assert df.is_merger.sum() == 6                                              # the card's threshold
    assert M.predict(carded, imgs, threshold=1.0).is_merger.sum() == 0         # an explicit one wins
    plain = M.save_model(model, tmp_path / "p.keras", crop=1.0)
    with pytest.warns(UserWarning, match="no card with an operating threshold"):
        assert M.predict(plain, imgs).attrs["threshold"] == 0.5
    out = tmp_path / "o.csv"
    assert M.main(["predict", str(plain), str(imgs), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: the model has no card" in err and "threshold 0.5" in err
    assert M.main(["predict", str(carded), str(imgs), "--threshold", "1.5"]) == 2
    assert "threshold must be a probability" in capsys.readouterr().err
    (tmp_path / "c.json").write_text('{"image_size": 32, "crop": 1.0, "threshold": "high"}')
    with pytest.raises(M.ModelError, match="threshold must be a probability"):
        M.predict(carded, imgs)


@needs_data
def test_the_shipped_classifier_works_on_a_fresh_clone(tmp_path):
    """The record's classifier: its card has the promised keys and `predict` runs with it (no training)."""
    from pathlib import Path
    shipped = Path(__file__).resolve().parent.parent / M.SHIPPED_MODEL
    if not shipped.is_file():
        pytest.skip("no mergers record with a shipped model yet")
    card = M.model_view(shipped)
    for k in ("image_size", "crop", "threshold", "expected_false_positive_rate", "expected_true_positive_rate",
              "expected_precision", "trained_on"):
        assert k in card, k
    for k in ("expected_false_positive_rate", "expected_true_positive_rate"):
        lo, hi = card[k]["interval"]
        assert 0 <= lo <= card[k]["value"] <= hi <= 1
    assert shipped.stat().st_size <= 2 * 2 ** 20
    labels = M.load_labels()
    imgs = tmp_path / "cutouts"
    imgs.mkdir()
    for f in M.image_paths(labels.iloc[:3]):
        (imgs / f.name).symlink_to(f)
    df = M.predict(shipped, imgs)
    assert len(df) == 3 and df.attrs["threshold"] == card["threshold"]
    assert np.all((df.p_merger >= 0) & (df.p_merger <= 1))

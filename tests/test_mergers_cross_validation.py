"""Tests of repro.astro.mergers.cross_validation: splits, subsamples and the training loop."""
import numpy as np
import pytest

from repro.astro.mergers import cnn
from repro.astro.mergers import cross_validation as cv


def test_cv_splits_subsample_and_train_val():
    y = np.r_[np.ones(10), np.zeros(40)].astype(int)
    s = cv.cv_splits(y, 5, [0, 1000])
    assert len(s) == 10
    for r in (0, 1):
        te = np.concatenate([x["test"] for x in s if x["repeat"] == r])
        assert sorted(te) == list(range(50))
    assert all(y[x["test"]].sum() == 2 for x in s)
    assert not np.array_equal(s[0]["test"], s[5]["test"])  # repeats shuffle differently
    again = cv.cv_splits(y, 5, [1000])  # a repeat's folds depend on its seed only
    assert all(np.array_equal(a["test"], b["test"]) for a, b in zip(again, s[5:]))
    tr, va = cv.train_val_split(s[0]["train"], y, 0.25, 0)
    assert len(np.intersect1d(tr, va)) == 0 and y[va].sum() == 2
    sub = cv.subsample(tr, y, 0.1, 0)
    assert y[sub].sum() == 2 and set(sub) <= set(tr)
    assert np.array_equal(cv.subsample(tr, y, 1.0, 0), tr)
    with pytest.raises(ValueError, match="fraction"):
        cv.subsample(tr, y, 0.0, 0)
    with pytest.raises(ValueError, match="folds"):
        cv.cv_splits(np.r_[np.ones(2), np.zeros(10)].astype(int), 5, [0])


def test_run_cv_trains_both_arms_with_the_split_seed_and_saves_models(tmp_path):
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(8), np.zeros(16)].astype(int)
    X = rng.integers(0, 255, (24, 32, 32, 3)).astype(np.uint8)
    splits = cv.cv_splits(y, 2, [0])
    for s in splits:
        s["seed"] = 40 + s["fold"]
    cfg = cnn.TrainConfig(image_size=32, crop=0.5, batch_size=4, steps_per_epoch=1, head_epochs=1,
                          finetune_epochs=0, dense_units=4)
    preds, runs = cv.run_cv(X, y, splits, ["scratch"], cfg, val_fraction=0.25, fractions=(0.5, 1.0),
                            model_dir=tmp_path, progress=False)
    assert len(preds) == 2 * len(y)                     # two fractions x every image once
    assert sorted(preds[preds.fraction == 1.0]["index"]) == list(range(24))
    assert runs["seed"].tolist() == [40, 40, 41, 41]
    assert (runs[runs.fraction == 0.5]["n_train"].to_numpy() < runs[runs.fraction == 1.0]["n_train"].to_numpy()).all()
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == ["scratch_r0_f0.keras", "scratch_r0_f1.keras"]
    assert cnn.model_view(tmp_path / "scratch_r0_f0.keras")["crop"] == 0.5
    with pytest.raises(ValueError, match="seed"):
        cv.run_cv(X, y, cv.cv_splits(y, 2, [0]), ["scratch"], cfg, val_fraction=0.25, progress=False)

"""Tests of repro.papers.mergers, the driver of the `mergers` chain: seeds, setup, robustness glue."""
import numpy as np
import pandas as pd
import pytest

from repro import params
from repro.astro.mergers import cnn, images, morphology
from repro.errors import ChainError
from repro.papers import mergers as paper

from .conftest import needs_data


def _write_jpeg(path, arr):
    import tensorflow as tf
    path.write_bytes(tf.io.encode_jpeg(tf.constant(arr, tf.uint8), quality=95).numpy())


def test_seeds_keep_the_values_the_record_was_made_with():
    S = paper.setup(params.load("mergers", "smoke", {"seed": 7}))
    s = S.seeds
    assert (s.sample, s.examples, s.folds, s.training, s.degrade, s.bootstrap) == (7,) * 6
    assert s.robustness == 12                                   # seed + 5
    assert s.fold_shuffle(0) == 7 and s.fold_shuffle(2) == 2007  # seed + 1000 repeat
    assert s.split(1, 3) == 110                                 # seed + 100 repeat + fold
    assert S.threads == params.load("mergers", "smoke")["threads"]


def test_train_config_reads_every_training_parameter():
    P = params.load("mergers", "smoke")
    cfg = paper.setup(P).train_config
    assert isinstance(cfg, cnn.TrainConfig)
    for name in ("image_size", "crop", "batch_size", "steps_per_epoch", "head_epochs", "finetune_epochs", "head_lr",
                 "finetune_lr", "scratch_lr", "bn_momentum", "patience", "dense_units", "augment"):
        assert getattr(cfg, name) == P[name], name
    assert cfg.seed == P.seed


@needs_data
def test_sample_and_splits_carry_their_training_seeds():
    P = params.load("mergers", "smoke", {"n_repeats": 2})
    S = paper.setup(P)
    assert len(S.sample) == P.n_mergers + P.n_nonmergers and S.y.sum() == P.n_mergers
    assert len(S.splits) == P.n_folds * 2
    assert [s["seed"] for s in S.splits] == [S.seeds.split(s["repeat"], s["fold"]) for s in S.splits]
    with pytest.raises(ChainError, match="run"):
        S.images


def test_views_are_the_cnn_view_and_the_r_band():
    P = params.load("mergers", "smoke")
    S = paper.setup(P)
    img = np.random.default_rng(0).integers(0, 255, (60, 60, 3)).astype(np.uint8)
    np.testing.assert_array_equal(S.views["cnn"](img), images.cnn_view(img, P.image_size, P.crop))
    np.testing.assert_array_equal(S.views["rband"](img), morphology.r_band(img, P.morph_downsample))
    assert S.conditions == [("noise", float(v)) for v in P.noise_levels] + [("blur", float(b)) for b in P.blur_sigmas]


def test_robustness_rows_keep_every_merger():
    y = np.r_[np.zeros(10), np.ones(3), np.zeros(10)].astype(int)
    rows = paper.robustness_rows(y, 4, seed=5)
    assert len(rows) == 7 and set(np.flatnonzero(y == 1)) <= set(rows) and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, paper.robustness_rows(y, 4, seed=5))
    assert len(paper.robustness_rows(y, 100, seed=5)) == len(y)


def test_condition_names_and_degraded_images(tmp_path):
    assert paper.condition_name("noise", 10.0) == "noise 10" and paper.condition_name("none", 0) == "clean"
    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"{i}.jpeg")
        _write_jpeg(paths[-1], rng.integers(0, 255, (24, 24, 3)).astype(np.uint8))
    conds = [("noise", 20.0), ("blur", 2.0)]
    views = {"mean": lambda x: x.mean(), "same": lambda x: x}
    deg = paper.degraded_images(paths, conds, views, seed=3, progress=False)
    assert set(deg) == {(c, v) for c in ("noise 20", "blur 2") for v in views}
    assert deg[("noise 20", "same")].shape == (2, 24, 24, 3)
    native = images.decode_jpeg(paths[1])
    want = images.perturb(native, "noise", 20.0, seed=int(np.random.SeedSequence([3, 1]).generate_state(1)[0]))
    np.testing.assert_array_equal(deg[("noise 20", "same")][1], want)
    again = paper.degraded_images(paths, conds, views, seed=3, progress=False)
    np.testing.assert_array_equal(again[("noise 20", "same")], deg[("noise 20", "same")])


def test_predict_saved_scores_only_each_splits_test_rows(tmp_path):
    model = cnn.build_model(32, None, dense_units=4, seed=0)
    for f in (0, 1):
        cnn.save_model(model, tmp_path / f"scratch_r0_f{f}.keras")
    y = np.array([0, 1, 0, 1, 0, 0])
    splits = [{"repeat": 0, "fold": 0, "test": np.array([0, 1, 2])},
              {"repeat": 0, "fold": 1, "test": np.array([3, 4, 5])}]
    rows = np.array([1, 2, 4])
    X = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3)).astype(np.uint8)
    out = paper.predict_saved(tmp_path, ["scratch"], splits, {"clean": X, "noisy": X}, rows, y)
    assert len(out) == 6 and sorted(out[out.condition == "clean"]["index"]) == [1, 2, 4]
    assert out.groupby("fold").size().to_dict() == {0: 4, 1: 2}
    np.testing.assert_array_equal(out["y"], y[out["index"]])


def test_preds_to_arrays_turns_strings_into_unicode():
    a = paper.preds_to_arrays(pd.DataFrame({"arm": ["transfer", "scratch"], "p_merger": [0.1, 0.9]}))
    assert a["arm"].dtype.kind == "U" and a["p_merger"].dtype == float

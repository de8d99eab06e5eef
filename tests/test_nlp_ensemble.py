"""Training members, rare-class handling and combining members (:mod:`repro.nlp.ensemble`)."""
import numpy as np
import pytest

from repro.nlp import ensemble as ens
from repro.nlp import features as F


def test_balanced_weights_and_upsampling():
    y = np.array([0] * 8 + [1] * 2)
    w = ens.balanced_class_weights(y, 3)
    assert w[0] == pytest.approx(10 / 16) and w[1] == pytest.approx(10 / 4) and w[2] == 1.0
    idx = ens.upsample_indices(y, 0.5, np.random.default_rng(0))
    assert np.bincount(y[idx]).tolist() == [8, 4]
    assert len(ens.upsample_indices(y, 0.0, np.random.default_rng(0))) == 10


def test_combine_weights_long_spans_towards_the_rnn():
    pc, pr = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])
    p = ens.combine(pc, pr, np.array([5, 30]), rnn_weight_short=0.5, rnn_weight_long=0.8, long_span=15)
    assert p.tolist() == [[0.5, 0.5], [pytest.approx(0.2), pytest.approx(0.8)]]
    with pytest.raises(ValueError):
        ens.mean_probs([])


def test_member_runs_round_trip_and_ensembles():
    r = ens.MemberRuns()
    r.add("cnn", 3, [np.ones((2, 2)), np.zeros((1, 2))])
    back = ens.MemberRuns.from_arrays(r.to_arrays("main"), "main")
    assert back.seeds("cnn") == [3] and back.probs["cnn"][3][1].shape == (1, 2)
    r.add("rnn", 3, [np.zeros((2, 2)), np.ones((1, 2))])
    r.add("cnn", 4, [np.zeros((2, 2)), np.zeros((1, 2))])
    r.add("rnn", 4, [np.zeros((2, 2)), np.zeros((1, 2))])
    both = ens.member_probs(r, 3, 0, "cnn+rnn", np.array([1, 20]), long_span=15)
    assert both.tolist() == [[0.5, 0.5], [pytest.approx(0.3), pytest.approx(0.3)]]
    assert ens.ensemble_probs(r, [3, 4], 0, "cnn", np.array([1, 1])).tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_one_fit_per_kind_is_seeded():
    rng = np.random.default_rng(0)
    ml, n = 12, 16
    mat = rng.normal(size=(30, 8)).astype("float32")
    Xe = F.Encoded(rng.integers(0, 30, (n, ml)).astype("int32"), rng.integers(1, F.n_positions(ml), (n, ml)).astype("int32"),
                   rng.integers(1, F.n_positions(ml), (n, ml)).astype("int32"), np.full(n, 10))
    y = np.arange(n) % 3
    cfg = ens.TrainConfig(epochs=1, batch_size=8, filters=4, kernel_sizes=(2, 3), units=4, pos_dim=3, upsample_to=0.5)
    runs = ens.train_members(["cnn", "rnn"], [1], mat, F.n_positions(ml), 3, ml, Xe, y, [Xe.take(slice(0, 5))], cfg)
    for kind in ("cnn", "rnn"):
        [p] = runs.probs[kind][1]
        assert p.shape == (5, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
        [p2] = ens.fit_predict(kind, mat, F.n_positions(ml), 3, ml, Xe, y, [Xe.take(slice(0, 5))], cfg, seed=1)
        assert np.allclose(p, p2, atol=1e-5)  # same seed, same numbers

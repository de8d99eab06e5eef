"""Shapes of the Keras models, ensemble arithmetic, extraction helpers (fast)."""
import numpy as np
import pytest

from repro.nlp import ensemble as ens
from repro.nlp import experiment as X
from repro.nlp import extract, features as F, models
from repro.nlp.reader import Relation


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


def test_member_runs_round_trip():
    r = ens.MemberRuns()
    r.add("cnn", 3, [np.ones((2, 2)), np.zeros((1, 2))])
    back = ens.MemberRuns.from_arrays(r.to_arrays("main"), "main")
    assert back.seeds("cnn") == [3] and back.probs["cnn"][3][1].shape == (1, 2)


def test_directional_labels_and_type_probabilities():
    assert len(extract.DIRECTIONAL_LABELS) == 11 and "COMPARE:REVERSE" not in extract.DIRECTIONAL_LABELS
    r = extract.relation_from_label("USAGE:REVERSE", "A-1.1", "A-1.2")
    assert r == Relation("USAGE", "A-1.1", "A-1.2", True)
    assert extract.directional_label(Relation("COMPARE", "A-1.1", "A-1.2", True)) == "COMPARE"
    p = np.zeros((1, 11))
    p[0, extract.DIRECTIONAL_LABELS.index("USAGE")] = 0.3
    p[0, extract.DIRECTIONAL_LABELS.index("USAGE:REVERSE")] = 0.3
    p[0, extract.DIRECTIONAL_LABELS.index("RESULT")] = 0.4
    assert X.to_type_probs(p)[0].tolist() == pytest.approx([0.6, 0.4, 0, 0, 0, 0])


def test_threshold_and_predictions():
    p = np.array([0.9, 0.8, 0.3, 0.2])
    y = np.array([1, 1, 0, 0])
    t, f1 = extract.best_threshold(p, y)
    assert f1 == pytest.approx(1.0) and 0.3 < t <= 0.8
    assert extract.f1_at(p, y, 0.95) == 0.0
    tp = np.zeros((4, 11))
    tp[:, 1] = 1
    out = extract.predict_relations([("A-1.1", "A-1.2"), ("A-1.1", "A-1.3"), ("A-1.2", "A-1.3"), ("A-1.3", "A-1.4")],
                                    p, tp, 0.5)
    assert [x.line() for x in out] == ["USAGE(A-1.1,A-1.2,REVERSE)", "USAGE(A-1.1,A-1.3,REVERSE)"]


def test_place_among_cited_systems():
    assert X.place_among(99.0, "1.1") == "above every cited system"
    assert "ClaiRE" in X.place_among(72.0, "1.1") and "TakeLab" in X.place_among(72.0, "1.1")
    assert X.place_among(10.0, "1.1").startswith("below every")


@pytest.mark.parametrize("kind", ["cnn", "rnn"])
def test_model_shapes_and_one_fit(kind):
    rng = np.random.default_rng(0)
    ml, n = 12, 16
    mat = rng.normal(size=(30, 8)).astype("float32")
    Xe = F.Encoded(rng.integers(0, 30, (n, ml)).astype("int32"), rng.integers(1, F.n_positions(ml), (n, ml)).astype("int32"),
                   rng.integers(1, F.n_positions(ml), (n, ml)).astype("int32"), np.full(n, 10))
    y = np.arange(n) % 3
    cfg = ens.TrainConfig(epochs=1, batch_size=8, filters=4, kernel_sizes=(2, 3), units=4, pos_dim=3)
    [p] = ens.fit_predict(kind, mat, F.n_positions(ml), 3, ml, Xe, y, [Xe.take(slice(0, 5))], cfg, seed=1)
    assert p.shape == (5, 3)
    assert np.allclose(p.sum(1), 1, atol=1e-5)
    [p2] = ens.fit_predict(kind, mat, F.n_positions(ml), 3, ml, Xe, y, [Xe.take(slice(0, 5))], cfg, seed=1)
    assert np.allclose(p, p2, atol=1e-5)  # same seed, same numbers
    with pytest.raises(ValueError):
        models.build("mlp", mat, F.n_positions(ml), 3, ml)
    with pytest.raises(ValueError, match="cell"):
        models.build_rnn(mat, F.n_positions(ml), 3, ml, cell="elman")

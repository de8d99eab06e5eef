"""The Keras networks: inputs, output shapes, and errors (:mod:`repro.nlp.models`)."""
import numpy as np
import pytest

from repro.nlp import features as F, models


@pytest.mark.parametrize("kind, kw", [("cnn", {"filters": 4, "kernel_sizes": (2, 3)}),
                                      ("rnn", {"units": 4, "cell": "gru"})])
def test_models_read_three_inputs_and_give_probabilities(kind, kw):
    ml = 12
    mat = np.random.default_rng(0).normal(size=(30, 8)).astype("float32")
    m = models.build(kind, mat, F.n_positions(ml), 5, ml, pos_dim=3, **kw)
    assert [i.name for i in m.inputs] == ["words", "pos1", "pos2"]
    x = {k: np.ones((2, ml), "int32") for k in ("words", "pos1", "pos2")}
    p = np.asarray(m.predict(x, verbose=0))
    assert p.shape == (2, 5) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_unknown_kind_and_cell():
    mat = np.zeros((5, 4), "float32")
    with pytest.raises(ValueError, match="kind"):
        models.build("mlp", mat, F.n_positions(12), 3, 12)
    with pytest.raises(ValueError, match="cell"):
        models.build_rnn(mat, F.n_positions(12), 3, 12, cell="elman")

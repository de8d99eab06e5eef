"""Subtask 1: training examples with augmentation, type probabilities, key-pair predictions (:mod:`repro.nlp.classify`)."""
import numpy as np
import pytest

from repro.nlp import classify, extract
from repro.nlp import reader
from repro.nlp.reader import Relation

from .test_nlp_reader import GOOD, write


@pytest.fixture
def doc(tmp_path):
    return reader.read_abstracts(write(tmp_path, GOOD))["X00-1000"]


def test_encode_relations_with_augmentation(doc):
    rels = [reader.Relation("USAGE", "X00-1000.2", "X00-1000.4", False),
            reader.Relation("RESULT", "X00-1000.4", "X00-1000.5", True),
            reader.Relation("COMPARE", "X00-1000.1", "X00-1000.2", False)]
    split = reader.Split("toy", {doc.id: doc}, rels)
    vocab = {"<pad>": 0, "<unk>": 1, "<e1>": 2, "</e1>": 3, "<e2>": 4, "</e2>": 5, "parsing": 6}
    X0, y0 = classify.encode_relations([split], vocab, 12)
    Xa, ya = classify.encode_relations([split], vocab, 12, augment=True)
    L = extract.DIRECTIONAL_LABELS
    assert len(X0) == 3 and len(Xa) == 6
    np.testing.assert_array_equal(Xa.words[:3], X0.words)
    np.testing.assert_array_equal(ya[:3], y0)
    assert [L[i] for i in ya] == ["USAGE", "RESULT:REVERSE", "COMPARE", "USAGE:REVERSE", "RESULT", "COMPARE"]
    # second half: marker ids exchanged, positions exchanged, other words and lengths unchanged
    swap_ids = np.array([0, 1, 4, 5, 2, 3, 6])
    np.testing.assert_array_equal(Xa.words[3:], swap_ids[X0.words])
    np.testing.assert_array_equal(Xa.pos1[3:], X0.pos2)
    np.testing.assert_array_equal(Xa.pos2[3:], X0.pos1)
    np.testing.assert_array_equal(Xa.length[3:], X0.length)
    # the type (what subtasks 1.1 / 1.2 score) is unchanged by the swap
    assert [L[i].split(":")[0] for i in ya[3:]] == [L[i].split(":")[0] for i in y0]


def test_type_probabilities_sum_the_directions():
    p = np.zeros((1, 11))
    p[0, extract.DIRECTIONAL_LABELS.index("USAGE")] = 0.3
    p[0, extract.DIRECTIONAL_LABELS.index("USAGE:REVERSE")] = 0.3
    p[0, extract.DIRECTIONAL_LABELS.index("RESULT")] = 0.4
    assert classify.to_type_probs(p)[0].tolist() == pytest.approx([0.6, 0.4, 0, 0, 0, 0])


def test_key_pairs_keep_their_direction_and_get_our_type():
    key = [Relation("USAGE", "A-1.1", "A-1.2", True), Relation("RESULT", "A-1.3", "A-1.4", False)]
    p = np.zeros((2, 11))
    p[0, extract.DIRECTIONAL_LABELS.index("USAGE")] = 1.0          # direction ignored: the key's is kept
    p[1, extract.DIRECTIONAL_LABELS.index("TOPIC:REVERSE")] = 1.0
    pred = classify.classify_key_pairs(key, p)
    assert [r.line() for r in pred] == ["USAGE(A-1.1,A-1.2,REVERSE)", "TOPIC(A-1.3,A-1.4)"]
    assert classify.macro_f1(key, p) == pytest.approx(50.0)  # macro P = macro R = (100 + 0) / 2

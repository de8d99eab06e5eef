"""Entity-pair augmentation: the swapped view of a span (markers exchanged) and its flipped label."""
import numpy as np
import pytest

from repro.nlp import experiment as X
from repro.nlp import extract
from repro.nlp import features as F
from repro.nlp import reader

from .test_nlp_reader import GOOD, write

EXCHANGE = {"<e1>": "<e2>", "</e1>": "</e2>", "<e2>": "<e1>", "</e2>": "</e1>"}


@pytest.fixture
def doc(tmp_path):
    return reader.read_abstracts(write(tmp_path, GOOD))["X00-1000"]


def test_swapped_span_by_hand(doc):
    tok = F.tokenize(doc)
    s = F.pair_span(doc, tok, "X00-1000.2", "X00-1000.4", 40, swap=True)
    # text order kept; <e1> now marks the second entity ("parsing"), positions follow the markers
    assert s.tokens == ["<e2>", "statistical", "models", "</e2>", "for", "<e1>", "parsing", "</e1>"]
    assert s.pos1 == list(range(-5, 3)) and s.pos2 == list(range(8))
    assert s.length == 8


@pytest.mark.parametrize("pair, max_len", [(("X00-1000.2", "X00-1000.4"), 40),
                                           (("X00-1000.2", "X00-1000.3"), 40),   # nested entities
                                           (("X00-1000.1", "X00-1000.5"), 8),    # truncated
                                           (("X00-1000.1", "X00-1000.4"), 40)])  # title to abstract
def test_swap_is_a_marker_exchange(doc, pair, max_len):
    tok = F.tokenize(doc)
    a = F.pair_span(doc, tok, *pair, max_len)
    b = F.pair_span(doc, tok, *pair, max_len, swap=True)
    assert [EXCHANGE.get(t, t) for t in a.tokens] == b.tokens
    assert a.pos1 == b.pos2 and a.pos2 == b.pos1 and a.length == b.length
    assert b.tokens != a.tokens


def test_swapped_label():
    assert F.swapped_label("USAGE") == "USAGE:REVERSE"
    assert F.swapped_label("TOPIC:REVERSE") == "TOPIC"
    assert F.swapped_label("COMPARE") == "COMPARE"
    for lab in extract.DIRECTIONAL_LABELS:  # an involution on the model's label set
        assert F.swapped_label(lab) in extract.DIRECTIONAL_LABELS
        assert F.swapped_label(F.swapped_label(lab)) == lab
    with pytest.raises(ValueError, match="symmetric"):
        F.swapped_label("COMPARE:REVERSE")
    with pytest.raises(ValueError, match="directional"):
        F.swapped_label("USAGE:BACKWARDS")


def test_encode_relations_with_augmentation(doc):
    rels = [reader.Relation("USAGE", "X00-1000.2", "X00-1000.4", False),
            reader.Relation("RESULT", "X00-1000.4", "X00-1000.5", True),
            reader.Relation("COMPARE", "X00-1000.1", "X00-1000.2", False)]
    split = reader.Split("toy", {doc.id: doc}, rels)
    vocab = {"<pad>": 0, "<unk>": 1, "<e1>": 2, "</e1>": 3, "<e2>": 4, "</e2>": 5, "parsing": 6}
    X0, y0 = X.encode_relations([split], vocab, 12)
    Xa, ya = X.encode_relations([split], vocab, 12, augment=True)
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

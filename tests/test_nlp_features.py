"""Spans, markers, positions, encoding and the entity-pair augmentation view (:mod:`repro.nlp.features`)."""
import numpy as np
import pytest

from repro.nlp import extract
from repro.nlp import features as F
from repro.nlp import reader

from .test_nlp_reader import GOOD, write

EXCHANGE = {"<e1>": "<e2>", "</e1>": "</e2>", "<e2>": "<e1>", "</e2>": "</e1>"}


def test_span_markers_positions_and_truncation(tmp_path):
    d = reader.read_abstracts(write(tmp_path, GOOD))["X00-1000"]
    tok = F.tokenize(d)
    s = F.pair_span(d, tok, "X00-1000.2", "X00-1000.4", 40)
    assert s.tokens == ["<e1>", "statistical", "models", "</e1>", "for", "<e2>", "parsing", "</e2>"]
    assert s.pos1 == list(range(8)) and s.pos2 == list(range(-5, 3))
    nested = F.pair_span(d, tok, "X00-1000.2", "X00-1000.3", 40)
    assert nested.tokens == ["<e1>", "statistical", "<e2>", "models", "</e1>", "</e2>"]
    long = F.pair_span(d, tok, "X00-1000.1", "X00-1000.5", 8)
    assert len(long.tokens) == 8 and long.length > 8
    assert long.tokens[0] == "<e1>" and long.tokens[-1] == "</e2>"
    enc = F.encode([s, long], {"<pad>": 0, "<unk>": 1, "<e1>": 2}, 10)
    assert enc.words.shape == (2, 10) and enc.words[0, 0] == 2 and enc.words[0, 1] == 1 and enc.words[0, 9] == 0
    assert enc.pos1[0, 0] == 11 and enc.pos1[0, 9] == 0 and enc.pos1.max() < F.n_positions(10)
    with pytest.raises(ValueError, match="max_len"):
        F.pair_span(d, tok, "X00-1000.1", "X00-1000.5", 3)


def test_sentences_and_candidates(tmp_path):
    d = reader.read_abstracts(write(tmp_path, GOOD))["X00-1000"]
    tok = F.tokenize(d)
    assert tok.tokens[:2] == ["a", "parser"]
    sents = F.sentences(d, tok)
    assert len(sents) == 3  # title, "We use ... parsing .", "Results improve accuracy ."
    c = F.candidate_pairs(d, tok, max_distance=40)
    assert ("X00-1000.1", "X00-1000.2") not in c       # title vs abstract
    assert ("X00-1000.2", "X00-1000.4") in c
    assert ("X00-1000.4", "X00-1000.5") not in c       # across the full stop
    assert ("X00-1000.2", "X00-1000.4") not in F.candidate_pairs(d, tok, max_distance=3)


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


def test_span_lengths(doc):
    split = reader.Split("toy", {doc.id: doc}, [reader.Relation("USAGE", "X00-1000.2", "X00-1000.4", False)])
    np.testing.assert_array_equal(F.span_lengths(split), [8])

"""Subtask 2: directional labels, candidates, the extraction threshold, predictions (:mod:`repro.nlp.extract`)."""
import numpy as np
import pytest

from repro.nlp import extract, reader
from repro.nlp.reader import Relation

from .test_nlp_reader import GOOD, write


def test_directional_labels():
    assert len(extract.DIRECTIONAL_LABELS) == 11 and "COMPARE:REVERSE" not in extract.DIRECTIONAL_LABELS
    r = extract.relation_from_label("USAGE:REVERSE", "A-1.1", "A-1.2")
    assert r == Relation("USAGE", "A-1.1", "A-1.2", True)
    assert extract.directional_label(Relation("COMPARE", "A-1.1", "A-1.2", True)) == "COMPARE"
    assert extract.directional_label(Relation("TOPIC", "A-1.1", "A-1.2", True)) == "TOPIC:REVERSE"


def test_candidates_labelled_from_the_key(tmp_path):
    docs = reader.read_abstracts(write(tmp_path, GOOD))
    key = [Relation("USAGE", "X00-1000.2", "X00-1000.4", True)]
    c = extract.build_candidates(docs, key, 40, 40)
    assert ("X00-1000.2", "X00-1000.4") in c.pairs and len(c.spans) == len(c.pairs)
    assert c.related.sum() == 1 and c.labels[c.pairs.index(("X00-1000.2", "X00-1000.4"))] == "USAGE:REVERSE"
    assert extract.coverage(c, key) == 1.0
    assert extract.build_candidates(docs, None, 40, 40).related.sum() == 0


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

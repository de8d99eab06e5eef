"""Subtask 1 (classification of given pairs): training examples, type probabilities, predictions.

The models predict *directional* labels (:data:`repro.nlp.extract.DIRECTIONAL_LABELS`: every
type with and without REVERSE, COMPARE without), so that the same models can type the pairs of
subtask 2. In subtasks 1.1 and 1.2 the direction of every pair is given, so the probability of
a type is the sum over its two directions, and the prediction for a key pair is the most
probable type with the key's direction. Scores are the official macro-F1
(:mod:`repro.nlp.scorer`).

Example
-------
>>> import numpy as np
>>> from repro.nlp import classify, extract
>>> p = np.zeros((1, len(extract.DIRECTIONAL_LABELS)))
>>> p[0, extract.DIRECTIONAL_LABELS.index("USAGE")] = 0.3
>>> p[0, extract.DIRECTIONAL_LABELS.index("USAGE:REVERSE")] = 0.3
>>> p[0, extract.DIRECTIONAL_LABELS.index("RESULT")] = 0.4
>>> classify.to_type_probs(p).round(2).tolist()
[[0.6, 0.4, 0.0, 0.0, 0.0, 0.0]]
"""
from __future__ import annotations

import numpy as np

from . import features as F
from . import scorer
from .extract import DIRECTIONAL_LABELS, directional_label
from .reader import RELATION_TYPES, Relation

__all__ = ["encode_relations", "to_type_probs", "classify_key_pairs", "macro_f1"]


def encode_relations(splits_list, vocab, max_len, augment: bool = False) -> tuple[F.Encoded, np.ndarray]:
    """Spans and directional-label indices of every relation of ``splits_list``.

    ``augment=True`` (entity-pair augmentation): after the relations as they are, every relation
    again as its swapped view — markers exchanged so that ``<e1>`` marks the entity that comes
    second in the text — labelled with the flipped direction (``T`` <-> ``T:REVERSE``; COMPARE
    unchanged); see :mod:`repro.nlp.features`. The result has twice as many rows.

    Parameters
    ----------
    splits_list : list of repro.nlp.reader.Split
    vocab : dict of str to int
        Word ids.
    max_len : int
        Span length kept.
    augment : bool
        Add the swapped views.

    Returns
    -------
    X : repro.nlp.features.Encoded
    y : ndarray of int64
        Indices into :data:`repro.nlp.extract.DIRECTIONAL_LABELS`.
    """
    spans, y = [], []
    for s in splits_list:
        spans += F.relation_spans(s.docs, s.relations, max_len)
        y += [DIRECTIONAL_LABELS.index(directional_label(r)) for r in s.relations]
    if augment:
        for s in splits_list:
            spans += F.relation_spans(s.docs, s.relations, max_len, swap=True)
            y += [DIRECTIONAL_LABELS.index(F.swapped_label(directional_label(r))) for r in s.relations]
    return F.encode(spans, vocab, max_len), np.array(y, np.int64)


def to_type_probs(p_dir: np.ndarray) -> np.ndarray:
    """Directional-label probabilities summed over the direction: the six relation types.

    Parameters
    ----------
    p_dir : ndarray, shape (n, len(DIRECTIONAL_LABELS))

    Returns
    -------
    ndarray, shape (n, len(RELATION_TYPES))
    """
    out = np.zeros((len(p_dir), len(RELATION_TYPES)))
    for j, lab in enumerate(DIRECTIONAL_LABELS):
        out[:, RELATION_TYPES.index(lab.split(":")[0])] += p_dir[:, j]
    return out


def classify_key_pairs(key: list[Relation], p_dir: np.ndarray) -> list[Relation]:
    """Subtask 1 predictions: the key's pairs and directions (given in the task), our type.

    Parameters
    ----------
    key : list of repro.nlp.reader.Relation
    p_dir : ndarray, shape (len(key), len(DIRECTIONAL_LABELS))
        Directional-label probabilities of the key's pairs.

    Returns
    -------
    list of repro.nlp.reader.Relation
    """
    types = to_type_probs(p_dir).argmax(1)
    return [Relation(RELATION_TYPES[t], r.e1, r.e2, r.reverse) for t, r in zip(types, key)]


def macro_f1(key: list[Relation], p_dir: np.ndarray) -> float:
    """The official macro-F1 (percent) of :func:`classify_key_pairs` against ``key``.

    Parameters
    ----------
    key : list of repro.nlp.reader.Relation
    p_dir : ndarray, shape (len(key), len(DIRECTIONAL_LABELS))

    Returns
    -------
    float
    """
    return scorer.score(classify_key_pairs(key, p_dir), key).macro_f1

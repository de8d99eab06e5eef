"""Subtask 2: find the related entity pairs of an abstract, then classify them.

Candidates are the entity pairs of one sentence (see :func:`repro.nlp.features.candidate_pairs`).
A binary model scores each candidate (relation / none); candidates at or above a threshold —
chosen to maximise extraction F1 on abstracts held out from training — get a type *and* a
direction from a second model whose classes are the directional labels (``USAGE``,
``USAGE:REVERSE``, ..., ``COMPARE``, which has no direction).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import Span, candidate_pairs, pair_span, tokenize
from .reader import RELATION_TYPES, SYMMETRIC, Document, Relation

#: the classes of the models: every type, with and without REVERSE (COMPARE has no direction)
DIRECTIONAL_LABELS = tuple(x for t in RELATION_TYPES for x in ((t,) if t in SYMMETRIC else (t, f"{t}:REVERSE")))


def directional_label(r: Relation) -> str:
    """The relation's label with its direction: ``USAGE:REVERSE``, ``USAGE``, ``COMPARE``.

    Parameters
    ----------
    r : repro.nlp.reader.Relation

    Returns
    -------
    str
    """
    return f"{r.label}:REVERSE" if r.reverse and r.label not in SYMMETRIC else r.label


def relation_from_label(label: str, e1: str, e2: str) -> Relation:
    """The relation of a directional label on the pair ``(e1, e2)``.

    Parameters
    ----------
    label : str
        One of :data:`DIRECTIONAL_LABELS`.
    e1, e2 : str
        Entity ids in text order.

    Returns
    -------
    repro.nlp.reader.Relation
    """
    t, _, rev = label.partition(":")
    return Relation(t, e1, e2, rev == "REVERSE")


@dataclass
class Candidates:
    """The candidate pairs of some documents.

    Attributes
    ----------
    pairs : list of (str, str)
        Entity ids in text order.
    spans : list of repro.nlp.features.Span
    related : ndarray of int32
        1 where the key holds a relation for the pair (either direction).
    labels : list of str or None
        The key's directional label, ``None`` for unrelated pairs.
    """

    pairs: list[tuple[str, str]]
    spans: list[Span]
    related: np.ndarray
    labels: list[str | None]


def build_candidates(docs: dict[str, Document], relations: list[Relation] | None, max_len: int,
                     max_distance: int) -> Candidates:
    """Candidates of every document, labelled from ``relations`` when given.

    Parameters
    ----------
    docs : dict of str to repro.nlp.reader.Document
    relations : list of repro.nlp.reader.Relation or None
        The key (``None``: every candidate unrelated).
    max_len : int
        Span length kept.
    max_distance : int
        See :func:`repro.nlp.features.candidate_pairs`.

    Returns
    -------
    Candidates
    """
    gold = {r.pair: r for r in (relations or [])}
    pairs, spans, labels = [], [], []
    for d in docs.values():
        tok = tokenize(d)
        for e1, e2 in candidate_pairs(d, tok, max_distance):
            pairs.append((e1, e2))
            spans.append(pair_span(d, tok, e1, e2, max_len))
            r = gold.get((e1, e2))
            labels.append(directional_label(r) if r else None)
    related = np.array([lab is not None for lab in labels], dtype=np.int32)
    return Candidates(pairs, spans, related, labels)


def coverage(cands: Candidates, relations: list[Relation]) -> float:
    """Share of the key's relations that are among the candidates.

    Parameters
    ----------
    cands : Candidates
    relations : list of repro.nlp.reader.Relation

    Returns
    -------
    float
        NaN for an empty key.
    """
    s = set(cands.pairs)
    return float(np.mean([r.pair in s for r in relations])) if relations else float("nan")


def f1_at(p: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """F1 of the decisions ``p >= threshold`` against the labels ``y`` (a fraction, not percent).

    Parameters
    ----------
    p : ndarray
        Scores.
    y : ndarray of {0, 1}
    threshold : float

    Returns
    -------
    float
    """
    pred = p >= threshold
    tp = float(np.sum(pred & (y == 1)))
    if tp == 0:
        return 0.0
    prec, rec = tp / pred.sum(), tp / (y == 1).sum()
    return 2 * prec * rec / (prec + rec)


def best_threshold(p: np.ndarray, y: np.ndarray, grid=None) -> tuple[float, float]:
    """The threshold on ``p`` that maximises F1 against ``y`` (ties: the higher threshold).

    Parameters
    ----------
    p : ndarray
        Scores.
    y : ndarray of {0, 1}
    grid : array_like, optional
        Thresholds tried (default 0.05, 0.075, ..., 0.95).

    Returns
    -------
    threshold, f1 : float
    """
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3) if grid is None else np.asarray(grid)
    scores = [f1_at(np.asarray(p), np.asarray(y), t) for t in grid]
    best = max(range(len(grid)), key=lambda i: (scores[i], grid[i]))
    return float(grid[best]), float(scores[best])


def predict_relations(pairs, p_related: np.ndarray, type_probs: np.ndarray, threshold: float,
                      labels=DIRECTIONAL_LABELS) -> list[Relation]:
    """Relations for the candidates at or above ``threshold``, typed by ``type_probs``.

    Parameters
    ----------
    pairs : list of (str, str)
    p_related : ndarray, shape (n,)
        Probability that each pair is related.
    type_probs : ndarray, shape (n, len(labels))
        Probabilities of the directional labels.
    threshold : float
    labels : sequence of str
        The classes of ``type_probs``.

    Returns
    -------
    list of repro.nlp.reader.Relation
    """
    out = []
    for (e1, e2), pr, tp in zip(pairs, p_related, type_probs):
        if pr >= threshold:
            out.append(relation_from_label(labels[int(np.argmax(tp))], e1, e2))
    return out

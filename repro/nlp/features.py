"""Model inputs for a pair of entities: the token span from the first entity to the second,
with entity-marker tokens and each token's position relative to both entities.

For ``... the <e1> histogram </e1> of <e2> keywords </e2> ...`` the span is
``[<e1>, histogram, </e1>, of, <e2>, keywords, </e2>]``; the positions of ``of`` are +2
(from ``<e1>``) and -1 (from ``<e2>``). Spans longer than ``max_len`` keep their first and last
``max_len / 2`` tokens, so both entities stay in view.

**Entity-pair augmentation** (``swap=True``): the same span, still in text order, with the
entities' roles exchanged: ``<e1>`` ... ``</e1>`` now mark the *second* entity of the text and
``<e2>`` ... ``</e2>`` the first, and the positions follow the markers (``pos1`` is measured from
the new ``<e1>``). A relation's direction is read relative to the markers (not-REVERSE: the
relation's first argument is the entity marked ``<e1>``), so the swapped example carries the
flipped direction (:func:`swapped_label`; COMPARE is symmetric and keeps its label). At
prediction time spans are never swapped: ``<e1>`` marks the first entity, as in the task's files,
so the label read there means exactly what the key's REVERSE flag means.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import ReproError
from .reader import SYMMETRIC, Document, Relation, entity_number

MARKERS = ("<e1>", "</e1>", "<e2>", "</e2>")
PAD, UNK = 0, 1
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*|[^\sA-Za-z0-9]")
_DIGITS = re.compile(r"[0-9]")


def normalize(token: str) -> str:
    """Lower case; every digit becomes 0.

    Parameters
    ----------
    token : str

    Returns
    -------
    str
    """
    return _DIGITS.sub("0", token.lower())


@dataclass
class Tokenized:
    """The tokens of one document.

    Attributes
    ----------
    tokens : list of str
        Normalized tokens (:func:`normalize`).
    starts, ends : ndarray of int
        Character offsets of each token (end exclusive).
    sentence : ndarray of int
        Sentence index of each token.
    """

    tokens: list[str]
    starts: np.ndarray
    ends: np.ndarray
    sentence: np.ndarray

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """First and last token overlapping characters [start, end).

        Parameters
        ----------
        start, end : int
            Character offsets.

        Returns
        -------
        (int, int)

        Raises
        ------
        repro.errors.ReproError
            No token covers the characters.
        """
        idx = np.nonzero((self.starts < end) & (self.ends > start))[0]
        if len(idx) == 0:
            raise ReproError(f"no token covers characters {start}..{end}")
        return int(idx[0]), int(idx[-1])


def tokenize(doc: Document) -> Tokenized:
    """Tokens of a document with offsets and sentence numbers.

    A sentence ends at ``.``, ``?`` or ``!`` outside any entity when the next token starts
    with a capital letter, and at the end of the title; never inside an entity. (Line breaks
    are not boundaries: the abstracts break lines in mid-sentence.)

    Parameters
    ----------
    doc : repro.nlp.reader.Document

    Returns
    -------
    Tokenized
    """
    ms = list(_TOKEN.finditer(doc.text))
    starts = np.array([m.start() for m in ms], dtype=np.int64)
    ends = np.array([m.end() for m in ms], dtype=np.int64)
    inside = np.zeros(len(ms), dtype=bool)
    for e in doc.entities.values():
        inside |= (starts >= e.start) & (ends <= e.end)
    sent = np.zeros(len(ms), dtype=np.int64)
    s = 0
    for i, m in enumerate(ms):
        sent[i] = s
        if i + 1 < len(ms):
            nxt = ms[i + 1].group()
            title_end = m.start() < doc.abstract_start <= ms[i + 1].start()
            if title_end or (m.group() in ".?!" and not inside[i] and nxt[:1].isupper()):
                s += 1
    return Tokenized([normalize(m.group()) for m in ms], starts, ends, sent)


def sentences(doc: Document, tok: Tokenized | None = None) -> list[list[str]]:
    """The document as lists of normalized tokens, one per sentence (embedding training).

    Parameters
    ----------
    doc : repro.nlp.reader.Document
    tok : Tokenized, optional
        Its tokens (computed when not given).

    Returns
    -------
    list of list of str
    """
    tok = tok or tokenize(doc)
    out: dict[int, list[str]] = {}
    for t, s in zip(tok.tokens, tok.sentence):
        out.setdefault(int(s), []).append(t)
    return list(out.values())


def text_sentences(text: str) -> list[list[str]]:
    """Plain text (no entities) as lists of normalized tokens, one per sentence.

    The tokens and sentence ends of :func:`tokenize` (a ``.``, ``?`` or ``!`` followed by a token
    that starts with a capital letter), for unlabelled text such as the ACL Anthology abstracts.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of list of str
        Empty for text without tokens.
    """
    out: list[list[str]] = []
    cur: list[str] = []
    ms = [m.group() for m in _TOKEN.finditer(text)]
    for i, t in enumerate(ms):
        cur.append(normalize(t))
        if t in ".?!" and i + 1 < len(ms) and ms[i + 1][:1].isupper():
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


@dataclass
class Span:
    """The marked span of one entity pair.

    Attributes
    ----------
    tokens : list of str
        Tokens with the entity markers, truncated to ``max_len``.
    pos1, pos2 : list of int
        Each token's offset from ``<e1>`` and from ``<e2>``.
    length : int
        Tokens (markers included) before truncation.
    """

    tokens: list[str]
    pos1: list[int]
    pos2: list[int]
    length: int


def pair_span(doc: Document, tok: Tokenized, e1: str, e2: str, max_len: int, swap: bool = False) -> Span:
    """The marked span of ``(e1, e2)`` (``e1`` first in the text), truncated to ``max_len``.

    ``swap=True``: the entity-pair augmentation view (module docstring): the markers are
    exchanged, so ``<e1>`` marks ``e2``; the tokens stay in text order.

    Parameters
    ----------
    doc : repro.nlp.reader.Document
    tok : Tokenized
        Its tokens.
    e1, e2 : str
        Entity ids, ``e1`` first in the text.
    max_len : int
        Tokens kept (at least 6).
    swap : bool
        The augmentation view.

    Returns
    -------
    Span

    Raises
    ------
    ValueError
        ``max_len`` < 6.
    """
    if max_len < 6:
        raise ValueError(f"max_len must be at least 6, got {max_len}")
    a, b = doc.entities[e1], doc.entities[e2]
    a0, a1 = tok.token_range(a.start, a.end)
    b0, b1 = tok.token_range(b.start, b.end)
    lo, hi = min(a0, b0), max(a1, b1)
    inserts = {}  # token index -> (markers before, markers after)
    marks_a, marks_b = (MARKERS[2:], MARKERS[:2]) if swap else (MARKERS[:2], MARKERS[2:])
    for (t0, t1), (open_, close) in (((a0, a1), marks_a), ((b0, b1), marks_b)):
        inserts.setdefault(t0, ([], []))[0].append(open_)
        inserts.setdefault(t1, ([], []))[1].append(close)
    seq: list[str] = []
    for i in range(lo, hi + 1):
        before, after = inserts.get(i, ([], []))
        seq += before + [tok.tokens[i]] + after
    length = len(seq)
    if len(seq) > max_len:
        h = max_len // 2
        seq = seq[:h] + seq[len(seq) - (max_len - h):]
    i1 = seq.index("<e1>") if "<e1>" in seq else 0
    i2 = seq.index("<e2>") if "<e2>" in seq else len(seq) - 1
    return Span(seq, [i - i1 for i in range(len(seq))], [i - i2 for i in range(len(seq))], length)


@dataclass
class Encoded:
    """Spans as the models read them.

    Attributes
    ----------
    words : ndarray of int32, shape (n, max_len)
        Word ids, 0 = padding.
    pos1, pos2 : ndarray of int32, shape (n, max_len)
        Position ids, 0 = padding.
    length : ndarray, shape (n,)
        Span lengths before truncation.
    """

    words: np.ndarray
    pos1: np.ndarray
    pos2: np.ndarray
    length: np.ndarray

    def __len__(self):
        return len(self.length)

    def inputs(self) -> dict:
        """The three model inputs by name (``words``, ``pos1``, ``pos2``).

        Returns
        -------
        dict of str to ndarray
        """
        return {"words": self.words, "pos1": self.pos1, "pos2": self.pos2}

    def take(self, idx) -> "Encoded":
        """The rows ``idx`` (an index array or slice).

        Parameters
        ----------
        idx : array_like of int or slice

        Returns
        -------
        Encoded
        """
        return Encoded(self.words[idx], self.pos1[idx], self.pos2[idx], self.length[idx])


def n_positions(max_len: int) -> int:
    """Size of the position vocabulary: offsets -max_len..max_len plus padding.

    Parameters
    ----------
    max_len : int

    Returns
    -------
    int
    """
    return 2 * max_len + 2


def encode(spans: list[Span], vocab: dict[str, int], max_len: int) -> Encoded:
    """Word ids (unknown words -> UNK) and shifted position ids, zero-padded to ``max_len``.

    Parameters
    ----------
    spans : list of Span
    vocab : dict of str to int
        Word ids.
    max_len : int

    Returns
    -------
    Encoded
    """
    n = len(spans)
    w = np.zeros((n, max_len), np.int32)
    p1 = np.zeros((n, max_len), np.int32)
    p2 = np.zeros((n, max_len), np.int32)
    for i, s in enumerate(spans):
        k = len(s.tokens)
        w[i, :k] = [vocab.get(t, UNK) for t in s.tokens]
        p1[i, :k] = np.clip(s.pos1, -max_len, max_len) + max_len + 1
        p2[i, :k] = np.clip(s.pos2, -max_len, max_len) + max_len + 1
    return Encoded(w, p1, p2, np.array([s.length for s in spans], np.int32))


def relation_spans(docs: dict[str, Document], relations: list[Relation], max_len: int,
                   cache: dict | None = None, swap: bool = False) -> list[Span]:
    """Spans of the entity pairs of ``relations``.

    Parameters
    ----------
    docs : dict of str to repro.nlp.reader.Document
    relations : list of repro.nlp.reader.Relation
    max_len : int
    cache : dict, optional
        Tokenizations by document id, filled as documents are tokenized.
    swap : bool
        The augmentation views (markers exchanged, see :func:`pair_span`).

    Returns
    -------
    list of Span
    """
    cache = {} if cache is None else cache
    out = []
    for r in relations:
        d = docs[r.doc_id]
        if d.id not in cache:
            cache[d.id] = tokenize(d)
        out.append(pair_span(d, cache[d.id], r.e1, r.e2, max_len, swap=swap))
    return out


def swapped_label(label: str, symmetric=SYMMETRIC) -> str:
    """The directional label of the swapped view: ``T`` <-> ``T:REVERSE``; symmetric types keep theirs.

    Parameters
    ----------
    label : str
        ``T`` or ``T:REVERSE``.
    symmetric : set of str
        Types without a direction.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Not a directional label, or REVERSE on a symmetric type.
    """
    t, _, rev = label.partition(":")
    if rev not in ("", "REVERSE"):
        raise ValueError(f"not a directional label: {label!r}")
    if t in symmetric:
        if rev:
            raise ValueError(f"{t} is symmetric and has no REVERSE direction: {label!r}")
        return label
    return t if rev else f"{t}:REVERSE"


def candidate_pairs(doc: Document, tok: Tokenized | None = None, max_distance: int = 40) -> list[tuple[str, str]]:
    """Subtask 2 candidates: entity pairs in one sentence, in id order, at most ``max_distance``
    tokens apart (from the first entity's first token to the second's last).

    Parameters
    ----------
    doc : repro.nlp.reader.Document
    tok : Tokenized, optional
        Its tokens (computed when not given).
    max_distance : int

    Returns
    -------
    list of (str, str)
        Entity-id pairs.
    """
    tok = tok or tokenize(doc)
    ents = sorted(doc.entities.values(), key=lambda e: e.number)
    rng = {e.id: tok.token_range(e.start, e.end) for e in ents}
    out = []
    for i, a in enumerate(ents):
        for b in ents[i + 1:]:
            (a0, a1), (b0, b1) = rng[a.id], rng[b.id]
            if tok.sentence[a0] != tok.sentence[b0]:
                continue
            if max(a1, b1) - min(a0, b0) + 1 > max_distance:
                continue
            out.append((a.id, b.id))
    return out


def span_lengths(split, max_len: int = 10_000) -> np.ndarray:
    """Length (tokens, markers included, before truncation) of the span of every relation.

    Parameters
    ----------
    split : repro.nlp.reader.Split
    max_len : int
        Truncation (irrelevant to the lengths returned; large by default).

    Returns
    -------
    ndarray of int
    """
    return np.array([s.length for s in relation_spans(split.docs, split.relations, max_len)])

"""The ``semeval`` chain's steps, so its notebooks stay thin: data, encodings, runs, scores."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import features as F
from . import scorer
from .ensemble import MemberRuns, ensemble_probs, member_probs
from .extract import DIRECTIONAL_LABELS, directional_label
from .reader import RELATION_TYPES, FILES, Relation, Split, load_split

#: published test-set scores of the paper (Rotsztejn, Hollenstein & Zhang 2018, Table 4 / abstract)
PAPER = {"1.1": 81.7, "1.2": 90.4, "2_extraction": 48.8, "2_classification": 49.3}


def load_all() -> dict[tuple[str, str], Split]:
    return {k: load_split(*k) for k in FILES}


def statistics(splits) -> pd.DataFrame:
    """One row per split: abstracts, entities, relations, REVERSE share, relation-type counts."""
    rows = []
    for (part, sub), s in splits.items():
        row = {"split": f"{part} {sub}", "abstracts": len(s.docs),
               "entities": sum(len(d.entities) for d in s.docs.values()),
               "relations": len(s.relations),
               "reverse_share": float(np.mean([r.reverse for r in s.relations]))}
        for t in RELATION_TYPES:
            row[t] = sum(r.label == t for r in s.relations)
        rows.append(row)
    return pd.DataFrame(rows).set_index("split")


def span_lengths(split: Split, max_len: int = 10_000) -> np.ndarray:
    return np.array([s.length for s in F.relation_spans(split.docs, split.relations, max_len)])


def corpus(splits) -> list[list[str]]:
    """Tokenized sentences of every distinct abstract (training and test text, no labels)."""
    seen, out = set(), []
    for s in splits.values():
        for d in s.docs.values():
            if d.id not in seen:
                seen.add(d.id)
                out += F.sentences(d)
    return out


def subsample_docs(split: Split, fraction: float, seed: int) -> Split:
    """A random ``fraction`` of the abstracts of ``split`` with their relations (smoke runs)."""
    if fraction >= 1.0:
        return split
    rng = np.random.default_rng(seed)
    ids = sorted(split.docs)
    keep = set(rng.choice(ids, max(2, int(round(fraction * len(ids)))), replace=False))
    return Split(split.name, {k: v for k, v in split.docs.items() if k in keep},
                 [r for r in split.relations if r.doc_id in keep])


@dataclass
class ClassificationData:
    X: F.Encoded
    y: np.ndarray  # directional label index
    tests: dict    # name -> F.Encoded


def encode_relations(splits_list, vocab, max_len, augment: bool = False) -> tuple[F.Encoded, np.ndarray]:
    """Spans and directional-label indices of every relation of ``splits_list``.

    ``augment=True`` (entity-pair augmentation): after the relations as they are, every relation
    again as its swapped view — markers exchanged so that ``<e1>`` marks the entity that comes
    second in the text — labelled with the flipped direction (``T`` <-> ``T:REVERSE``; COMPARE
    unchanged); see :mod:`repro.nlp.features`. The result has twice as many rows.
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
    """Directional-label probabilities summed over the direction -> the six relation types."""
    out = np.zeros((len(p_dir), len(RELATION_TYPES)))
    for j, lab in enumerate(DIRECTIONAL_LABELS):
        out[:, RELATION_TYPES.index(lab.split(":")[0])] += p_dir[:, j]
    return out


def classify_key_pairs(key: list[Relation], p_dir: np.ndarray) -> list[Relation]:
    """Subtask 1 predictions: the key's pairs and directions (given in the task), our type."""
    types = to_type_probs(p_dir).argmax(1)
    return [Relation(RELATION_TYPES[t], r.e1, r.e2, r.reverse) for t, r in zip(types, key)]


def macro_f1(key: list[Relation], p_dir: np.ndarray) -> float:
    return scorer.score(classify_key_pairs(key, p_dir), key).macro_f1


def per_seed_table(runs: MemberRuns, key, test: int, length, weights, seeds=None) -> pd.DataFrame:
    """Macro-F1 of every seed's CNN, RNN and CNN+RNN on one test set."""
    seeds = runs.seeds("cnn") if seeds is None else seeds
    rows = []
    for s in seeds:
        rows.append({"seed": s, **{w: macro_f1(key, member_probs(runs, s, test, w, length, **weights))
                                   for w in ("cnn", "rnn", "cnn+rnn")}})
    return pd.DataFrame(rows).set_index("seed")


def ensemble_table(runs: MemberRuns, key, test: int, length, weights, seeds=None) -> dict:
    seeds = runs.seeds("cnn") if seeds is None else seeds
    return {w: macro_f1(key, ensemble_probs(runs, seeds, test, w, length, **weights))
            for w in ("cnn", "rnn", "cnn+rnn")}


def ablation_effects(main: MemberRuns, ablated: dict[str, MemberRuns], key, test_main: int, test_ablated: int,
                     length, weights, seeds) -> pd.DataFrame:
    """Per seed, macro-F1 of the full setting minus that of each ablated setting (CNN+RNN)."""
    rows = []
    for name, runs in ablated.items():
        for s in seeds:
            full = macro_f1(key, member_probs(main, s, test_main, "cnn+rnn", length, **weights))
            abl = macro_f1(key, member_probs(runs, s, test_ablated, "cnn+rnn", length, **weights))
            rows.append({"ablation": name, "seed": s, "full": full, "ablated": abl, "gain": full - abl})
    return pd.DataFrame(rows)


#: published 2018 test-set scores we can cite (official metric, percent); None = not reported there.
#: ETH-DS3Lab: the paper itself. ClaiRE: Hettinger et al. (2018), SemEval, abstract.
#: TakeLab: Gluhak et al. (2018), SemEval, abstract (their SVM; "ranked 7th among 28 submissions on
#: subtask 1.1 and 7th among 20 submissions on subtask 1.2").
PARTICIPANTS = pd.DataFrame(
    [("ETH-DS3Lab (Rotsztejn et al., this paper)", 81.7, 90.4, 48.8, 49.3, "1st in 1.1, 1.2 and 2-C; 2nd in 2-E"),
     ("ClaiRE (Hettinger et al.)", 74.89, 78.39, None, None, ""),
     ("TakeLab (Gluhak et al.)", 69.98, 75.69, None, None, "7th of 28 (1.1), 7th of 20 (1.2)")],
    columns=["system", "1.1", "1.2", "2_extraction", "2_classification", "published rank"]).set_index("system")


def place_among(ours: float, column: str, table: pd.DataFrame = PARTICIPANTS) -> str:
    """Where ``ours`` falls among the cited scores of ``column`` (words)."""
    col = table[column].dropna().sort_values(ascending=False)
    above = [f"{n} ({v:.1f})" for n, v in col.items() if v > ours]
    below = [f"{n} ({v:.1f})" for n, v in col.items() if v <= ours]
    if not above:
        return "above every cited system"
    if not below:
        return f"below every cited system (lowest cited: {below[-1] if below else above[-1]})"
    return f"between {above[-1]} and {below[0]}"

"""A Python scorer that follows the official SemEval-2018 Task 7 scorer (Perl, v1.x) rule by rule.

Written from the scorer's documented behaviour; no code is taken from it.

*Instances* are identified by their argument ids *with* the direction:
``USAGE(A.1,A.2,REVERSE)`` is the instance ``A.1,A.2,REVERSE``.

Classification (subtasks 1.1, 1.2, and the classification part of 2)
    - a predicted instance whose id is not in the key (wrong direction, a pair the key does
      not hold, unknown entities) is *wrong*: it counts as a proposal of its label but can
      never be correct;
    - a key instance without a prediction is *skipped* (it lowers recall only);
    - for every label ``c`` of the key: P_c = correct_c / proposed_c, R_c = correct_c / gold_c,
      F1_c their harmonic mean (0 when undefined);
    - macro P and macro R are the means of P_c and R_c over the labels of the key, and the
      **official score is macro-F1 = the harmonic mean of macro P and macro R** (not the mean
      of the F1_c, which we report as ``mean_class_f1``);
    - micro P/R/F1 pool the counts of the key's labels.

Extraction (subtask 2)
    - a prediction is an (unordered) entity pair; direction and label do not matter; a line
      with no label, ``(A.1,A.2)``, is an extraction-only prediction;
    - P = correct pairs / predicted pairs, R = correct pairs / key pairs, F1.

Two prediction lines for the same instance are an error (the official scorer stops too).
All scores are percentages.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import ReproError
from .reader import Document, Relation


class ScorerError(ReproError, ValueError):
    """Predictions or key that cannot be scored (duplicates, unknown entities in strict mode)."""


def instance_id(r: Relation) -> str:
    """The scorer's id of a relation: its arguments with the direction (``A.1,A.2,REVERSE``).

    Parameters
    ----------
    r : repro.nlp.reader.Relation

    Returns
    -------
    str
    """
    return f"{r.e1},{r.e2}" + (",REVERSE" if r.reverse else "")


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)


@dataclass
class Scores:
    """What :func:`score` measured (percentages).

    Attributes
    ----------
    extraction : dict
        ``correct``, ``predicted``, ``gold``, ``p``, ``r``, ``f1`` of the unordered pairs.
    classification : dict or None
        Counts, micro and macro P/R/F1, ``coverage`` (``None`` without labelled predictions).
    per_class : dict
        By label of the key: ``correct``, ``proposed``, ``gold``, ``p``, ``r``, ``f1``.
    confusion : dict
        ``confusion[predicted][gold]``: counts over the instances of the key.
    """

    extraction: dict
    classification: dict | None
    per_class: dict = field(default_factory=dict)
    confusion: dict = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        """The official score of the classification subtasks (NaN without labelled predictions)."""
        return self.classification["macro_f1"] if self.classification else float("nan")

    @property
    def extraction_f1(self) -> float:
        """The official score of the extraction subtask."""
        return self.extraction["f1"]

    def report(self) -> str:
        """A short text report in the spirit of the official one.

        Returns
        -------
        str
        """
        e = self.extraction
        lines = [f"extraction: P = {e['correct']}/{e['predicted']} = {e['p']:.2f}%  "
                 f"R = {e['correct']}/{e['gold']} = {e['r']:.2f}%  F1 = {e['f1']:.2f}%"]
        c = self.classification
        if c is None:
            lines.append("classification: no labelled predictions")
            return "\n".join(lines)
        lines.append(f"classification: {c['proposed']} predictions, {c['wrong']} not in the key, "
                     f"{c['skipped']} key instances without a prediction, coverage {c['coverage']:.2f}%")
        for lab, v in self.per_class.items():
            lines.append(f"  {lab:>14}: P = {v['correct']}/{v['proposed']} = {v['p']:6.2f}%  "
                         f"R = {v['correct']}/{v['gold']} = {v['r']:6.2f}%  F1 = {v['f1']:6.2f}%")
        lines.append(f"micro: P = {c['micro_p']:.2f}%  R = {c['micro_r']:.2f}%  F1 = {c['micro_f1']:.2f}%")
        lines.append(f"macro: P = {c['macro_p']:.2f}%  R = {c['macro_r']:.2f}%  F1 = {c['macro_f1']:.2f}% (official)")
        return "\n".join(lines)


def _index(relations, what: str, labelled_only: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in relations:
        if r.label is None:
            if labelled_only:
                raise ScorerError(f"{what}: {r.line()} has no relation type")
            continue
        iid = instance_id(r)
        if iid in out:
            raise ScorerError(f"{what}: instance {iid} is given twice ({out[iid]} and {r.label})")
        out[iid] = r.label
    return out


def check_known_entities(relations, docs: dict[str, Document], what: str = "predictions") -> None:
    """Strict mode: check that every entity id of ``relations`` exists in ``docs``.

    Parameters
    ----------
    relations : iterable of repro.nlp.reader.Relation
    docs : dict of str to repro.nlp.reader.Document
    what : str
        Named in the error message.

    Raises
    ------
    ScorerError
        An unknown entity (named).
    """
    for r in relations:
        d = docs.get(r.doc_id)
        for e in (r.e1, r.e2):
            if d is None or e not in d.entities:
                raise ScorerError(f"{what}: {r.line()} names unknown entity {e}")


def score(predictions, key, docs: dict[str, Document] | None = None) -> Scores:
    """Score ``predictions`` against ``key`` (lists of :class:`~repro.nlp.reader.Relation`).

    Parameters
    ----------
    predictions, key : iterable of repro.nlp.reader.Relation
        Predictions may be unlabelled (extraction only).
    docs : dict of str to repro.nlp.reader.Document, optional
        The abstracts: predictions naming unknown entities then raise :class:`ScorerError`;
        without, they are simply wrong, as in the official scorer.

    Returns
    -------
    Scores

    Raises
    ------
    ScorerError
        An empty or unlabelled key, an instance given twice, an unknown entity (with ``docs``).
    """
    predictions, key = list(predictions), list(key)
    if not key:
        raise ScorerError("the key holds no relations")
    if docs is not None:
        check_known_entities(predictions, docs)
    gold = _index(key, "key", labelled_only=True)
    prop = _index(predictions, "predictions", labelled_only=False)

    # extraction: unordered pairs, label and direction ignored
    pairs_p = {tuple(sorted((r.e1, r.e2))) for r in predictions}
    pairs_g = {tuple(sorted((r.e1, r.e2))) for r in key}
    ok = len(pairs_p & pairs_g)
    p = 100.0 * ok / len(pairs_p) if pairs_p else 0.0
    rc = 100.0 * ok / len(pairs_g)
    extraction = {"correct": ok, "predicted": len(pairs_p), "gold": len(pairs_g), "p": p, "r": rc, "f1": _f1(p, rc)}
    if not prop:
        return Scores(extraction, None)

    labels = sorted(set(gold.values()))
    n_prop = Counter(prop.values())
    n_gold = Counter(gold.values())
    conf: dict[str, Counter] = {}
    wrong = 0
    for iid, lab in prop.items():
        if iid in gold:
            conf.setdefault(lab, Counter())[gold[iid]] += 1
        else:
            wrong += 1
    per_class = {}
    for c in labels:
        corr = conf.get(c, Counter())[c]
        pc = 100.0 * corr / n_prop[c] if n_prop[c] else 0.0
        rc_ = 100.0 * corr / n_gold[c]
        per_class[c] = {"correct": corr, "proposed": n_prop[c], "gold": n_gold[c], "p": pc, "r": rc_, "f1": _f1(pc, rc_)}
    mp = sum(v["p"] for v in per_class.values()) / len(labels)
    mr = sum(v["r"] for v in per_class.values()) / len(labels)
    corr_all = sum(v["correct"] for v in per_class.values())
    prop_all = sum(v["proposed"] for v in per_class.values())
    gold_all = sum(v["gold"] for v in per_class.values())
    up = 100.0 * corr_all / prop_all if prop_all else 0.0
    ur = 100.0 * corr_all / gold_all
    classification = {
        "proposed": len(prop), "gold": len(gold), "wrong": wrong,
        "skipped": sum(1 for i in gold if i not in prop),
        "coverage": 100.0 * (len(prop) - wrong) / len(gold),
        "micro_p": up, "micro_r": ur, "micro_f1": _f1(up, ur),
        "macro_p": mp, "macro_r": mr, "macro_f1": _f1(mp, mr),
        "mean_class_f1": sum(v["f1"] for v in per_class.values()) / len(labels),
    }
    confusion = {a: dict(b) for a, b in conf.items()}
    return Scores(extraction, classification, per_class, confusion)


def score_files(pred_path, key_path, docs: dict[str, Document] | None = None) -> Scores:
    """Score a predictions file against a key file (both in the official format).

    Parameters
    ----------
    pred_path, key_path : str or Path
    docs : dict of str to repro.nlp.reader.Document, optional
        See :func:`score`.

    Returns
    -------
    Scores

    Raises
    ------
    repro.nlp.reader.SemEvalFormatError
        A malformed file.
    ScorerError
        See :func:`score`.
    """
    from .reader import read_relations
    return score(read_relations(pred_path, allow_duplicates=True), read_relations(key_path), docs)

"""A Python scorer that computes what the official SemEval-2018 Task 7 scorer (Perl, v1.2) computes.

We derived every rule below by reading the official script (``semeval2018_task7_scorer-v1.2.pl``
in the organisers' repository github.com/gkata/SemEval2018Task7, commit ``8225743e``); no code
is taken from it. The official scores and ours agree to the last printed digit on any file the
official script accepts, and where it stops with an error we raise :class:`ScorerError`.

Reading a line
    A line must start with a relation type followed by ``(``: one of the six types or ``ANY``
    (an extraction-only line; a label-free line ``(A.1,A.2)`` is refused, as by the official
    script). Everything between the first ``(`` and the *last* ``)`` of the line is the
    instance's **raw id**; it must begin with two entity ids, ``H01-1001.5,H01-1001.7``, and
    whatever follows them (``,REVERSE``) stays part of it. Blank lines and empty files are errors.

Extraction (subtask 2) — **what the code computes, not what its comments say**
    The official script's comments say that in extraction "directionality and relation labels
    are not taken into account". Its code computes an order-normalised pair id and then does not
    use it: it keys every line (labelled or ``ANY``) by its *raw id*. So ``USAGE(A.1,A.2)``
    does *not* extract the key's ``USAGE(A.1,A.2,REVERSE)``, and ``ANY(A.1,A.2)`` extracts
    only key instances written without ``REVERSE``. Labels are ignored; repeated raw ids count
    once. P = correct / distinct predicted raw ids, R = correct / distinct key raw ids, F1
    their harmonic mean. This is the **official extraction score** (the one the task's ranking
    and the paper's 48.8 come from) and it is :attr:`Scores.extraction_f1`.

    The measure the comments describe — unordered entity pairs, direction and label ignored — is
    kept as a second, clearly named number, :attr:`Scores.extraction_undirected_f1`
    (``Scores.extraction_undirected``). It is never the official score.

Classification (subtasks 1.1, 1.2, and the classification part of 2)
    - only labelled lines (not ``ANY``) count; two labelled lines with the same raw id are an
      error (in the key too); a labelled raw id absent from the key's labelled lines (wrong
      direction, a pair the key does not hold, unknown entities) is *wrong*: it counts as a
      proposal of its label but can never be correct;
    - for every label ``c`` of the key: P_c = correct_c / proposed_c, R_c = correct_c / gold_c,
      F1_c their harmonic mean (0 when undefined); proposals of labels the key does not hold
      enter no per-label or micro count;
    - macro P and macro R are the means of P_c and R_c over the labels of the key, and the
      **official score is macro-F1 = the harmonic mean of macro P and macro R** (not the mean
      of the F1_c, which we report as ``mean_class_f1``);
    - micro P/R/F1 pool the counts of the key's labels;
    - coverage = (labelled predictions − wrong ones) / labelled key instances. The official
      report's "missing from submission" is labelled key instances − labelled predictions (a plain
      difference, negative with many wrong predictions); we report it as ``missing`` and the true
      number of key instances without a prediction as ``skipped``.
    Without a labelled prediction there is no classification score (``classification`` is
    ``None``); labelled predictions against a key without labels are an error (the official
    script divides by zero).

All scores are percentages. :func:`score` takes :class:`~repro.nlp.reader.Relation` lists (a
relation without label is an ``ANY`` line); :func:`score_lines` and :func:`score_files` take
lines in the official format as they are written, including ones our strict reader refuses
(arguments out of text order, trailing text).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ReproError
from .reader import Document, Relation

#: labels the official script accepts; ``ANY`` marks an extraction-only line
OFFICIAL_LABELS = ("ANY", "USAGE", "TOPIC", "RESULT", "PART_WHOLE", "COMPARE", "MODEL-FEATURE")
_LINE = re.compile(r"([A-Z][^\n]+?)\(([^\n]+)\)")
_RAW_ID = re.compile(r"([A-Z0-9]+-[0-9]+\.[0-9]+),([A-Z0-9]+-[0-9]+\.[0-9]+)")


class ScorerError(ReproError, ValueError):
    """Predictions or key that the official scorer refuses (or that cannot be scored)."""


def instance_id(r: Relation) -> str:
    """The raw id the official scorer gives a relation: ``A.1,A.2`` or ``A.1,A.2,REVERSE``.

    Parameters
    ----------
    r : repro.nlp.reader.Relation

    Returns
    -------
    str
    """
    return f"{r.e1},{r.e2}" + (",REVERSE" if r.reverse else "")


def official_line(r: Relation) -> str:
    """A relation as an official submission line (``ANY(...)`` for a relation without label).

    Parameters
    ----------
    r : repro.nlp.reader.Relation

    Returns
    -------
    str
    """
    return f"{r.label or 'ANY'}({instance_id(r)})"


def parse_line(line: str, where: str = "<string>") -> tuple[str, str]:
    """Split one line as the official scorer does.

    Parameters
    ----------
    line : str
        One line (a trailing newline is ignored).
    where : str
        Named in error messages.

    Returns
    -------
    (str, str)
        The label (``ANY`` for extraction-only lines) and the raw id: the text between the first
        ``(`` and the last ``)``.

    Raises
    ------
    ScorerError
        The line does not start with ``TYPE(``, the type is not one the official scorer knows,
        or the raw id does not start with two entity ids.
    """
    m = _LINE.match(line.rstrip("\n"))
    if not m:
        raise ScorerError(f"{where}: not a line 'TYPE(ENT1,ENT2[,REVERSE])' (the official scorer "
                          f"needs a type; ANY marks extraction only): {line.strip()!r}")
    label, raw = m.groups()
    if label not in OFFICIAL_LABELS:
        raise ScorerError(f"{where}: unknown relation type {label!r} (allowed: {', '.join(OFFICIAL_LABELS)})")
    if not _RAW_ID.match(raw):
        raise ScorerError(f"{where}: {raw!r} does not start with two entity ids like H01-1001.5,H01-1001.7")
    return label, raw


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = 100.0 * correct / predicted if correct and predicted else 0.0
    r = 100.0 * correct / gold if correct and gold else 0.0
    return {"correct": correct, "predicted": predicted, "gold": gold, "p": p, "r": r, "f1": _f1(p, r)}


@dataclass
class Scores:
    """What :func:`score_lines` measured (percentages).

    Attributes
    ----------
    extraction : dict
        The official extraction score, by raw id: ``correct``, ``predicted``, ``gold``, ``p``,
        ``r``, ``f1``.
    classification : dict or None
        Counts, micro and macro P/R/F1, ``coverage`` (``None`` without labelled predictions).
    per_class : dict
        By label of the key: ``correct``, ``proposed``, ``gold``, ``p``, ``r``, ``f1``.
    confusion : dict
        ``confusion[predicted][gold]``: counts over the labelled instances of the key.
    extraction_undirected : dict
        Not official: the same counts over unordered entity pairs (direction and label ignored),
        the measure the official script's comments describe.
    """

    extraction: dict
    classification: dict | None
    per_class: dict = field(default_factory=dict)
    confusion: dict = field(default_factory=dict)
    extraction_undirected: dict = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        """The official score of the classification subtasks (NaN without labelled predictions)."""
        return self.classification["macro_f1"] if self.classification else float("nan")

    @property
    def extraction_f1(self) -> float:
        """The official score of the extraction subtask (raw ids: direction counts)."""
        return self.extraction["f1"]

    @property
    def extraction_undirected_f1(self) -> float:
        """Extraction F1 over unordered pairs (not official; see the module docstring)."""
        return self.extraction_undirected["f1"]

    def report(self) -> str:
        """A short text report in the spirit of the official one.

        Returns
        -------
        str
        """
        e, u = self.extraction, self.extraction_undirected
        lines = [f"extraction: P = {e['correct']}/{e['predicted']} = {e['p']:.2f}%  "
                 f"R = {e['correct']}/{e['gold']} = {e['r']:.2f}%  F1 = {e['f1']:.2f}% (official)",
                 f"extraction, unordered pairs (not official): P = {u['p']:.2f}%  R = {u['r']:.2f}%  "
                 f"F1 = {u['f1']:.2f}%"]
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


def _read(lines, what: str) -> tuple[set[str], dict[str, str]]:
    """The raw ids of all lines and the labels of the labelled ones (official reading)."""
    extracted: set[str] = set()
    labelled: dict[str, str] = {}
    n = 0
    for i, line in enumerate(lines, 1):
        n += 1
        label, raw = parse_line(line, f"{what}, line {i}")
        extracted.add(raw)
        if label != "ANY":
            if raw in labelled:
                raise ScorerError(f"{what}, line {i}: instance {raw} is given twice "
                                  f"({labelled[raw]} and {label})")
            labelled[raw] = label
    if n == 0:
        raise ScorerError(f"{what}: no lines (the official scorer refuses an empty file)")
    return extracted, labelled


def _pairs(raw_ids) -> set[frozenset]:
    return {frozenset(_RAW_ID.match(x).groups()) for x in raw_ids}


def score_lines(pred_lines, key_lines, pred_name: str = "predictions", key_name: str = "key") -> Scores:
    """Score prediction lines against key lines, both in the official format, as the official scorer does.

    Parameters
    ----------
    pred_lines, key_lines : iterable of str
        One relation per item (see the module docstring for what a line may hold).
    pred_name, key_name : str
        Named in error messages.

    Returns
    -------
    Scores

    Raises
    ------
    ScorerError
        A line the official scorer refuses, an empty input, a labelled instance given twice,
        labelled predictions against a key without labels.
    """
    gold_ext, gold = _read(key_lines, key_name)
    prop_ext, prop = _read(pred_lines, pred_name)
    extraction = _prf(len(prop_ext & gold_ext), len(prop_ext), len(gold_ext))
    pu, gu = _pairs(prop_ext), _pairs(gold_ext)
    undirected = _prf(len(pu & gu), len(pu), len(gu))
    if not prop:
        return Scores(extraction, None, extraction_undirected=undirected)
    if not gold:
        raise ScorerError(f"{key_name}: no relation type on any line, so labelled predictions cannot "
                          "be scored (the official scorer divides by zero)")
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
        v = _prf(conf.get(c, Counter())[c], n_prop[c], n_gold[c])
        v["proposed"] = v.pop("predicted")
        per_class[c] = v
    mp = sum(v["p"] for v in per_class.values()) / len(labels)
    mr = sum(v["r"] for v in per_class.values()) / len(labels)
    micro = _prf(*(sum(v[k] for v in per_class.values()) for k in ("correct", "proposed", "gold")))
    classification = {
        "proposed": len(prop), "gold": len(gold), "wrong": wrong,
        "skipped": sum(1 for i in gold if i not in prop),
        "missing": len(gold) - len(prop),
        "coverage": 100.0 * (len(prop) - wrong) / len(gold),
        "micro_p": micro["p"], "micro_r": micro["r"], "micro_f1": micro["f1"],
        "macro_p": mp, "macro_r": mr, "macro_f1": _f1(mp, mr),
        "mean_class_f1": sum(v["f1"] for v in per_class.values()) / len(labels),
    }
    confusion = {a: dict(b) for a, b in conf.items()}
    return Scores(extraction, classification, per_class, confusion, undirected)


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

    Each relation is scored as its official line (:func:`official_line`); a relation without
    label is an ``ANY`` (extraction-only) line.

    Parameters
    ----------
    predictions, key : iterable of repro.nlp.reader.Relation
        Predictions may be unlabelled (extraction only). An empty prediction list scores zero
        (the official scorer refuses an empty file; :func:`score_files` does too).
    docs : dict of str to repro.nlp.reader.Document, optional
        The abstracts: predictions naming unknown entities then raise :class:`ScorerError`;
        without, they are simply wrong, as in the official scorer.

    Returns
    -------
    Scores

    Raises
    ------
    ScorerError
        An empty key, a labelled instance given twice, an unknown entity (with ``docs``),
        labelled predictions against an unlabelled key.
    """
    predictions, key = list(predictions), list(key)
    if not key:
        raise ScorerError("the key holds no relations")
    if docs is not None:
        check_known_entities(predictions, docs)
    if not predictions:
        _read([official_line(r) for r in key], "key")
        n_gold = len({instance_id(r) for r in key})
        zero = _prf(0, 0, n_gold)
        return Scores(zero, None, extraction_undirected=_prf(0, 0, len({frozenset(r.pair) for r in key})))
    return score_lines([official_line(r) for r in predictions], [official_line(r) for r in key])


def _file_lines(path: Path, what: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        raise ScorerError(f"{what} {path}: cannot read ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ScorerError(f"{what} {path}: not UTF-8 text ({exc})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return lines


def score_files(pred_path, key_path, docs: dict[str, Document] | None = None) -> Scores:
    """Score a predictions file against a key file, as the official scorer does.

    Parameters
    ----------
    pred_path, key_path : str or Path
        Files in the official format (read line by line, as written).
    docs : dict of str to repro.nlp.reader.Document, optional
        The abstracts: a prediction naming an entity that is not in them raises
        :class:`ScorerError` (strict mode; the official scorer counts it wrong).

    Returns
    -------
    Scores

    Raises
    ------
    ScorerError
        An unreadable or empty file, a line the official scorer refuses, a labelled instance
        given twice, an unknown entity (with ``docs``).
    """
    pred_path, key_path = Path(pred_path), Path(key_path)
    pred = _file_lines(pred_path, "predictions")
    key = _file_lines(key_path, "key")
    if docs is not None:
        for i, line in enumerate(pred, 1):
            _, raw = parse_line(line, f"{pred_path}, line {i}")
            for e in _RAW_ID.match(raw).groups():
                d = docs.get(e.rsplit(".", 1)[0])
                if d is None or e not in d.entities:
                    raise ScorerError(f"{pred_path}, line {i}: names unknown entity {e}")
    return score_lines(pred, key, str(pred_path), str(key_path))

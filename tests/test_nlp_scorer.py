"""The SemEval-2018 Task 7 scorer against hand-computed cases (official-scorer rules)."""
import pytest

from repro.nlp import reader, scorer
from repro.nlp.reader import Relation, parse_relation


def rels(*lines):
    return [parse_relation(x) for x in lines]


KEY = rels("USAGE(X00-1000.1,X00-1000.2)",
           "USAGE(X00-1000.3,X00-1000.4,REVERSE)",
           "COMPARE(X00-1000.5,X00-1000.6)",
           "RESULT(X00-1000.7,X00-1000.8)")


def test_perfect_predictions_score_100():
    s = scorer.score(KEY, KEY)
    assert s.macro_f1 == pytest.approx(100.0)
    assert s.classification["micro_f1"] == pytest.approx(100.0)
    assert s.extraction_f1 == pytest.approx(100.0)
    assert s.classification["wrong"] == 0 and s.classification["skipped"] == 0


def test_hand_computed_direction_error_missing_and_extra():
    pred = rels("USAGE(X00-1000.1,X00-1000.2)",          # correct
                "USAGE(X00-1000.3,X00-1000.4)",          # direction error: not in the key -> wrong
                "COMPARE(X00-1000.5,X00-1000.6)",        # correct
                "USAGE(X00-1000.9,X00-1000.10)")         # extra pair -> wrong
    # (RESULT 7,8 is missing)
    s = scorer.score(pred, KEY)
    pc = s.per_class
    assert (pc["USAGE"]["correct"], pc["USAGE"]["proposed"], pc["USAGE"]["gold"]) == (1, 3, 2)
    assert pc["USAGE"]["p"] == pytest.approx(100 / 3)
    assert pc["USAGE"]["r"] == pytest.approx(50.0)
    assert pc["USAGE"]["f1"] == pytest.approx(40.0)
    assert pc["RESULT"]["f1"] == 0.0 and pc["RESULT"]["proposed"] == 0
    assert pc["COMPARE"]["f1"] == pytest.approx(100.0)
    c = s.classification
    # macro P = (33.33 + 0 + 100) / 3, macro R = (50 + 0 + 100) / 3; macro-F1 is their harmonic mean
    mp, mr = (100 / 3 + 100) / 3, 50.0
    assert c["macro_p"] == pytest.approx(mp)
    assert c["macro_r"] == pytest.approx(mr)
    assert c["macro_f1"] == pytest.approx(2 * mp * mr / (mp + mr))
    assert c["macro_f1"] == pytest.approx(47.0588235, abs=1e-6)
    assert c["mean_class_f1"] == pytest.approx(140 / 3)
    assert c["micro_p"] == pytest.approx(50.0) and c["micro_r"] == pytest.approx(50.0)
    assert (c["wrong"], c["skipped"], c["coverage"]) == (2, 2, pytest.approx(50.0))
    # extraction ignores direction and label: 3 of 4 predicted pairs are in the key
    e = s.extraction
    assert (e["correct"], e["predicted"], e["gold"]) == (3, 4, 4)
    assert e["f1"] == pytest.approx(75.0)
    assert s.confusion["USAGE"] == {"USAGE": 1}
    assert "official" in s.report()


def test_wrong_label_goes_to_confusion_and_lowers_both_classes():
    pred = rels("RESULT(X00-1000.1,X00-1000.2)")
    s = scorer.score(pred, KEY)
    assert s.confusion == {"RESULT": {"USAGE": 1}}
    assert s.per_class["RESULT"]["p"] == 0.0
    assert s.per_class["USAGE"]["r"] == 0.0
    assert s.macro_f1 == 0.0
    assert s.classification["skipped"] == 3


def test_duplicate_instances_are_an_error():
    pred = rels("USAGE(X00-1000.1,X00-1000.2)", "RESULT(X00-1000.1,X00-1000.2)")
    with pytest.raises(scorer.ScorerError, match="twice"):
        scorer.score(pred, KEY)
    with pytest.raises(scorer.ScorerError, match="twice"):
        scorer.score(KEY, KEY + KEY[:1])


def test_duplicate_lines_in_a_file(tmp_path):
    p = tmp_path / "pred.txt"
    p.write_text("USAGE(X00-1000.1,X00-1000.2)\nUSAGE(X00-1000.1,X00-1000.2)\n")
    k = tmp_path / "key.txt"
    k.write_text("".join(r.line() + "\n" for r in KEY))
    with pytest.raises(scorer.ScorerError, match="twice"):
        scorer.score_files(p, k)
    with pytest.raises(reader.SemEvalFormatError, match="line 2"):
        reader.read_relations(p)  # a key file may not repeat a pair either


def test_unknown_entity_ids_are_wrong_or_an_error_in_strict_mode():
    pred = rels("USAGE(X00-1000.1,X00-1000.2)", "USAGE(X00-1000.1,X00-1000.99)")
    s = scorer.score(pred, KEY)
    assert s.classification["wrong"] == 1
    assert s.per_class["USAGE"]["p"] == pytest.approx(50.0)
    docs = {"X00-1000": reader.Document("X00-1000", "t", {f"X00-1000.{i}": reader.Entity(f"X00-1000.{i}", "t", 0, 1)
                                                          for i in range(1, 11)})}
    with pytest.raises(scorer.ScorerError, match="X00-1000.99"):
        scorer.score(pred, KEY, docs=docs)


def test_extraction_only_lines_and_empty_classification():
    pred = [Relation(None, "X00-1000.1", "X00-1000.2"), Relation(None, "X00-1000.7", "X00-1000.8", True)]
    s = scorer.score(pred, KEY)
    assert s.classification is None
    assert s.extraction["correct"] == 2
    assert s.extraction["p"] == pytest.approx(100.0) and s.extraction["r"] == pytest.approx(50.0)
    assert "no labelled" in s.report()
    with pytest.raises(scorer.ScorerError, match="no relations"):
        scorer.score(pred, [])


def test_key_without_labels_is_rejected():
    with pytest.raises(scorer.ScorerError, match="no relation type"):
        scorer.score(KEY, [Relation(None, "X00-1000.1", "X00-1000.2")])


def test_official_format_round_trip(tmp_path):
    p = reader.write_relations(tmp_path / "p.txt", KEY)
    text = p.read_text()
    assert "USAGE(X00-1000.3,X00-1000.4,REVERSE)\n" in text
    assert reader.read_relations(p) == KEY
    assert scorer.score_files(p, p).macro_f1 == pytest.approx(100.0)

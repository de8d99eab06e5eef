"""The SemEval-2018 Task 7 scorer against hand-computed cases (the official v1.2 scorer's computation).

Every expected number below was worked out by hand from the rules in the module docstring of
:mod:`repro.nlp.scorer` (which follow the official script's code, not its comments).
"""
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
    # official extraction keys on the raw id: the direction error (3,4 without REVERSE) is not
    # the key's "3,4,REVERSE", so 2 of 4 predictions are extracted: P = R = F1 = 50
    e = s.extraction
    assert (e["correct"], e["predicted"], e["gold"]) == (2, 4, 4)
    assert e["f1"] == pytest.approx(50.0)
    # the direction-free number (not official) counts the pair 3,4 too: 3 of 4
    u = s.extraction_undirected
    assert (u["correct"], u["predicted"], u["gold"]) == (3, 4, 4)
    assert s.extraction_undirected_f1 == pytest.approx(75.0)
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
    # "7,8,REVERSE" is not the key's "7,8": one of two extracted (P 50, R 25, F1 100/3)
    assert s.extraction["correct"] == 1
    assert s.extraction["p"] == pytest.approx(50.0) and s.extraction["r"] == pytest.approx(25.0)
    assert s.extraction_f1 == pytest.approx(100 / 3)
    assert s.extraction_undirected["correct"] == 2
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


# ----------------------------------------------------------------- official files, by hand
def _files(tmp_path, pred, key):
    p, k = tmp_path / "pred.txt", tmp_path / "key.txt"
    p.write_text("".join(x + "\n" for x in pred))
    k.write_text("".join(x + "\n" for x in key))
    return p, k


KEY_LINES = ["USAGE(A01-1001.1,A01-1001.2)",
             "USAGE(A01-1001.3,A01-1001.4,REVERSE)",
             "RESULT(A01-1001.5,A01-1001.6,REVERSE)",
             "COMPARE(A01-1001.7,A01-1001.8)",
             "TOPIC(B02-2002.1,B02-2002.3)"]


def test_direction_given_or_not(tmp_path):
    # the key holds 1,2 without and 3,4 with REVERSE; the predictions give both the other way
    pred = ["USAGE(A01-1001.1,A01-1001.2,REVERSE)",   # direction added: raw id not in the key
            "USAGE(A01-1001.3,A01-1001.4)",           # direction dropped: raw id not in the key
            "COMPARE(A01-1001.7,A01-1001.8)"]         # correct
    s = scorer.score_files(*_files(tmp_path, pred, KEY_LINES))
    # extraction: 1 of 3 predicted raw ids, of 5 in the key: P 33.33, R 20, F1 25
    assert (s.extraction["correct"], s.extraction["predicted"], s.extraction["gold"]) == (1, 3, 5)
    assert s.extraction_f1 == pytest.approx(25.0)
    # direction-free: 3 of 3 pairs, of 5: P 100, R 60, F1 75
    assert s.extraction_undirected_f1 == pytest.approx(75.0)
    c = s.classification
    assert (c["proposed"], c["wrong"], c["skipped"], c["missing"]) == (3, 2, 4, 2)
    assert c["coverage"] == pytest.approx(20.0)
    # per label (key labels COMPARE, RESULT, TOPIC, USAGE): only COMPARE has P = R = 100
    assert s.per_class["USAGE"] == {"correct": 0, "proposed": 2, "gold": 2, "p": 0.0, "r": 0.0, "f1": 0.0}
    assert c["macro_p"] == pytest.approx(25.0) and c["macro_r"] == pytest.approx(25.0)
    assert c["macro_f1"] == pytest.approx(25.0)
    # micro: 1 correct of 3 proposed, of 5 gold: 2 * (100/3) * 20 / (100/3 + 20) = 25
    assert c["micro_f1"] == pytest.approx(25.0)


def test_reverse_on_one_side_only_in_extraction(tmp_path):
    # label-free extraction lines (ANY): only raw ids written exactly as in the key count
    pred = ["ANY(A01-1001.1,A01-1001.2)",            # = key
            "ANY(A01-1001.3,A01-1001.4)",            # key has REVERSE: wrong
            "ANY(A01-1001.5,A01-1001.6,REVERSE)",    # = key
            "ANY(A01-1001.7,A01-1001.8,REVERSE)"]    # key has none: wrong
    s = scorer.score_files(*_files(tmp_path, pred, KEY_LINES))
    assert s.classification is None
    # P = 2/4 = 50, R = 2/5 = 40, F1 = 2 * 50 * 40 / 90 = 44.44
    assert s.extraction["p"] == pytest.approx(50.0) and s.extraction["r"] == pytest.approx(40.0)
    assert s.extraction_f1 == pytest.approx(400 / 9)
    # direction-free: 4 of 4, of 5: F1 = 2 * 100 * 80 / 180 = 88.89
    assert s.extraction_undirected_f1 == pytest.approx(800 / 9)
    assert "no labelled" in s.report() and "not official" in s.report()


def test_label_free_extraction_only_file_equals_labels_ignored(tmp_path):
    # an extraction-only file is scored like the same lines with any labels
    lines = ["A01-1001.1,A01-1001.2", "A01-1001.3,A01-1001.4,REVERSE", "B02-2002.1,B02-2002.2"]
    s_any = scorer.score_files(*_files(tmp_path, [f"ANY({x})" for x in lines], KEY_LINES))
    s_lab = scorer.score_files(*_files(tmp_path, [f"RESULT({x})" for x in lines], KEY_LINES))
    # 2 of 3, of 5: P 66.67, R 40, F1 50
    assert s_any.extraction_f1 == pytest.approx(50.0) == s_lab.extraction_f1
    assert s_any.classification is None
    # the labelled version: 0 correct RESULT, so macro-F1 0; 2 of 3 in the key -> coverage 40
    assert s_lab.macro_f1 == 0.0 and s_lab.classification["coverage"] == pytest.approx(40.0)
    # Relation objects without a label are ANY lines
    rs = [Relation(None, "A01-1001.1", "A01-1001.2"), Relation(None, "A01-1001.3", "A01-1001.4", True)]
    assert scorer.official_line(rs[1]) == "ANY(A01-1001.3,A01-1001.4,REVERSE)"
    assert scorer.score(rs, rels(*KEY_LINES)).extraction_f1 == pytest.approx(2 * 100 * 40 / 140)


def test_label_free_line_without_any_is_refused(tmp_path):
    with pytest.raises(scorer.ScorerError, match="needs a type"):
        scorer.score_files(*_files(tmp_path, ["(A01-1001.1,A01-1001.2)"], KEY_LINES))


def test_unknown_pairs_and_entities(tmp_path):
    pred = ["USAGE(A01-1001.1,A01-1001.2)",     # correct
            "USAGE(A01-1001.2,A01-1001.9)",     # a pair the key does not hold
            "TOPIC(Z99-9999.1,Z99-9999.2)",     # an abstract the key does not hold
            "USAGE(A01-1001.4,A01-1001.3)"]     # arguments out of text order: never in the key
    s = scorer.score_files(*_files(tmp_path, pred, KEY_LINES))
    # extraction: 1 of 4, of 5: P 25, R 20, F1 = 2 * 25 * 20 / 45 = 22.22
    assert s.extraction_f1 == pytest.approx(200 / 9)
    # direction-free, 4,3 is the unordered pair 3,4 of the key: 2 of 4, of 5: F1 = 2 * 50 * 40 / 90
    assert s.extraction_undirected_f1 == pytest.approx(400 / 9)
    c = s.classification
    assert (c["wrong"], c["coverage"]) == (3, pytest.approx(20.0))
    # USAGE P = 1/3, R = 1/2; TOPIC P = 0/1, R 0; COMPARE, RESULT nothing
    assert s.per_class["USAGE"]["p"] == pytest.approx(100 / 3)
    mp, mr = (100 / 3) / 4, 50 / 4
    assert c["macro_f1"] == pytest.approx(2 * mp * mr / (mp + mr))
    # strict mode names the unknown entity
    docs = {"A01-1001": reader.Document("A01-1001", "t", {f"A01-1001.{i}": reader.Entity(f"A01-1001.{i}", "t", 0, 1)
                                                          for i in range(1, 10)})}
    with pytest.raises(scorer.ScorerError, match="Z99-9999.1"):
        scorer.score_files(*_files(tmp_path, pred, KEY_LINES), docs=docs)


def test_duplicates_official_rules(tmp_path):
    # the same raw id twice with a label: an error, as in the official scorer
    with pytest.raises(scorer.ScorerError, match="twice"):
        scorer.score_files(*_files(tmp_path, ["USAGE(A01-1001.1,A01-1001.2)", "RESULT(A01-1001.1,A01-1001.2)"],
                                   KEY_LINES))
    # ... also in the key
    with pytest.raises(scorer.ScorerError, match="key.*twice"):
        scorer.score_files(*_files(tmp_path, KEY_LINES, KEY_LINES + KEY_LINES[:1]))
    # the same pair with and without REVERSE is two instances, no error; repeated ANY lines and
    # an ANY line beside a labelled one count once in extraction
    pred = ["USAGE(A01-1001.3,A01-1001.4)", "USAGE(A01-1001.3,A01-1001.4,REVERSE)",
            "ANY(A01-1001.1,A01-1001.2)", "ANY(A01-1001.1,A01-1001.2)", "USAGE(A01-1001.1,A01-1001.2)"]
    s = scorer.score_files(*_files(tmp_path, pred, KEY_LINES))
    # extraction: raw ids {3,4 ; 3,4,R ; 1,2}: 2 of 3, of 5: F1 = 2 * 66.67 * 40 / 106.67 = 50
    assert (s.extraction["correct"], s.extraction["predicted"]) == (2, 3)
    assert s.extraction_f1 == pytest.approx(50.0)
    # classification: 3 labelled lines, one wrong; USAGE P = 2/3, R = 2/2
    c = s.classification
    assert (c["proposed"], c["wrong"], c["missing"]) == (3, 1, 2)
    assert s.per_class["USAGE"]["p"] == pytest.approx(200 / 3) and s.per_class["USAGE"]["r"] == 100.0
    # direction-free: unordered pairs {1,2 ; 3,4}: 2 of 2, of 5
    assert (s.extraction_undirected["correct"], s.extraction_undirected["predicted"]) == (2, 2)


def test_official_reading_of_odd_lines(tmp_path):
    # the raw id runs to the last ")" of the line, text after it is ignored; anything after the two
    # ids stays part of the raw id (so a lower-case "reverse" never matches)
    assert scorer.parse_line("USAGE(A01-1001.3,A01-1001.4,REVERSE) # note\n") == \
        ("USAGE", "A01-1001.3,A01-1001.4,REVERSE")
    assert scorer.parse_line("ANY(A01-1001.3,A01-1001.4,reverse)") == ("ANY", "A01-1001.3,A01-1001.4,reverse")
    for bad, msg in [("", "needs a type"), ("  USAGE(A01-1001.1,A01-1001.2)", "needs a type"),
                     ("CAUSE(A01-1001.1,A01-1001.2)", "unknown relation type"),
                     ("USAGE(A01-1001.1, A01-1001.2)", "two entity ids")]:
        with pytest.raises(scorer.ScorerError, match=msg):
            scorer.parse_line(bad)
    # a blank line in a file and an empty file are refused, naming the line / the file
    with pytest.raises(scorer.ScorerError, match="line 2"):
        scorer.score_files(*_files(tmp_path, ["USAGE(A01-1001.1,A01-1001.2)", ""], KEY_LINES))
    p, k = _files(tmp_path, [], KEY_LINES)
    with pytest.raises(scorer.ScorerError, match="empty"):
        scorer.score_files(p, k)
    with pytest.raises(scorer.ScorerError, match="cannot read"):
        scorer.score_files(tmp_path / "nope.txt", k)


def test_labelled_predictions_against_an_extraction_only_key(tmp_path):
    key = ["ANY(A01-1001.1,A01-1001.2)", "ANY(A01-1001.3,A01-1001.4,REVERSE)"]
    s = scorer.score_files(*_files(tmp_path, ["ANY(A01-1001.1,A01-1001.2)"], key))
    assert s.extraction_f1 == pytest.approx(2 * 100 * 50 / 150)
    with pytest.raises(scorer.ScorerError, match="divides by zero"):
        scorer.score_files(*_files(tmp_path, ["USAGE(A01-1001.1,A01-1001.2)"], key))

"""The reader of the task's XML abstracts and relation files, and the splits drawn from them."""
import pytest

from repro.nlp import reader

from .conftest import needs_data

GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<doc>
<text id="X00-1000"><title>A <entity id="X00-1000.1">parser</entity></title>
<abstract> <SectionTitle></SectionTitle>We use <entity id="X00-1000.2">statistical <entity id="X00-1000.3">models</entity></entity> for
<entity id="X00-1000.4">parsing</entity>. Results improve <entity id="X00-1000.5">accuracy</entity> .</abstract>
</text>
<abstract></abstract>
<text id="X00-1001"><title>T</title><abstract>No entities here.</abstract></text>
</doc>
"""


def write(tmp_path, text, name="a.xml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_nested_entities_and_offsets(tmp_path):
    docs = reader.read_abstracts(write(tmp_path, GOOD))
    assert list(docs) == ["X00-1000", "X00-1001"]
    d = docs["X00-1000"]
    assert len(d.entities) == 5
    for e in d.entities.values():
        assert d.text[e.start:e.end] == e.text
    assert d.entities["X00-1000.2"].text == "statistical models"
    assert d.entities["X00-1000.3"].text == "models"
    assert d.text.startswith("A parser\n")
    assert d.text[d.abstract_start:].startswith(" We use")
    assert [e.id for e in d.ordered_entities()][:3] == ["X00-1000.1", "X00-1000.2", "X00-1000.3"]


@pytest.mark.parametrize("bad, match", [
    (GOOD.replace("</title>\n<abstract>", "\n<abstract>", 1), "line"),                        # not well-formed
    (GOOD.replace('id="X00-1000.4"', 'id="Y99-1.4"'), "line 5: entity id 'Y99-1.4' does not belong"),
    (GOOD.replace('id="X00-1000.4"', 'id="X00-1000.1"'), "line 5: entity id X00-1000.1 appears twice"),
    (GOOD.replace('<entity id="X00-1000.5">', '<entity>'), "line 5: <entity> without an id"),
    (GOOD.replace("<abstract></abstract>", "<abstract>stray</abstract>"), "line 7: text 'stray'"),
    (GOOD.replace("<doc>", "<doc><entity id=\"X00-1000.9\">x</entity>"), "line 2: <entity> outside"),
    (GOOD.replace('<text id="X00-1001">', '<text>'), "line 8: <text> without an id"),
])
def test_malformed_xml_names_file_and_line(tmp_path, bad, match):
    p = write(tmp_path, bad)
    with pytest.raises(reader.SemEvalFormatError, match=match) as ei:
        reader.read_abstracts(p)
    assert str(p) in str(ei.value)


def test_missing_file_and_empty_doc(tmp_path):
    with pytest.raises(reader.SemEvalFormatError, match="cannot read"):
        reader.read_abstracts(tmp_path / "nope.xml")
    with pytest.raises(reader.SemEvalFormatError, match="no <text>"):
        reader.read_abstracts(write(tmp_path, "<doc></doc>"))


@pytest.mark.parametrize("line, match", [
    ("USAGE(X00-1000.1 X00-1000.2)", "not a relation line"),
    ("USES(X00-1000.1,X00-1000.2)", "unknown relation type"),
    ("USAGE(X00-1000.2,X00-1000.1)", "text order"),
    ("USAGE(X00-1000.1,X00-1001.2)", "different documents"),
    ("USAGE(X00-1000.1,foo)", "not an entity id"),
    ("USAGE(X00-1000.1,X00-1000.2,BACKWARDS)", "not a relation line"),
])
def test_bad_relation_lines_name_the_line(tmp_path, line, match):
    p = write(tmp_path, "USAGE(X00-1000.1,X00-1000.3)\n\n" + line + "\n", "r.txt")
    with pytest.raises(reader.SemEvalFormatError, match=match) as ei:
        reader.read_relations(p)
    assert "line 3" in str(ei.value)


def test_relation_lines_and_unlabelled_keys():
    r = reader.parse_relation("  PART_WHOLE(X00-1000.1,X00-1000.12,REVERSE) ")
    assert (r.label, r.e1, r.e2, r.reverse, r.doc_id) == ("PART_WHOLE", "X00-1000.1", "X00-1000.12", True, "X00-1000")
    assert r.line() == "PART_WHOLE(X00-1000.1,X00-1000.12,REVERSE)"
    u = reader.parse_relation("(X00-1000.1,X00-1000.2)")
    assert u.label is None and not u.reverse


def test_check_entities(tmp_path):
    docs = reader.read_abstracts(write(tmp_path, GOOD))
    reader.check_entities([reader.parse_relation("USAGE(X00-1000.2,X00-1000.4)")], docs)
    with pytest.raises(reader.SemEvalFormatError, match="X00-1000.7"):
        reader.check_entities([reader.parse_relation("USAGE(X00-1000.2,X00-1000.7)")], docs)


def _toy_split(n_docs=10):
    docs = {f"X00-{1000 + i}": reader.Document(f"X00-{1000 + i}", "t") for i in range(n_docs)}
    rels = [reader.Relation("USAGE", f"{d}.1", f"{d}.2") for d in docs]
    return reader.Split("toy", docs, rels)


def test_subsample_docs_keeps_relations_of_kept_abstracts():
    s = _toy_split()
    assert reader.subsample_docs(s, 1.0, 0) is s
    sub = reader.subsample_docs(s, 0.3, 0)
    assert len(sub.docs) == 3 and {r.doc_id for r in sub.relations} == set(sub.docs)
    assert reader.subsample_docs(s, 0.3, 0).docs.keys() == sub.docs.keys()   # same seed, same draw
    assert len(reader.subsample_docs(s, 0.01, 0).docs) == 2                   # at least two abstracts


def test_hold_out_partitions_the_abstracts():
    s = _toy_split()
    fit, held = reader.hold_out(s, 0.2, 3)
    assert len(held.docs) == 2 and len(fit.docs) == 8
    assert set(fit.docs) | set(held.docs) == set(s.docs) and not set(fit.docs) & set(held.docs)
    assert {r.doc_id for r in held.relations} == set(held.docs)
    assert len(reader.hold_out(s, 0.01, 3)[1].docs) == 1
    assert len(reader.hold_out(s, 0.01, 3, at_least=0)[1].docs) == 0


@needs_data
def test_real_test_keys_match_the_data_description():
    s = reader.load_split("test", "1.1")
    assert (len(s.docs), len(s.relations)) == (150, 355)
    assert sum(r.label == "USAGE" for r in s.relations) == 175
    assert sum(len(d.entities) for d in s.docs.values()) == 2246


@needs_data
def test_load_all_reads_every_part():
    splits = reader.load_all()
    assert list(splits) == list(reader.FILES)
    assert len(splits[("test", "2")].relations) == 367

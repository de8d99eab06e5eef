import json
import math

import numpy as np
import pytest

from repro import claims
from repro.claims import NOT_CHECKABLE, NOT_REPRODUCED, REPRODUCED, ClaimError


@pytest.mark.parametrize("ours,rule,paper,verdict", [
    (0.04, {"at_most": 0.05}, None, REPRODUCED),
    (0.06, {"at_most": 0.05}, None, NOT_REPRODUCED),
    (3, {"at_least": 3}, None, REPRODUCED),
    (2.9, {"at_least": 3}, None, NOT_REPRODUCED),
    (0.5, {"between": [0, 1]}, None, REPRODUCED),
    (1.5, {"between": [0, 1]}, None, NOT_REPRODUCED),
    (0.034, {"within_rel": 0.15}, 0.032, REPRODUCED),
    (0.038, {"within_rel": 0.15}, 0.032, NOT_REPRODUCED),
    (1.95, {"within_abs": 0.1}, 2.0, REPRODUCED),
    (1.85, {"within_abs": 0.1}, 2.0, NOT_REPRODUCED),
    (0.01, {"p_below": 0.05}, None, REPRODUCED),
    (0.05, {"p_below": 0.05}, None, NOT_REPRODUCED),
    (True, {"boolean": True}, None, REPRODUCED),
    (False, {"boolean": True}, None, NOT_REPRODUCED),
    (np.float64(0.01), {"at_most": 0.05}, None, REPRODUCED),
    (float("nan"), {"at_most": 0.05}, None, NOT_REPRODUCED),
    (None, {"at_most": 0.05}, None, NOT_REPRODUCED),
])
def test_rules(ours, rule, paper, verdict):
    assert claims.judge(ours, rule, paper)[0] == verdict


def test_not_checkable_keeps_reason():
    assert claims.judge(None, {"not_checkable": "needs Intel SGX"}) == (NOT_CHECKABLE, "needs Intel SGX")


@pytest.mark.parametrize("rule,msg", [
    ({"at_mostt": 1}, "unknown rule 'at_mostt'"),
    ({"at_most": 1, "at_least": 0}, "exactly one"),
    ("at_most", "exactly one"),
    ({"between": 3}, "needs \\[low, high\\]"),
])
def test_malformed_rules(rule, msg):
    with pytest.raises(ClaimError, match=msg):
        claims.judge(1.0, rule)


def test_within_needs_paper_value():
    with pytest.raises(ClaimError, match="needs the paper's value"):
        claims.judge(1.0, {"within_rel": 0.1})


def test_record_store_and_claim_comparison(tmp_path):
    run = tmp_path / "run"
    claims.record("x", "err_transfer", 0.032, statement="a", rule={"at_most": 0.04}, profile="full", run_dir=run, notebook="02_a.ipynb")
    c = claims.record("x", "err_better", 0.030, statement="b", rule={"less_than_claim": "err_transfer"},
                      profile="full", run_dir=run, notebook="03_b.ipynb")
    assert c.verdict == REPRODUCED and "0.032" in c.reason
    with pytest.raises(ClaimError, match="'missing'"):
        claims.record("x", "k", 1.0, statement="c", rule={"less_than_claim": "missing"}, run_dir=run)
    data = json.loads((run / "claims.json").read_text())
    assert set(data["claims"]) == {"err_transfer", "err_better"}
    assert data["profile"] == "full"
    claims.drop_notebooks(run / "claims.json", ["03_b.ipynb"])
    assert set(json.loads((run / "claims.json").read_text())["claims"]) == {"err_transfer"}


def test_bad_key_rejected(tmp_path):
    with pytest.raises(ClaimError, match="letters, digits"):
        claims.record("x", "bad key!", 1, statement="s", rule={"at_most": 2}, run_dir=tmp_path)


def test_tables_and_filters(tmp_path):
    for profile in ("smoke", "full"):
        claims.record("agn", "k1", 0.5, statement="s | with pipe", rule={"at_most": 1}, paper=0.4,
                      profile=profile, run_dir=tmp_path / "agn" / profile, notebook="03_x.ipynb")
    claims.record("d2", "k2", None, statement="needs GPU cluster", rule={"not_checkable": "no cluster"},
                  profile="full", run_dir=tmp_path / "d2" / "full")
    allc = claims.collect(root=tmp_path)
    assert len(allc) == 3
    assert len(claims.collect(profile="full", root=tmp_path)) == 2
    assert [c["chain"] for c in claims.collect(chain="d2", root=tmp_path)] == ["d2"]
    text = claims.text_table(allc)
    assert "1 not checkable here, 2 reproduced" in text
    md = claims.markdown_table(claims.collect(profile="full", root=tmp_path))
    assert "s \\| with pipe" in md and "✅ reproduced" in md and "⚪ not checkable here: no cluster" in md
    assert 'href="_executed/agn/03_x.html#claim-agn-k1"' in md
    smoke_md = claims.markdown_table(claims.collect(profile="smoke", root=tmp_path))
    assert "(smoke run, no verdict)" in smoke_md
    rows = claims.as_json_rows(allc)
    assert set(claims.COLUMNS) <= set(rows[0])


def test_html_repr_has_anchor(tmp_path):
    c = claims.record("agn", "ks_p", 0.3, statement="<b>", rule={"at_least": 0.05}, run_dir=tmp_path)
    html = c._repr_html_()
    assert 'id="claim-agn-ks-p"' in html and "&lt;b&gt;" in html and "smoke profile" in html


def test_format_value():
    assert claims.format_value(None) == "—"
    assert claims.format_value(0.5, "dex") == "0.5 dex"
    assert claims.format_value("4-8x", "dex") == "4-8x"
    assert claims.format_value(True) == "yes"
    assert claims.format_value(1.234e-5) == "1.23e-05"
    assert math.isnan(float("nan")) and claims.format_value(float("nan")) == "NaN"

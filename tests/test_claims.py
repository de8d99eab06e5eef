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


def test_record_store_and_claim_comparison(declared):
    run = declared / "alpha" / "full"
    c = claims.record("alpha", "err_transfer", 0.032, profile="full", run_dir=run, notebook="02_a")
    assert c.rule == {"at_most": 0.04} and c.source == "Sect. 2"   # {param: tol} resolved
    c = claims.record("alpha", "err_better", 0.030, profile="full", run_dir=run, notebook="03_b")
    assert c.verdict == REPRODUCED and "0.032" in c.reason
    data = json.loads((run / "claims.json").read_text())
    assert set(data["claims"]) == {"err_transfer", "err_better"}
    assert data["profile"] == "full"
    claims.drop_notebooks(run / "claims.json", ["03_b.ipynb"])
    assert set(json.loads((run / "claims.json").read_text())["claims"]) == {"err_transfer"}


def test_undeclared_or_misplaced_claims_rejected(declared):
    with pytest.raises(ClaimError, match="'err_transfr' is not declared.*did you mean 'err_transfer'"):
        claims.record("alpha", "err_transfr", 1.0, run_dir=declared)
    with pytest.raises(ClaimError, match="declared for notebook 02_a, but 03_b recorded it"):
        claims.record("alpha", "err_transfer", 1.0, run_dir=declared, notebook="03_b")


def test_tables_missing_claims_and_filters(declared):
    for profile in ("smoke", "full"):
        claims.record("alpha", "k1", 0.5, profile=profile, run_dir=declared / "alpha" / profile, notebook="03_b")
    claims.record("beta", "k2", None, profile="full", run_dir=declared / "beta" / "full")
    full = claims.collect(profile="full")
    assert [(c["chain"], c["key"], c["verdict"]) for c in full] == [
        ("alpha", "err_transfer", "missing"), ("alpha", "err_better", "missing"), ("alpha", "k1", "reproduced"),
        ("alpha", "ks_p", "missing"), ("beta", "k2", "not checkable here"), ("beta", "k3", "missing")]
    assert full[0]["reason"] == "not recorded by the run"
    assert [c["key"] for c in claims.collect(chain="beta", profile="full")] == ["k2", "k3"]
    text = claims.text_table(full)
    assert "6 claims of the papers: 1 reproduced, 1 not checkable here, 4 missing" in text
    md = claims.markdown_table(full)
    assert "s \\| with pipe" in md and "</svg> reproduced" in md and "</svg> not checkable here: no cluster" in md
    assert "</svg> missing" in md and md.count("repro-verdict-icon") == 6
    assert 'href="_executed/alpha/03_b.html#claim-alpha-k1"' in md
    smoke_md = claims.markdown_table(claims.collect(profile="smoke"))
    assert "(smoke run, no verdict)" in smoke_md
    rows = claims.as_json_rows(full)
    assert set(claims.COLUMNS) <= set(rows[0])
    assert rows[-1]["statement"] == "slope is 0.04" and rows[-1]["paper"] == 0.04 and rows[-1]["source"] == "Sect. 2"


def test_chain_that_never_ran_lists_its_claims_as_missing(declared):
    rows = claims.collect(chain="beta")
    assert [(r["key"], r["verdict"], r["reason"], r["profile"]) for r in rows] == [
        ("k2", "missing", "not run yet", "full"), ("k3", "missing", "not run yet", "full")]


def test_html_repr_has_anchor(declared):
    c = claims.record("alpha", "ks_p", 0.3, run_dir=declared)
    html = c._repr_html_()
    assert 'id="claim-alpha-ks-p"' in html and "&lt;b&gt;" in html and "smoke profile" in html


def test_format_value():
    assert claims.format_value(None) == "—"
    assert claims.format_value(0.5, "dex") == "0.5 dex"
    assert claims.format_value("4-8x", "dex") == "4-8x"
    assert claims.format_value(True) == "yes"
    assert claims.format_value(1.234e-5) == "1.23e-05"
    assert math.isnan(float("nan")) and claims.format_value(float("nan")) == "NaN"


# ---------------------------------------------------------------------------- graded verdicts
def _d(rule, paper=None, **kw):
    return {"rule": rule, "paper": paper, **kw}


def test_grade_levels():
    band = _d({"within_rel": 0.2}, 6.0, direction={"at_least": 1.0})
    assert claims.grade(6.5, band)[0] == REPRODUCED
    v, why = claims.grade(1.1, band)
    assert v == claims.DIRECTION_ONLY and "direction" in why       # 1.1x is not "4-8x"
    assert claims.grade(0.9, band)[0] == NOT_REPRODUCED
    assert claims.grade(0.9, _d({"within_rel": 0.2}, 6.0))[0] == NOT_REPRODUCED   # no direction declared


def test_grade_significance_and_prerequisites():
    d = _d({"at_least": 0.0}, significance="gain_p", alpha=0.05)
    assert claims.grade(0.1, d, {"gain_p": {"ours": 0.01}}) == (REPRODUCED, "p = 0.01 (gain_p)")
    v, why = claims.grade(0.1, d, {"gain_p": {"ours": 0.2}})
    assert v == claims.DIRECTION_ONLY and "not the significance" in why    # a margin is not significance
    assert claims.grade(-0.1, d, {"gain_p": {"ours": 0.01}})[0] == NOT_REPRODUCED
    v, why = claims.grade(0.1, d, {})
    assert "judged without gain_p" in why
    req = _d({"at_least": 0.0}, requires=["baseline_ok"])
    v, why = claims.grade(0.3, req, {"baseline_ok": {"verdict": NOT_REPRODUCED}})
    assert v == claims.INCONCLUSIVE and why == "prerequisite baseline_ok is not reproduced"
    assert claims.grade(0.3, req, {"baseline_ok": {"verdict": claims.DIRECTION_ONLY}})[0] == REPRODUCED
    assert claims.grade(None, _d({"not_checkable": "no SGX"}, requires=["x"]), {})[0] == NOT_CHECKABLE


def test_a_later_p_value_regrades_the_claim_that_needs_it(tmp_path, monkeypatch):
    from .conftest import claim_decl, make_chain
    root = tmp_path / "repo"
    make_chain(root, "gamma", {
        "gain": claim_decl("02_a", {"at_least": 0.0}, "gain", significance="gain_p"),
        "gain_p": claim_decl("03_b", {"p_below": 0.05}, "p", kind="test"),
        "after": claim_decl("03_b", {"at_most": 1}, "needs gain", requires=["gain"]),
    })
    monkeypatch.setenv("REPRO_ROOT", str(root))
    run = tmp_path / "run"
    c = claims.record("gamma", "gain", 0.2, profile="full", run_dir=run, notebook="02_a")
    assert c.verdict == REPRODUCED and "judged without gain_p" in c.reason
    claims.record("gamma", "gain_p", 0.3, profile="full", run_dir=run, notebook="03_b")
    claims.record("gamma", "after", 0.5, profile="full", run_dir=run, notebook="03_b")
    store = claims.load_store(run / "claims.json")
    assert store["gain"]["verdict"] == claims.DIRECTION_ONLY and "p = 0.3" in store["gain"]["reason"]
    assert store["after"]["verdict"] == REPRODUCED          # direction only satisfies a prerequisite
    assert store["gain_p"]["kind"] == "test"

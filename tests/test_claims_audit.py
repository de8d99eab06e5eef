"""Every chain's claims follow the judging rules (the page "How the claims are judged")."""
import pytest

from repro import claimspec, params

from .conftest import claim_decl, make_chain


@pytest.mark.parametrize("chain", params.available_chains())
def test_every_claim_is_judged_against_the_paper(chain):
    assert claimspec.audit(chain) == []


def test_the_audit_catches_each_kind_of_weak_rule(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    make_chain(root, "weak", {
        "directional": claim_decl(rule={"at_least": 1.0}, paper=6.0, quote="6x faster (abstract)"),
        "no_why": claim_decl(rule={"within_rel": 0.2}, paper=6.0, quote="6x faster (abstract)"),
        "no_test": claim_decl(rule={"at_most": 0.0}, paper="better", statement="significantly better",
                              quote="significantly better (abstract)"),
        "no_quote": claim_decl(rule={"at_most": 0.0}, paper="better"),
        "orphan_p": claim_decl(rule={"p_below": 0.05}, kind="test"),
        "fine": claim_decl(rule={"within_rel": 0.2}, paper=6.0, why="the paper's error bar", quote="6x (Fig. 2)",
                           direction={"at_least": 1.0}),
        "fine_check": claim_decl(rule={"at_least": 0.05}, paper=0.3, kind="check"),
    })
    monkeypatch.setenv("REPRO_ROOT", str(root))
    problems = claimspec.audit("weak")
    assert len(problems) == 5, problems
    assert any("weak.directional" in p and "only tests a direction" in p for p in problems)
    assert any("weak.no_why" in p and "no reason (why:)" in p for p in problems)
    assert any("weak.no_test" in p and "names no significance test" in p for p in problems)
    assert any("weak.no_quote" in p and "quote the paper" in p for p in problems)
    assert any("weak.orphan_p" in p for p in problems)


def test_the_readme_scoreboard_is_the_records(monkeypatch):
    import re
    from pathlib import Path

    from repro import claims
    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("REPRO_RESULTS", str(root / "results"))    # the committed records, not make test's folder
    readme = (root / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- scoreboard -->\n(.*?)\n<!-- /scoreboard -->", readme, re.S)
    assert m, "README has no scoreboard block"
    assert m.group(1).strip() == claims.count_line(claims.collect(profile="full")) + "."

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


@pytest.mark.parametrize("chain", params.available_chains())
@pytest.mark.parametrize("profile", ["smoke", "full"])
def test_a_notebook_records_a_referenced_claim_first(chain, profile):
    assert claimspec.recording_order(chain, params.load(chain, profile)) == []


def _notebook_with_claims(path, *lines):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("run = chains.start('o', profile)")] + [
        nbformat.v4.new_code_cell(line) for line in lines]
    nbformat.write(nb, str(path))


def test_the_recording_order_check_places_f_string_keys(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    d = make_chain(root, "o", {
        "gain_{arm}": claim_decl(rule={"at_least": 0.0}, significance="gain_{arm}_p", for_each={"arm": "arms"}),
        "gain_{arm}_p": claim_decl(rule={"p_below": 0.05}, kind="test", for_each={"arm": "arms"}),
        "worse": claim_decl(rule={"less_than_claim": "best"}),
        "best": claim_decl(rule={"at_least": 0.0}),
        "late": claim_decl(notebook="03_b", rule={"at_least": 0.0}, requires=["early"]),
        "early": claim_decl(rule={"at_least": 0.0}),
    }, parameters={"arms": {"type": "list[str]", "value": ["x", "y"], "doc": "the arms"}})
    monkeypatch.setenv("REPRO_ROOT", str(root))
    _notebook_with_claims(d / "02_a.ipynb",
                          "for arm in 'xy':\n    run.claim(f'gain_{arm}', 1.0)\n    run.claim(f\"gain_{arm}_p\", 0.01)",
                          'run.claim("worse", 1.0)\nrun.claim("early", 1.0)\nrun.claim("best", 2.0)')
    _notebook_with_claims(d / "03_b.ipynb", 'run.claim("late", 1.0)')   # another notebook: final at run's end
    problems = claimspec.recording_order("o", {"arms": ["x", "y"]})
    assert problems == [
        "o/02_a: gain_x is recorded before gain_x_p, which its verdict names; record gain_x_p first",
        "o/02_a: gain_y is recorded before gain_y_p, which its verdict names; record gain_y_p first",
        "o/02_a: worse is recorded before best, which its verdict names; record best first"]
    _notebook_with_claims(d / "02_a.ipynb",
                          "for arm in 'xy':\n    run.claim(f'gain_{arm}_p', 0.01)\n    run.claim(f'gain_{arm}', 1.0)",
                          'run.claim("best", 2.0)\nrun.claim("worse", 1.0)\nrun.claim("early", 1.0)')
    assert claimspec.recording_order("o", {"arms": ["x", "y"]}) == []

"""Declared claims: notebooks/<id>/claims.yaml is checked when it is loaded."""
import pytest
import yaml

from repro import claimspec
from repro.claimspec import ClaimSpecError

from .conftest import claim_decl, make_chain


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_ROOT", str(tmp_path))
    return tmp_path


def test_load_resolves_parameters(repo):
    make_chain(repo, "c", {"k": claim_decl(rule={"between": [0, {"param": "tol"}]}, paper={"param": "tol"},
                                           statement="within {tol}")})
    spec = claimspec.load("c")
    d = spec["k"].resolve({"tol": 0.5})
    assert d["rule"] == {"between": [0, 0.5]} and d["paper"] == 0.5 and d["statement"] == "within 0.5"
    assert spec["k"].resolve(None)["paper"] == 0.04   # the smoke profile's value
    assert [c.key for c in claimspec.for_notebook("c", "02_a.ipynb")] == ["k"]
    assert claimspec.for_notebook("c", "03_b") == []


@pytest.mark.parametrize("decl,msg", [
    (claim_decl(rule={"at_mots": 1}), "unknown rule 'at_mots' \\(did you mean 'at_most'\\?\\)"),
    (claim_decl(rule={"at_most": "x"}), "rule 'at_most' needs a number"),
    (claim_decl(rule={"at_most": {"param": "tols"}}), "unknown parameter 'tols' \\(did you mean 'tol'\\?\\)"),
    (claim_decl(rule={"between": [2, 1]}), "low > high"),
    (claim_decl(rule={"within_rel": -0.1}), "tolerance >= 0"),
    (claim_decl(rule={"boolean": "yes"}), "needs true or false"),
    (claim_decl(rule={"less_than_claim": "other"}), "refers to claim 'other', which is not declared"),
    (claim_decl(rule={"at_most": 1, "at_least": 0}), "exactly one of"),
    (claim_decl(notebook="04_c"), "notebook '04_c' is not part of chain 'c'"),
    (claim_decl(statement="{nope}"), "placeholder that is not a parameter"),
    (claim_decl(kind="fact"), "kind must be one of claim, check, test"),
    (claim_decl(why=""), "'why' must be non-empty"),
    (claim_decl(direction={"within_rel": 0.1}), "not a directional test"),
    (claim_decl(significance="nope"), "significance refers to claim 'nope'"),
    (claim_decl(alpha=0.05), "alpha without significance"),
    (claim_decl(requires="k"), "requires is a list"),
    (claim_decl(requires=["zz"]), "requires refers to claim 'zz'"),
    (claim_decl(sorce="x"), "unknown field 'sorce' \\(did you mean 'source'\\?\\)"),
    ({"notebook": "02_a", "statement": "s", "rule": {"at_most": 1}}, "missing source"),
])
def test_malformed_declarations_name_file_and_claim(repo, decl, msg):
    make_chain(repo, "c", {"k": decl})
    with pytest.raises(ClaimSpecError, match=msg) as e:
        claimspec.load("c")
    assert "claims.yaml" in str(e.value)


def test_bad_file(repo):
    d = make_chain(repo, "c", {})
    (d / "claims.yaml").write_text("chain: d\nclaims: {}\n")
    with pytest.raises(ClaimSpecError, match="'chain' is 'd', expected 'c'"):
        claimspec.load("c")
    (d / "claims.yaml").write_text("chain: c\nclaims: [\n")
    with pytest.raises(ClaimSpecError, match="not valid YAML"):
        claimspec.load("c")
    (d / "claims.yaml").write_text(yaml.safe_dump({"chain": "c", "claims": {"bad key": claim_decl()}}))
    with pytest.raises(ClaimSpecError, match="letters, digits and underscores"):
        claimspec.load("c")
    (d / "claims.yaml").unlink()
    with pytest.raises(ClaimSpecError, match="declares no claims"):
        claimspec.load("c")


def test_every_chain_declares_valid_claims():
    """The real chains: every claims.yaml loads, and every notebook's claims are declared."""
    from repro import params
    for chain in params.available_chains():
        spec = claimspec.load(chain)
        assert spec, f"{chain} declares no claims"
        for c in spec.values():
            assert c.source.strip(), f"{chain}.{c.key} says nowhere where in the paper it comes from"


def test_one_headline_per_chain(repo):
    make_chain(repo, "c", {"a": claim_decl(headline=True), "b": claim_decl(headline=True)})
    with pytest.raises(ClaimSpecError, match="only one headline claim per chain, got a, b"):
        claimspec.load("c")


def test_for_each_declares_one_claim_per_value(repo):
    make_chain(repo, "c", {"gain_n{n}": claim_decl(statement="with {n} workers", for_each={"n": "ns"})},
               parameters={"ns": {"type": "list[int]", "smoke": [8], "full": [8, 16], "doc": "worker counts"}})
    from repro import params
    full = claimspec.expanded("c", params.load("c", "full"))
    assert list(full) == ["gain_n8", "gain_n16"]
    assert full["gain_n16"].resolve(params.load("c", "full"))["statement"] == "with 16 workers"
    assert list(claimspec.expanded("c")) == ["gain_n8"]     # smoke
    assert [c.key for c in claimspec.for_notebook("c", "02_a", params.load("c", "full"))] == ["gain_n8", "gain_n16"]


@pytest.mark.parametrize("decl,msg", [
    (claim_decl(for_each={"n": "tol"}), "for_each needs a list parameter"),
    (claim_decl(for_each=["n"]), "for_each is"),
])
def test_bad_for_each(repo, decl, msg):
    make_chain(repo, "c", {"k_{n}": decl})
    with pytest.raises(ClaimSpecError, match=msg):
        claimspec.load("c")

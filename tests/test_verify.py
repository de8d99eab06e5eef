"""`repro verify`: the record re-executes to the same outputs; an edited output is caught."""
import json

from repro import chains, verify

from .test_chains import toy  # noqa: F401


def test_verify_passes_then_catches_an_edited_number(toy, tmp_path):  # noqa: F811
    chains.run("toy", "full", log=lambda m: None)
    record = tmp_path / "results" / "toy" / "full"
    before = {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()}
    results = verify.verify("toy", log=lambda m: None)
    assert [r.notebook for r in results] == ["01_make", "02_claim"]
    assert all(r.compared > 0 and r.equal == r.compared and not r.differ for r in results), \
        [r.line() for r in results]
    after = {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()}
    written = json.loads(after.pop("verification.json"))                 # the result, beside the record
    assert after == before                                                 # the record itself is never touched
    assert written["ok"] is True and written["cells_equal"] == written["cells_compared"] > 0
    assert verify.banner_line(verify.load(record)).startswith("**Verified**")
    assert not list(record.parent.glob(".verify-*"))
    # a reader edits one number in a committed output (a copy of the record)
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in record.iterdir():
        if p.is_file():
            (copy / p.name).write_bytes(p.read_bytes())
    nb = json.loads((copy / "02_claim.ipynb").read_text())
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if "text/html" in o.get("data", {}):
                html = "".join(o["data"]["text/html"])
                o["data"]["text/html"] = html.replace("<td style='text-align:left'>4</td>",
                                                      "<td style='text-align:left'>5</td>", 1)
    (copy / "02_claim.ipynb").write_text(json.dumps(nb))
    results = verify.verify("toy", record=copy, log=lambda m: None)
    bad = [r for r in results if r.differ]
    assert [r.notebook for r in bad] == ["02_claim"]
    assert verify.load(copy)["ok"] is False
    assert verify.banner_line(verify.load(copy)).startswith("**Verification found differences**")
    # a new record of the chain is not verified yet
    chains.run("toy", "full", force=True, log=lambda m: None)
    assert verify.load(record) == {}
    assert bad[0].differ[0].startswith("Cell ") and "02_claim" in bad[0].line()


def test_verify_needs_a_chain_or_ci(capsys):
    from repro import cli
    assert cli.main(["verify"]) == 2
    assert "give one chain id or --ci" in capsys.readouterr().err
    assert set(verify.CI_CHAINS) >= {"agn", "databright", "adpsgd", "dcd"}

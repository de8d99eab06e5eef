"""`repro status`: fresh, stale (naming what changed) or missing, per chain and profile."""
import json

from repro import chains, cli, status

from .test_chains import toy  # noqa: F401  (the two-notebook chain in a temporary repository)


def test_fresh_stale_missing(toy, capsys):  # noqa: F811
    assert status.chain_status("toy", "smoke").state == status.MISSING
    chains.run("toy", "smoke", log=lambda m: None)
    st = status.chain_status("toy", "smoke")
    assert st.state == status.FRESH and st.changed == []
    nb = toy / "notebooks" / "toy" / "02_claim.ipynb"
    nb.write_text(nb.read_text().replace("x times two", "x doubled"))
    st = status.chain_status("toy", "smoke")
    assert st.state == status.STALE and st.changed == ["02_claim: notebook source changed"]
    p = toy / "notebooks" / "toy" / "params.yaml"
    p.write_text(p.read_text().replace("smoke: 1", "smoke: 5"))
    st = status.chain_status("toy", "smoke")
    assert "01_make: parameters changed (x)" in st.changed
    assert cli.main(["status", "--json", "--chain", "toy"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["profile"], r["state"]) for r in rows] == [("smoke", "stale"), ("full", "missing")]
    assert cli.main(["status", "--check", "--chain", "toy"]) == 1      # the full record is missing
    assert "toy         full   missing" in capsys.readouterr().out


def test_claims_yaml_does_not_make_a_record_stale(toy):  # noqa: F811
    chains.run("toy", "smoke", log=lambda m: None)
    p = toy / "notebooks" / "toy" / "claims.yaml"
    p.write_text(p.read_text().replace("x is doubled", "x is twice x"))
    assert status.chain_status("toy", "smoke").state == status.REJUDGE   # not stale: a re-judge suffices

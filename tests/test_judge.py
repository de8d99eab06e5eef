"""`repro judge`: a changed rule re-judges the record in seconds, executing no notebook."""
import json

import yaml

from repro import chains, cli, judge, status

from .test_chains import toy  # noqa: F401


def test_changed_rule_rejudged_without_running(toy, tmp_path, capsys):  # noqa: F811
    chains.run("toy", "full", log=lambda m: None)
    record = tmp_path / "results" / "toy" / "full"
    assert json.loads((record / "claims.json").read_text())["claims"]["doubled"]["verdict"] == "reproduced"
    digests = json.loads((record / "provenance.json").read_text())["notebooks"]
    p = toy / "notebooks" / "toy" / "claims.yaml"
    spec = yaml.safe_load(p.read_text())
    spec["claims"]["doubled"]["rule"] = {"at_least": 5}
    p.write_text(yaml.safe_dump(spec))
    st = status.chain_status("toy", "full")
    assert st.state == status.REJUDGE                       # not stale: nothing to recompute
    before = (record / "01_make.ipynb").read_bytes()
    assert cli.main(["judge", "toy"]) == 0
    assert "doubled: reproduced -> not reproduced" in capsys.readouterr().out
    c = json.loads((record / "claims.json").read_text())["claims"]["doubled"]
    assert (c["ours"], c["verdict"], c["rule_text"]) == (4, "not reproduced", "≥ 5")
    assert status.chain_status("toy", "full").state == status.FRESH
    assert json.loads((record / "provenance.json").read_text())["notebooks"] == digests
    assert (record / "01_make.ipynb").read_bytes() == before      # no notebook executed
    assert status.record_problems("toy") == []                   # the notebook shows the new verdict
    assert judge.needs_rejudge("toy", "full") is False

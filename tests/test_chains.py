"""The chain runner on a tiny two-notebook chain in a temporary repository."""
import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from repro import chains, data, nbtemplate, provenance
from repro.errors import ChainError, DataError, ParameterError

PARAMS = {
    "chain": "toy", "title": "Toy chain", "paper": "arXiv:0000.00000", "data": ["toyset"],
    "notebooks": ["01_make.ipynb", "02_claim.ipynb"],
    "parameters": {
        "x": {"type": int, "min": 0, "smoke": 1, "full": 2, "doc": "input"},
        "fail": {"type": bool, "value": False, "doc": "make notebook 02 fail"},
    },
}


def _write_nb(path: Path, body: str, title: str):
    nbtemplate.write(path, [("md", f"# {title}\n\n**Reproduces:** nothing (test chain)."),
                            ("code", textwrap.dedent(body)), ("md", "## Summary\n\nDone.")])


@pytest.fixture
def toy(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    nbdir = root / "notebooks" / "toy"
    nbdir.mkdir(parents=True)
    spec = json.loads(json.dumps(PARAMS, default=lambda t: t.__name__))
    (nbdir / "params.yaml").write_text(yaml.safe_dump(spec))
    _write_nb(nbdir / "01_make.ipynb", """
        from repro import chains
        run = chains.start("toy", profile, overrides, notebook="01_make")
        run.save_json("value.json", {"x": run.params.x * 2})
        import matplotlib.pyplot as plt
        plt.plot([0, 1], [0, run.params.x])
        plt.show()
    """, "Make")
    _write_nb(nbdir / "02_claim.ipynb", """
        from repro import chains
        run = chains.start("toy", profile, overrides, notebook="02_claim")
        v = run.load_json("value.json")["x"]
        if run.params.fail:
            raise RuntimeError("failing on purpose")
        run.claim("doubled", v, statement="x is doubled", paper=4, rule={"within_abs": 0})
    """, "Claim")
    # a one-file data set
    droot = tmp_path / "data"
    (droot / "toyset").mkdir(parents=True)
    (droot / "toyset" / "numbers.txt").write_text("1 2 3\n")
    (root / "data").mkdir()
    meta = {"name": "toyset", "title": "t", "origin": "https://example.org/toy", "commit": "abc123",
            "licence": "CC0", "papers": ["toy"], "files": data.build_manifest(droot / "toyset")}
    (root / "data" / "toyset.yaml").write_text(yaml.safe_dump(meta))
    monkeypatch.setenv("REPRO_ROOT", str(root))
    monkeypatch.setenv("REPRO_DATA", str(droot))
    monkeypatch.setenv("REPRO_RESULTS", str(tmp_path / "results"))
    data.forget_verification()
    yield root
    data.forget_verification()


def _claims(results: Path, profile="full"):
    return json.loads((results / "toy" / profile / "claims.json").read_text())["claims"]


def test_run_skip_rerun_fail_atomic(toy, tmp_path):
    results = tmp_path / "results"
    logs = []
    rep = chains.run("toy", "full", log=logs.append)
    assert rep.executed == ["01_make.ipynb", "02_claim.ipynb"] and rep.skipped == []
    assert any("[toy 1/2] 01_make.ipynb" in m and "done in" in m for m in logs)
    c = _claims(results)["doubled"]
    assert c["ours"] == 4 and c["verdict"] == "reproduced" and c["profile"] == "full"
    assert (results / "toy" / "full" / "02_claim.ipynb").exists()
    executed = json.loads((results / "toy" / "full" / "01_make.ipynb").read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "figures are drawn inline for the book"

    # nothing changed: nothing executes
    rep = chains.run("toy", "full", log=logs.append)
    assert rep.executed == [] and rep.skipped == ["01_make.ipynb", "02_claim.ipynb"]

    # a parameter changes: everything re-runs, the claim follows
    rep = chains.run("toy", "full", {"x": "3"}, log=logs.append)
    assert rep.executed == ["01_make.ipynb", "02_claim.ipynb"]
    assert _claims(results)["doubled"]["verdict"] == "not reproduced"
    good_prov = (results / "toy" / "full" / "provenance.json").read_text()

    # a failing run names notebook and cell and leaves the previous results as they were
    with pytest.raises(ChainError) as e:
        chains.run("toy", "full", {"x": "3", "fail": "true"}, log=logs.append)
    msg = str(e.value)
    assert "02_claim.ipynb failed in cell" in msg and "RuntimeError: failing on purpose" in msg
    assert (results / "toy" / "full" / "provenance.json").read_text() == good_prov
    assert _claims(results)["doubled"]["ours"] == 6
    assert (results / "toy" / ".failed-full" / "02_claim.ipynb").exists()
    assert not list((results / "toy").glob(".staging-*"))

    # editing the second notebook re-runs only it
    nb2 = toy / "notebooks" / "toy" / "02_claim.ipynb"
    nb2.write_text(nb2.read_text().replace("x is doubled", "x is twice x"))
    rep = chains.run("toy", "full", {"x": "3"}, log=logs.append)
    assert rep.skipped == ["01_make.ipynb"] and rep.executed == ["02_claim.ipynb"]
    assert _claims(results)["doubled"]["statement"] == "x is twice x"
    assert not (results / "toy" / ".failed-full").exists()


def test_bad_input_fails_before_anything_runs(toy, tmp_path):
    with pytest.raises(ParameterError, match="unknown parameter 'y'"):
        chains.run("toy", "full", {"y": 1})
    with pytest.raises(ChainError, match="unknown chain 'nope'; available chains: toy"):
        chains.run("nope", "full")
    f = tmp_path / "data" / "toyset" / "numbers.txt"
    f.write_text("1 2 4\n")
    with pytest.raises(DataError, match="toyset.*corrupted.*numbers.txt.*example.org/toy"):
        chains.run("toy", "smoke")
    assert not (tmp_path / "results" / "toy").exists()


def test_data_registry_change_triggers_rerun(toy, tmp_path):
    chains.run("toy", "smoke", log=lambda m: None)
    f = tmp_path / "data" / "toyset" / "numbers.txt"
    f.write_text("1 2 3 4\n")
    data.forget_verification()
    data.write_manifest("toyset")  # the registry is regenerated for the new data
    rep = chains.run("toy", "smoke", log=lambda m: None)
    assert rep.executed == ["01_make.ipynb", "02_claim.ipynb"]


def test_missing_earlier_output_gives_clear_error(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_RUN_DIR", str(tmp_path / "empty"))
    run = chains.start("toy", "smoke", {}, notebook="02_claim")
    with pytest.raises(ChainError, match="value.json does not exist: run the earlier notebooks"):
        run.load_json("value.json")


def test_provenance_follows_repro_imports(tmp_path):
    nb = tmp_path / "a.ipynb"
    nbtemplate.write(nb, [("md", "# t"), ("code", "%matplotlib inline\nfrom repro.astro import sfcompare\nimport repro.claims")])
    files = {p.name for p in provenance.repro_modules([nb])}
    assert {"sfcompare.py", "claims.py", "params.py", "chains.py"} <= files
    assert "s82.py" not in files
    nb2 = tmp_path / "b.ipynb"
    nbtemplate.write(nb2, [("md", "# t"), ("code", "from repro.astro import s82")])
    files2 = {p.relative_to(provenance.PACKAGE_ROOT).as_posix() for p in provenance.repro_modules([nb2])}
    assert {"repro/astro/s82.py", "repro/astro/__init__.py", "repro/data.py"} <= files2


def test_hash_changes_with_params_and_chains_forward(tmp_path):
    a, b = tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb"
    nbtemplate.write(a, [("md", "# a"), ("code", "x = 1")])
    nbtemplate.write(b, [("md", "# b"), ("code", "y = 2")])
    h1 = provenance.chain_hashes([a, b], {"p": 1}, [])
    h2 = provenance.chain_hashes([a, b], {"p": 2}, [])
    assert h1[0] != h2[0] and h1[1] != h2[1]
    nbtemplate.write(a, [("md", "# a"), ("code", "x = 10")])
    h3 = provenance.chain_hashes([a, b], {"p": 1}, [])
    assert h3[0] != h1[0] and h3[1] != h1[1]  # a change upstream re-runs downstream

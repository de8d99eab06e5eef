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
                            ("code", textwrap.dedent(body)), ("md", "## Summary\n\nDone.")], chain="toy")


@pytest.fixture
def toy(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    nbdir = root / "notebooks" / "toy"
    nbdir.mkdir(parents=True)
    spec = json.loads(json.dumps(PARAMS, default=lambda t: t.__name__))
    (nbdir / "params.yaml").write_text(yaml.safe_dump(spec))
    (nbdir / "claims.yaml").write_text(yaml.safe_dump({"chain": "toy", "claims": {"doubled": {
        "notebook": "02_claim", "statement": "x is doubled", "source": "Sect. 1", "paper": 4,
        "rule": {"within_abs": 0}}}}))
    monkeypatch.setenv("REPRO_ROOT", str(root))
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
        run.claim("doubled", v, note="x times two")
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

    prov = json.loads((results / "toy" / "full" / "provenance.json").read_text())
    assert set(prov["wall_seconds"]) == {"01_make.ipynb", "02_claim.ipynb"} and prov["finished_utc"].endswith("Z")
    assert prov["machine"]["cores"] >= 1 and prov["packages"]["numpy"]
    assert prov["code"] == {"commit": None, "dirty": None, "changed": []}   # the toy repo is no git checkout
    assert (results / "toy" / ".log-full" / "01_make.log").exists()   # kernel noise goes there, not to the terminal

    # nothing changed: nothing executes
    rep = chains.run("toy", "full", log=logs.append)
    assert rep.executed == [] and rep.skipped == ["01_make.ipynb", "02_claim.ipynb"]

    # a parameter's value changes: everything re-runs, the claim follows
    pfile = toy / "notebooks" / "toy" / "params.yaml"
    pfile.write_text(pfile.read_text().replace("full: 2", "full: 3"))
    rep = chains.run("toy", "full", log=logs.append)
    assert rep.executed == ["01_make.ipynb", "02_claim.ipynb"]
    assert _claims(results)["doubled"]["verdict"] == "not reproduced"
    good_prov = (results / "toy" / "full" / "provenance.json").read_text()

    # a failing run names notebook and cell and leaves the previous results as they were
    pfile.write_text(pfile.read_text().replace("value: false", "value: true"))
    with pytest.raises(ChainError) as e:
        chains.run("toy", "full", log=logs.append)
    msg = str(e.value)
    assert "02_claim.ipynb failed in cell" in msg and "RuntimeError: failing on purpose" in msg
    assert (results / "toy" / "full" / "provenance.json").read_text() == good_prov
    assert _claims(results)["doubled"]["ours"] == 6
    assert (results / "toy" / ".failed-full" / "02_claim.ipynb").exists()
    assert not list((results / "toy").glob(".staging-*"))
    pfile.write_text(pfile.read_text().replace("value: true", "value: false"))

    # editing the second notebook re-runs only it, and the runner says why
    nb2 = toy / "notebooks" / "toy" / "02_claim.ipynb"
    nb2.write_text(nb2.read_text().replace("x times two", "x twice"))
    logs.clear()
    rep = chains.run("toy", "full", log=logs.append)
    assert rep.skipped == ["01_make.ipynb"] and rep.executed == ["02_claim.ipynb"]
    assert _claims(results)["doubled"]["note"] == "x twice"
    assert any("02_claim.ipynb" in m and "notebook source changed" in m for m in logs), logs
    assert not (results / "toy" / ".failed-full").exists()


def _tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overrides_make_a_variant_and_never_touch_the_record(toy, tmp_path):
    results = tmp_path / "results"
    chains.run("toy", "smoke", log=lambda m: None)
    record = _tree(results / "toy" / "smoke")
    rep = chains.run("toy", "smoke", {"x": "5"}, log=lambda m: None)
    assert rep.run_dir == results / "toy" / "smoke@x=5"
    assert _claims(results, "smoke@x=5")["doubled"]["ours"] == 10
    assert _tree(results / "toy" / "smoke") == record
    rep = chains.run("toy", "smoke", {"x": "5"}, name="mine", log=lambda m: None)
    assert rep.run_dir.name == "smoke@mine"


def test_a_second_run_of_the_same_folder_stops_at_once(toy, tmp_path):
    import fcntl
    lock = tmp_path / "results" / "toy" / ".lock-smoke"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as fh:   # another process holds the folder
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write("4242")
        fh.flush()
        import subprocess
        import sys
        import time
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "repro", "run", "toy", "--profile", "smoke"],
                           capture_output=True, text=True, timeout=120)
        assert time.perf_counter() - t0 < 60
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: another run of toy/smoke is in progress (process 4242); wait for it, or pass --wait"]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupt_leaves_no_staging_no_kernel_and_the_record(toy, tmp_path, sig):
    import signal
    import subprocess
    import sys
    import time
    results = tmp_path / "results"
    chains.run("toy", "smoke", log=lambda m: None)
    record = _tree(results / "toy" / "smoke")
    nb1 = toy / "notebooks" / "toy" / "01_make.ipynb"
    nb1.write_text(nb1.read_text().replace("import matplotlib.pyplot as plt", "import time; time.sleep(60)\\n"
                                                                             "import matplotlib.pyplot as plt"))
    p = subprocess.Popen([sys.executable, "-m", "repro", "run", "toy", "--profile", "smoke"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staging = results / "toy"
    for _ in range(600):   # wait until the kernel is busy in the first notebook
        if list(staging.glob(".staging-*")) and chains._children(p.pid):
            break
        time.sleep(0.1)
    time.sleep(3)
    kernels = chains._children(p.pid)
    assert kernels
    p.send_signal(getattr(signal, sig))
    out, err = p.communicate(timeout=60)
    assert p.returncode != 0
    assert "Traceback" not in err and "interrupted" in err, err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
    assert not list(staging.glob(".staging-*"))
    time.sleep(0.5)
    assert not [k for k in kernels if chains._pid_alive(k) and Path(f"/proc/{k}").exists()
                and "Z" not in Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0]]
    assert _tree(results / "toy" / "smoke") == record


def test_dead_runs_staging_is_removed_by_the_next_run(toy, tmp_path):
    dead = tmp_path / "results" / "toy" / ".staging-smoke-999999"
    dead.mkdir(parents=True)
    assert chains.dead_staging(dead.parent) == [dead]
    chains.run("toy", "smoke", log=lambda m: None)
    assert not dead.exists()


def _set_params(root: Path, **changes):
    p = root / "notebooks" / "toy" / "params.yaml"
    spec = yaml.safe_load(p.read_text())
    spec.update(changes)
    p.write_text(yaml.safe_dump(spec))


def test_declared_reads_limit_reruns(toy, tmp_path):
    """A notebook re-runs only when something it reads re-runs."""
    nbdir = toy / "notebooks" / "toy"
    _write_nb(nbdir / "03_alone.ipynb", """
        from repro import chains
        run = chains.start("toy", profile, overrides, notebook="03_alone")
        run.save_json("alone.json", {"y": 1})
    """, "Alone")
    _set_params(toy, notebooks=["01_make.ipynb", "02_claim.ipynb", "03_alone.ipynb"],
                reads={"02_claim": ["01_make"], "03_alone": []})
    logs = []
    chains.run("toy", "smoke", log=logs.append)
    nb1 = nbdir / "01_make.ipynb"
    nb1.write_text(nb1.read_text().replace("run.params.x * 2", "run.params.x * 2 + 0"))
    logs.clear()
    rep = chains.run("toy", "smoke", log=logs.append)
    assert rep.executed == ["01_make.ipynb", "02_claim.ipynb"] and rep.skipped == ["03_alone.ipynb"]
    assert any("02_claim.ipynb" in m and "reads 01_make, which re-runs" in m for m in logs), logs


def test_undeclared_read_is_refused(toy, tmp_path):
    _set_params(toy, reads={"02_claim": []})
    with pytest.raises(ChainError, match="does not declare that 02_claim reads 01_make"):
        chains.run("toy", "smoke", log=lambda m: None)


def test_missing_declared_claim_fails_the_run(toy, tmp_path):
    p = toy / "notebooks" / "toy" / "claims.yaml"
    spec = yaml.safe_load(p.read_text())
    spec["claims"]["tripled"] = dict(spec["claims"]["doubled"], statement="x is tripled")
    p.write_text(yaml.safe_dump(spec))
    with pytest.raises(ChainError, match="did not record the declared claim\\(s\\) tripled"):
        chains.run("toy", "smoke", log=lambda m: None)
    assert not (tmp_path / "results" / "toy" / "smoke").exists()


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
    nbtemplate.write(nb, [("md", "# t"), ("code", "%matplotlib inline\nfrom repro.astro import sersic\nimport repro.claims")])
    files = {p.relative_to(provenance.PACKAGE_ROOT).as_posix() for p in provenance.repro_modules([nb])}
    assert {"repro/astro/sersic.py", "repro/astro/__init__.py", "repro/data.py", "repro/io.py"} <= files
    assert not [f for f in files if "psfgan" in f or "mergers" in f]
    assert not {"repro/claims.py", "repro/params.py", "repro/chains.py"} & files   # bookkeeping: no number
    nb2 = tmp_path / "b.ipynb"
    nbtemplate.write(nb2, [("md", "# t"), ("code", "from repro.sgd import network")])
    files2 = {p.relative_to(provenance.PACKAGE_ROOT).as_posix() for p in provenance.repro_modules([nb2])}
    assert {"repro/sgd/network.py", "repro/sgd/__init__.py", "repro/data.py"} <= files2


def test_digest_changes_with_params_and_follows_reads(tmp_path):
    a, b = tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb"
    nbtemplate.write(a, [("md", "# a"), ("code", "x = 1")])
    nbtemplate.write(b, [("md", "# b"), ("code", "y = 2")])
    reads = {"01_a": (), "02_b": ("01_a",)}

    def digests(params):
        return provenance.digests(provenance.chain_inputs([a, b], params, [], reads))
    h1 = digests({"p": 1})
    h2 = digests({"p": 2})
    assert h1["01_a.ipynb"] != h2["01_a.ipynb"] and h1["02_b.ipynb"] != h2["02_b.ipynb"]
    nbtemplate.write(a, [("md", "# a"), ("code", "x = 10")])
    h3 = digests({"p": 1})
    assert h3["01_a.ipynb"] != h1["01_a.ipynb"] and h3["02_b.ipynb"] != h1["02_b.ipynb"]  # 02 reads 01
    reads["02_b"] = ()
    inputs = provenance.chain_inputs([a, b], {"p": 1}, [], reads)
    assert provenance.digests(inputs)["02_b.ipynb"] == provenance.digests(
        provenance.chain_inputs([a, b], {"p": 1}, [], reads))["02_b.ipynb"]


def test_reasons_name_what_changed(tmp_path):
    a = tmp_path / "01_a.ipynb"
    nbtemplate.write(a, [("md", "# a"), ("code", "from repro import io")])
    reads = {"01_a": ()}
    inp = provenance.chain_inputs([a], {"p": 1}, [], reads)
    prev = {"notebooks": provenance.digests(inp), "inputs": inp, "params": {"p": 1}}
    assert provenance.reasons(prev, inp, provenance.digests(inp)) == {"01_a.ipynb": []}
    new = provenance.chain_inputs([a], {"p": 2}, [], reads)
    why = provenance.reasons(prev, new, provenance.digests(new), {"p": 2})["01_a.ipynb"]
    assert why == ["parameters changed (p)"]
    new["01_a.ipynb"]["modules"]["repro/io.py"] = "other"
    why = provenance.reasons(prev, new, provenance.digests(new), {"p": 2})["01_a.ipynb"]
    assert "module repro/io.py changed" in why
    assert provenance.reasons({}, inp, provenance.digests(inp))["01_a.ipynb"] == ["no earlier result"]


def test_nbval_fails_on_a_missing_declared_claim(toy, tmp_path):
    """notebooks/conftest.py: under nbval, a declared claim that a notebook did not record fails it."""
    import subprocess
    import sys
    repo = Path(__file__).resolve().parent.parent
    nbdir = toy / "notebooks"
    shutil.copy(repo / "notebooks" / "conftest.py", nbdir / "conftest.py")
    chains.run("toy", "smoke", log=lambda m: None)   # 02 reads what 01 wrote
    import os
    env = {**os.environ, "REPRO_RESULTS": str(tmp_path / "results" / "toy-smoke-parent"),
           "PYTHONPATH": str(repo)}
    env["REPRO_RUN_DIR"] = str(tmp_path / "results" / "toy" / "smoke")

    def nbval(*extra):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                               "--nbval-current-env", str(nbdir / "toy" / "02_claim.ipynb"), *extra],
                              cwd=toy, env=env, capture_output=True, text=True, timeout=300)
    ok = nbval()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    p = nbdir / "toy" / "claims.yaml"
    spec = yaml.safe_load(p.read_text())
    spec["claims"]["tripled"] = dict(spec["claims"]["doubled"], statement="x is tripled")
    p.write_text(yaml.safe_dump(spec))
    bad = nbval()
    assert bad.returncode != 0 and "did not record the declared claim(s) tripled" in bad.stdout, bad.stdout


def _git(root, *args):
    import subprocess
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"})


def test_full_record_needs_committed_code(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_RESULTS", str(toy / "results"))   # the repository's own record
    (toy / ".gitignore").write_text("results/*/.*\n")
    _git(toy, "init", "-q")
    _git(toy, "add", "-A")
    _git(toy, "commit", "-qm", "toy")
    chains.run("toy", "full", log=lambda m: None)
    prov = json.loads((toy / "results" / "toy" / "full" / "provenance.json").read_text())
    assert len(prov["code"]["commit"]) == 40 and prov["code"]["dirty"] is False
    nb = toy / "notebooks" / "toy" / "02_claim.ipynb"
    nb.write_text(nb.read_text().replace("x times two", "x doubled"))
    with pytest.raises(ChainError, match="uncommitted changes \\(notebooks/toy/02_claim.ipynb\\).*--allow-dirty"):
        chains.run("toy", "full", log=lambda m: None)
    chains.run("toy", "smoke", log=lambda m: None)   # smoke runs are no evidence: allowed
    chains.run("toy", "full", allow_dirty=True, log=lambda m: None)
    prov = json.loads((toy / "results" / "toy" / "full" / "provenance.json").read_text())
    assert prov["code"]["dirty"] is True


def test_absent_intermediate_result_reruns_its_writer(toy, tmp_path):
    chains.run("toy", "smoke", log=lambda m: None)
    run_dir = tmp_path / "results" / "toy" / "smoke"
    (run_dir / "value.json").unlink()   # as in a fresh clone, where intermediate results are not committed
    nb = toy / "notebooks" / "toy" / "02_claim.ipynb"
    nb.write_text(nb.read_text().replace("x times two", "x doubled"))
    logs = []
    rep = chains.run("toy", "smoke", log=logs.append)
    assert rep.executed == ["01_make.ipynb", "02_claim.ipynb"]
    assert any("02_claim needs its result value.json" in m for m in logs), logs


def test_code_digest_ignores_docstrings_and_comments(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('"""Doc."""\ndef f(x):\n    """Twice."""\n    return 2 * x  # double\n')
    b.write_text('"""Another doc."""\n\n\ndef f(x):\n    # a comment\n    return 2 * x\n')
    c.write_text('def f(x):\n    return 3 * x\n')
    assert provenance.code_digest(a) == provenance.code_digest(b) != provenance.code_digest(c)

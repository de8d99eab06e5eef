"""The committed records are consistent: what the book shows agrees with claims.json."""
import json

import pytest

from repro import chains, params, status

from .test_chains import toy  # noqa: F401


@pytest.fixture
def committed(monkeypatch):
    """The repository's own results folder (``make test`` points REPRO_RESULTS elsewhere)."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "results"
    monkeypatch.setenv("REPRO_RESULTS", str(root))
    return root


@pytest.mark.parametrize("chain", params.available_chains())
def test_committed_record_is_consistent(chain, committed):
    assert (committed / chain / "full" / "claims.json").is_file(), f"no committed record of {chain}"
    assert status.record_problems(chain, "full") == []


def test_an_edited_record_is_caught(toy, tmp_path):  # noqa: F811
    chains.run("toy", "full", log=lambda m: None)
    assert status.record_problems("toy") == []
    p = tmp_path / "results" / "toy" / "full" / "claims.json"
    data = json.loads(p.read_text())
    data["claims"]["doubled"]["ours"] = 5
    p.write_text(json.dumps(data))
    assert status.record_problems("toy") == [
        "toy/full: claim doubled: claims.json says 5 (reproduced), the executed notebook 02_claim shows otherwise"]
    (tmp_path / "results" / "toy" / "full" / "01_make.ipynb").unlink()
    assert "toy/full: executed notebook 01_make.ipynb is missing" in status.record_problems("toy")


def test_the_record_fits_its_budget():
    """The committed record: under 20 MB in all, no file over 2 MiB (README "The record")."""
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    res = subprocess.run(["git", "ls-files", "results"], cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    sizes = {f: (root / f).stat().st_size for f in res.stdout.split() if (root / f).is_file()}
    big = {f: s for f, s in sizes.items() if s > 2 * 2 ** 20}
    assert not big, big
    assert sum(sizes.values()) < 20_000_000, sum(sizes.values())


def test_progress_bar_updates_are_coalesced_to_what_a_reader_sees(tmp_path):
    import nbformat
    from repro.chains import coalesce_streams
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"GAN: {i:3d}%\r") for i in range(100)]
    cell.outputs += [nbformat.v4.new_output("stream", name="stderr", text="GAN: 100%\n"),
                     nbformat.v4.new_output("stream", name="stdout", text="score 0.0138\n"),
                     nbformat.v4.new_output("stream", name="stdout", text="done\r\n")]
    nb.cells = [cell]
    p = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(p))
    coalesce_streams(p)
    out = nbformat.read(str(p), as_version=4).cells[0].outputs
    assert [(o["name"], o["text"]) for o in out] == [("stderr", "GAN: 100%\n"), ("stdout", "score 0.0138\ndone\r\n")]

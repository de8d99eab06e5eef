"""The command line as a user meets it: exit status 2 and one clear line on bad input."""
import json
import os
import subprocess
import sys

import pytest

from repro import claims, cli

from .conftest import needs_data


def _run(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "repro", *args], capture_output=True, text=True, env=e, timeout=120)


@pytest.mark.parametrize("args,fragment", [
    (["run", "nope"], "unknown chain 'nope'; available chains: adpsgd, agn"),
    (["run", "agn", "-p", "n_lightcurve", "3"], "unknown parameter 'n_lightcurve'"),
    (["run", "agn", "-p", "seed", "x"], "parameter 'seed' of chain 'agn' must be an int, got 'x'"),
    (["run", "agn", "-p", "seed", "1", "-p", "seed", "2"], "parameter 'seed' given twice"),
    (["run", "agn", "--profile", "huge"], "unknown profile 'huge'"),
    (["claims", "--chain", "nope"], "unknown chain 'nope'"),
    (["params", "nope"], "unknown chain 'nope'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exit_2_without_traceback(args, fragment, results_tmp):
    p = _run(*args)
    assert p.returncode == 2, p.stderr
    assert fragment in p.stderr
    assert "Traceback" not in p.stderr


def test_missing_data_root_is_one_line(results_tmp, tmp_path):
    p = _run("run", "agn", "--profile", "smoke", env={"REPRO_DATA": str(tmp_path / "none")})
    assert p.returncode == 2 and "is not a folder" in p.stderr and "Traceback" not in p.stderr


@needs_data
def test_data_check_prints_one_line_per_dataset():
    p = _run("data", "check")
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    from repro import data
    assert len(lines) == len(data.names())
    assert all(" ok " in ln and "origin:" in ln for ln in lines), p.stdout
    assert p.returncode == 0


def test_claims_formats_and_filters(results_tmp, capsys):
    claims.record("agn", "a", 0.1, statement="s1", rule={"at_most": 0.3}, profile="full",
                  run_dir=results_tmp / "agn" / "full")
    claims.record("agn", "b", 0.5, statement="s2", rule={"at_most": 0.3}, profile="smoke",
                  run_dir=results_tmp / "agn" / "smoke")
    assert cli.main(["claims", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["key"], r["profile"], r["verdict"]) for r in rows} == {("a", "full", "reproduced"), ("b", "smoke", "not reproduced")}
    for k in ("chain", "key", "statement", "paper", "ours", "rule", "verdict", "profile"):
        assert k in rows[0]
    assert cli.main(["claims", "--format", "json", "--profile", "full"]) == 0
    assert [r["key"] for r in json.loads(capsys.readouterr().out)] == ["a"]
    assert cli.main(["claims", "--format", "markdown", "--chain", "agn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Paper | Claim |") and "s1" in out and "s2" in out
    assert cli.main(["claims"]) == 0
    assert "1 not reproduced, 1 reproduced" in capsys.readouterr().out


def test_params_and_list(capsys):
    assert cli.main(["list"]) == 0
    assert "agn" in capsys.readouterr().out
    assert cli.main(["params", "agn"]) == 0
    assert "n_lightcurves" in capsys.readouterr().out


def test_make_run_translates_params():
    """`make run CHAIN=agn PARAMS="seed=7 n_lightcurves=200"` must call `repro run` with -p pairs."""
    from pathlib import Path
    repo = Path(__file__).resolve().parent.parent
    p = subprocess.run(["make", "-n", "-o", ".venv/.installed", "run", "CHAIN=agn", "PARAMS=seed=7 n_lightcurves=200"],
                       cwd=repo, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "-m repro run agn --profile full -p seed 7 -p n_lightcurves 200" in p.stdout

"""The command line as a user meets it: exit status 2 and one clear line on bad input."""
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_claims_formats_and_filters(declared, capsys):
    claims.record("alpha", "err_transfer", 0.01, profile="full", run_dir=declared / "alpha" / "full")
    claims.record("alpha", "k1", 1.5, profile="smoke", run_dir=declared / "alpha" / "smoke")
    assert cli.main(["claims", "--format", "json", "--chain", "alpha"]) == 0
    rows = json.loads(capsys.readouterr().out)
    got = {(r["key"], r["profile"], r["verdict"]) for r in rows}
    assert {("err_transfer", "full", "reproduced"), ("k1", "smoke", "not reproduced"),
            ("k1", "full", "missing"), ("err_transfer", "smoke", "missing")} <= got
    for k in ("chain", "key", "statement", "paper", "ours", "rule", "verdict", "profile", "source"):
        assert k in rows[0]
    assert cli.main(["claims", "--format", "json", "--profile", "full", "--chain", "alpha"]) == 0
    assert [r["key"] for r in json.loads(capsys.readouterr().out)] == ["err_transfer", "err_better", "k1", "ks_p"]
    assert cli.main(["claims", "--format", "markdown", "--chain", "alpha"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Paper | Claim |") and "pipe" in out
    assert cli.main(["claims", "--chain", "beta"]) == 0
    assert "2 missing" in capsys.readouterr().out


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


def test_closed_pipe_exits_quietly():
    """`python -m repro params agn | head -1`: no BrokenPipeError traceback."""
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, "-m", "repro", "params", "agn"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    p.stdout.close()   # the reader has gone before the first line is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err

"""Plain papermill and Jupyter executions: parameters by name, unknown names refused, never the record."""
import json
import subprocess
import sys

import papermill as pm
import pytest

from repro import chains, nbtemplate

from .test_chains import toy  # noqa: F401


def _execute(root, tmp_path, **parameters):
    nb = root / "notebooks" / "toy" / "01_make.ipynb"
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(nb), str(out), parameters=parameters, kernel_name="python3", cwd=str(nb.parent),
                        progress_bar=False)
    return out


def test_a_chain_parameter_set_by_name_with_papermill_changes_the_result(toy, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv(chains.ENV_RUN_DIR, raising=False)
    chains.run("toy", "full", log=lambda m: None)
    record = tmp_path / "results" / "toy" / "full"
    before = {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()}
    out = _execute(toy, tmp_path, profile="full", x=5)
    scratch = tmp_path / "results" / "toy" / "full@interactive"
    assert json.loads((scratch / "value.json").read_text()) == {"x": 10}          # x = 5, not the profile's 2
    assert {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()} == before   # the record untouched
    text = out.read_text()
    assert "interactive run of toy/01_make" in text                                 # it says where it wrote


def test_an_unknown_name_passed_to_papermill_stops_the_notebook(toy, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv(chains.ENV_RUN_DIR, raising=False)
    with pytest.raises(pm.PapermillExecutionError) as e:
        _execute(toy, tmp_path, profile="smoke", xx=5)
    assert "unknown parameter 'xx' for chain 'toy' (did you mean 'x'?)" in str(e.value)


def test_the_parameters_cell_lists_every_parameter_for_help_notebook(toy):  # noqa: F811
    src = nbtemplate.parameters_source("toy")
    assert "x: int = None  # ≥ 0. input" in src and "fail: bool = None  # make notebook 02 fail" in src
    nb = toy / "notebooks" / "toy" / "01_make.ipynb"
    res = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(nb)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "x: int (default None)" in res.stdout and "input" in res.stdout


def test_a_parameter_given_twice_with_different_values_is_refused(toy):  # noqa: F811
    from repro.params import ParameterError
    ns = {"x": 3}
    assert chains.named_parameters("toy", ns) == {"x": 3}
    assert chains.named_parameters("toy", {"x": None, "np": sys}) == {}
    with pytest.raises(ParameterError, match="did you mean 'x'"):
        chains.named_parameters("toy", {"_ih": ["", "# Parameters\nprofile = 'smoke'\nxs = 2\n"]})
    g = {"x": 3, "__name__": "nb"}
    exec("from repro import chains\nrun = None\ntry:\n    chains.start('toy', 'smoke', {'x': 4})\n"
         "except Exception as exc:\n    err = exc\n", g)
    assert isinstance(g["err"], ParameterError) and "set twice" in str(g["err"])

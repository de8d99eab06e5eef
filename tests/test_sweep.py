"""Seed sweeps and variants side by side, on the two-notebook toy chain."""
import pytest

from repro import chains, cli, sweep
from repro.errors import ParameterError

from .test_chains import toy  # noqa: F401


@pytest.mark.parametrize("spec,expected", [("seed=0..2", ("seed", ["0", "1", "2"])), ("x=1,3", ("x", ["1", "3"]))])
def test_parse_sweep(spec, expected):
    assert sweep.parse_sweep(spec) == expected


@pytest.mark.parametrize("spec", ["seed", "seed=3..1", "seed=a..b", "x="])
def test_bad_sweeps(spec):
    with pytest.raises(ParameterError):
        sweep.parse_sweep(spec)


def test_sweep_stability_and_compare(toy, tmp_path, capsys):  # noqa: F811
    chains.run("toy", "smoke", log=lambda m: None)                 # the record: x = 1 -> 2, not 4
    done = sweep.run_sweep("toy", "smoke", "x", ["1", "2", "3"], jobs=2, log=lambda m: None)
    assert sorted(done) == [("smoke@x=1", 0), ("smoke@x=2", 0), ("smoke@x=3", 0)]
    rows = sweep.stability("toy", "smoke", "x")
    assert rows == [{"key": "doubled", "statement": "x is doubled", "n": 3, "reproduced": 1,
                     "verdicts": {"not reproduced": 2, "reproduced": 1}, "min": 2.0, "median": 4.0, "max": 6.0,
                     "summary": "1 reproduced, 2 not reproduced"}]
    assert "1 reproduced, 2 not reproduced" in sweep.stability_table(rows, "x") and "flips with the x" in sweep.stability_table(rows, "x")
    table = sweep.compare_table("toy", "smoke")
    assert table.splitlines()[0].split() == ["claim", "record", "x=1", "x=2", "x=3"]
    assert "4 yes*" in table and "6 no " in table
    assert cli.main(["claims", "--chain", "toy", "--profile", "smoke", "--sweep", "x"]) == 0
    assert "1 reproduced, 2 not reproduced" in capsys.readouterr().out


def test_a_committed_seed_sweep_shows_on_the_claims_page(toy, tmp_path):  # noqa: F811
    from repro import book, claims
    chains.run("toy", "full", log=lambda m: None)
    # the toy chain has no seed parameter: two variants named as a seed sweep names them
    for seed, x in (("1", "2"), ("2", "3")):
        chains.run("toy", "full", {"x": x}, name=f"seed={seed}", log=lambda m: None)
    across = book.across_seeds("toy", "full")
    assert across["doubled"] == "**flips with the seed:** 2 seeds: 1 reproduced, 1 not reproduced; 4 to 6"
    table = claims.markdown_table(claims.collect(chain="toy", profile="full"), across=across)
    assert "Across seeds" in table.splitlines()[0] and "flips with the seed" in table

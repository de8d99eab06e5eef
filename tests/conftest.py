"""Shared test setup: the real data root and an isolated results folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
if not os.environ.get("REPRO_DATA") and SHARED.is_dir():
    os.environ["REPRO_DATA"] = str(SHARED)


def _has_data() -> bool:
    d = os.environ.get("REPRO_DATA")
    return bool(d) and Path(d).is_dir()


needs_data = pytest.mark.skipif(not _has_data(), reason="REPRO_DATA is not set to the data folder")


@pytest.fixture
def results_tmp(tmp_path, monkeypatch):
    """Point REPRO_RESULTS at a fresh folder."""
    d = tmp_path / "results"
    monkeypatch.setenv("REPRO_RESULTS", str(d))
    return d


def make_chain(root: Path, chain: str, claims: dict, notebooks=("02_a.ipynb", "03_b.ipynb"), parameters=None):
    """A chain with a params.yaml and a claims.yaml (no notebook files) under ``root/notebooks``."""
    import yaml
    d = root / "notebooks" / chain
    d.mkdir(parents=True, exist_ok=True)
    params = {"chain": chain, "title": chain, "paper": "arXiv:0000.00000", "notebooks": list(notebooks),
              "parameters": parameters or {"tol": {"type": "float", "value": 0.04, "doc": "a tolerance"}}}
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    (d / "claims.yaml").write_text(yaml.safe_dump({"chain": chain, "claims": claims}, sort_keys=False))
    return d


def claim_decl(notebook="02_a", rule=None, statement="s", paper=None, **extra):
    """One claims.yaml entry."""
    d = {"notebook": notebook, "statement": statement, "source": "Sect. 2", "rule": rule or {"at_most": 1}}
    if paper is not None:
        d["paper"] = paper
    d.update(extra)
    return d


@pytest.fixture
def declared(tmp_path, monkeypatch):
    """A repository with two chains, ``alpha`` and ``beta``, that declare claims; results in tmp."""
    root = tmp_path / "repo"
    make_chain(root, "alpha", {
        "err_transfer": claim_decl("02_a", {"at_most": {"param": "tol"}}, "a"),
        "err_better": claim_decl("03_b", {"less_than_claim": "err_transfer"}, "b"),
        "k1": claim_decl("03_b", {"at_most": 1}, "s | with pipe", paper=0.4),
        "ks_p": claim_decl("03_b", {"at_least": 0.05}, "<b>"),
    })
    make_chain(root, "beta", {
        "k2": claim_decl("02_a", {"not_checkable": "no cluster"}, "needs GPU cluster"),
        "k3": claim_decl("02_a", {"within_rel": 0.1}, "slope is {tol}", paper={"param": "tol"}, unit="dex"),
    })
    monkeypatch.setenv("REPRO_ROOT", str(root))
    results = tmp_path / "results"
    monkeypatch.setenv("REPRO_RESULTS", str(results))
    return results

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

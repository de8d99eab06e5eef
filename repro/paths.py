"""Where things live: the repository, the results folder, the data root."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError


def repo_root() -> Path:
    """The repository holding ``notebooks/`` and ``data/`` (``REPRO_ROOT`` overrides)."""
    env = os.environ.get("REPRO_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parent.parent


def results_root() -> Path:
    """Root of all run outputs: ``REPRO_RESULTS`` or ``<repo>/results`` (git-ignored)."""
    env = os.environ.get("REPRO_RESULTS")
    return Path(env).resolve() if env else repo_root() / "results"


def notebooks_root() -> Path:
    """``<repo>/notebooks``: one folder per chain."""
    return repo_root() / "notebooks"


def registry_root() -> Path:
    """``<repo>/data``: the data registry (never the data)."""
    return repo_root() / "data"


def run_folder(chain: str, profile: str, variant: str | None = None) -> Path:
    """Where a run of ``chain`` writes: the record ``results/<id>/<profile>/``, or a variant
    beside it, ``results/<id>/<profile>@<variant>/`` (a run with overrides, or an interactive one)."""
    return results_root() / chain / (f"{profile}@{variant}" if variant else profile)


def variant_name(overrides) -> str:
    """The folder suffix of a run with ``overrides``: sorted ``key=value`` pairs, e.g. ``n=3,seed=7``."""
    import re
    parts = []
    for k in sorted(overrides):
        v = overrides[k]
        v = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        parts.append(f"{k}={v}")
    name = re.sub(r"[^A-Za-z0-9=.,_+-]", "_", ",".join(parts))
    return name[:120]


def data_root() -> Path:
    """The folder holding the real data sets: ``REPRO_DATA`` when set, else ``../shared/data``
    beside the checkout when it exists (as the Makefile does).

    Raises
    ------
    DataError
        When neither names a folder (the message lists the places looked at).
    """
    env = os.environ.get("REPRO_DATA")
    if not env:
        beside = repo_root().parent / "shared" / "data"
        if beside.is_dir():
            return beside.resolve()
        raise DataError(
            f"no data folder: REPRO_DATA is not set and {beside} does not exist; point REPRO_DATA at the "
            "folder that holds the data sets"
        )
    root = Path(env).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"REPRO_DATA={env} is not a folder: point it at the folder that holds the data sets")
    return root

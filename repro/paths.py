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


def data_root() -> Path:
    """The folder holding the real data sets, from ``REPRO_DATA``.

    Raises
    ------
    DataError
        When ``REPRO_DATA`` is unset or does not name a folder.
    """
    env = os.environ.get("REPRO_DATA")
    if not env:
        raise DataError(
            "REPRO_DATA is not set: point it at the folder that holds the data sets "
            "(the Makefile and .ci/run use ../shared/data when it exists)"
        )
    root = Path(env).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"REPRO_DATA={env} is not a folder: point it at the folder that holds the data sets")
    return root

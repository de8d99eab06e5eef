"""Checks that notebooks assert (nbval fails the notebook when one does not hold).

Use these for facts that must hold for the computation to be meaningful (data counts,
finite results, shapes) — never for a paper's claim, which is *recorded*, not asserted.
"""
from __future__ import annotations

import numpy as np


def check(condition: bool, message: str) -> None:
    """Raise ``AssertionError(message)`` unless ``condition``."""
    if not bool(condition):
        raise AssertionError(message)


def check_finite(x, name: str) -> None:
    """Raise ``AssertionError`` naming ``name`` unless every value of ``x`` is finite."""
    arr = np.asarray(x, dtype=float)
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    check(bad == 0, f"{name}: {bad} of {arr.size} values are not finite")


def check_between(x, low: float, high: float, name: str) -> None:
    """Raise ``AssertionError`` naming ``name`` unless every value of ``x`` lies in ``[low, high]``."""
    arr = np.asarray(x, dtype=float)
    check(arr.size > 0 and np.all((arr >= low) & (arr <= high)),
          f"{name}: expected every value in [{low}, {high}], got min {np.nanmin(arr):.4g}, max {np.nanmax(arr):.4g}")


def check_count(n: int, expected: int, name: str, at_least: bool = False) -> None:
    """Raise ``AssertionError`` unless ``n == expected`` (or ``n >= expected`` with ``at_least``)."""
    ok = n >= expected if at_least else n == expected
    check(ok, f"{name}: expected {'at least ' if at_least else ''}{expected}, got {n}")


def declared_claims_recorded(notebook_path) -> None:
    """Check that an executed chain notebook recorded every claim its chain declares for it.

    Used by ``notebooks/conftest.py`` after nbval has run a notebook's last cell: a claim in
    ``notebooks/<id>/claims.yaml`` that the notebook did not record shows as ``missing`` and
    fails the notebook's test.

    Raises
    ------
    AssertionError
        Naming the notebook and the missing claim keys.
    """
    import os
    from pathlib import Path

    from . import claims, claimspec

    nb = Path(notebook_path)
    chain = nb.parent.name
    if not claimspec.exists(chain):
        return
    profile = os.environ.get("REPRO_PROFILE", "smoke")
    store = claims.load_store(claims.store_path(chain, profile, _run_dir(chain, profile)))
    missing = claims.missing_in(chain, nb.stem, store)
    check(not missing, f"{chain}/{nb.name} did not record the declared claim(s) {', '.join(missing)} "
                       f"(notebooks/{chain}/claims.yaml)")


def forget_claims_of(notebook_path) -> None:
    """Drop the claims a notebook recorded in an earlier execution (before nbval runs it again)."""
    import os
    from pathlib import Path

    from . import claims

    nb = Path(notebook_path)
    chain = nb.parent.name
    profile = os.environ.get("REPRO_PROFILE", "smoke")
    path = claims.store_path(chain, profile, _run_dir(chain, profile))
    if path.exists():
        claims.drop_notebooks(path, [nb.name])


def _run_dir(chain: str, profile: str):
    """The folder a notebook executed outside ``repro run`` writes to (see :class:`repro.chains.RunContext`)."""
    import os
    from pathlib import Path

    from .paths import run_folder
    env = os.environ.get("REPRO_RUN_DIR")
    return Path(env) if env else run_folder(chain, profile, "interactive")

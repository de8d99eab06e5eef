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
    arr = np.asarray(x, dtype=float)
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    check(bad == 0, f"{name}: {bad} of {arr.size} values are not finite")


def check_between(x, low: float, high: float, name: str) -> None:
    arr = np.asarray(x, dtype=float)
    check(arr.size > 0 and np.all((arr >= low) & (arr <= high)),
          f"{name}: expected every value in [{low}, {high}], got min {np.nanmin(arr):.4g}, max {np.nanmax(arr):.4g}")


def check_count(n: int, expected: int, name: str, at_least: bool = False) -> None:
    ok = n >= expected if at_least else n == expected
    check(ok, f"{name}: expected {'at least ' if at_least else ''}{expected}, got {n}")

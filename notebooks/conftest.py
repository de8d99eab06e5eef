"""nbval: a notebook passes only when it records every claim its chain declares for it."""
from repro import testing

_started: set = set()


def _is_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_runtest_setup(item):
    if _is_cell(item) and item.path not in _started:
        _started.add(item.path)
        testing.forget_claims_of(item.path)


def pytest_runtest_teardown(item, nextitem):
    if _is_cell(item) and (nextitem is None or getattr(nextitem, "path", None) != item.path):
        testing.declared_claims_recorded(item.path)

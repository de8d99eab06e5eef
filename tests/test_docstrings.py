"""The examples in the docstrings of the core modules run and give what they show."""
import doctest
import importlib

import pytest

CORE = ["repro.claims", "repro.claimspec", "repro.provenance", "repro.status", "repro.sweep", "repro.bookcheck", "repro.book", "repro.sphinxext", "repro.verify", "repro.judge", "repro.params", "repro.chains", "repro.data",
        "repro.paths", "repro.io", "repro.datasets", "repro.astro.sersic", "repro.quantize"]


@pytest.mark.parametrize("name", CORE)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    failed, _ = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert failed == 0, f"{name}: {failed} docstring example(s) failed"


@pytest.mark.parametrize("name", CORE)
def test_public_functions_are_documented(name):
    import inspect
    mod = importlib.import_module(name)
    undocumented = [n for n, obj in vars(mod).items()
                    if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and getattr(obj, "__module__", None) == name and not inspect.getdoc(obj)]
    assert not undocumented, f"{name}: no docstring on {', '.join(undocumented)}"

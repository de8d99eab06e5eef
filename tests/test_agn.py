"""Tests of the package repro.astro.agn: its public API and the examples in its docstrings."""
import doctest
import importlib
import inspect

import pytest

from repro.astro import agn

MODULES = ["repro.astro.agn", "repro.astro.agn.psd", "repro.astro.agn.erdf", "repro.astro.agn.lightcurves",
           "repro.astro.agn.structure_functions", "repro.astro.agn.flicker", "repro.astro.agn.multiscale",
           "repro.astro.agn.s82", "repro.astro.agn.comparison"]


def test_public_names_are_importable_from_the_package():
    for name in agn.__all__:
        assert callable(getattr(agn, name)), name
    # every submodule's public API is re-exported
    for modname in MODULES[1:]:
        mod = importlib.import_module(modname)
        public = [n for n in getattr(mod, "__all__", ()) if inspect.isfunction(getattr(mod, n))
                  or inspect.isclass(getattr(mod, n))]
        assert set(public) <= set(agn.__all__), modname


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    failed, _ = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert failed == 0, f"{name}: {failed} docstring example(s) failed"


@pytest.mark.parametrize("name", MODULES)
def test_public_functions_and_classes_are_documented(name):
    mod = importlib.import_module(name)
    bare = [n for n, obj in vars(mod).items()
            if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == name
            and not any(f"{s}\n---" in (inspect.getdoc(obj) or "") for s in ("Parameters", "Returns", "Attributes"))]
    assert not bare, f"{name}: no numpydoc section (Parameters, Returns or Attributes) in {', '.join(bare)}"

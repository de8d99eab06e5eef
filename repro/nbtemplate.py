"""The template of a chain notebook, and its parameters cell written from ``params.yaml``.

Every notebook's first code cell is tagged ``parameters`` and declares ``profile``,
``overrides`` and every parameter of its chain with the default ``None`` ("the profile's
value"), each with its type and meaning as a comment, so that

- ``papermill nb.ipynb out.ipynb -p n_lightcurves 200`` sets a parameter by its name,
- ``papermill --help-notebook nb.ipynb`` lists every parameter with its meaning,
- in Jupyter, a reader sets one by editing that cell.

``python -m repro.nbtemplate sync [<id>]`` rewrites the parameters cells from the chains'
``params.yaml`` (tests/test_notebooks.py fails when one is out of date); :func:`write` creates
a notebook in the template's shape (used by maintainers and by the tests' toy chains).

The parameters cell does not count in a record's provenance as it stands: its values are
``None`` by construction and the values a run used are recorded (and hashed) as the run's
parameters, so the digest of a notebook sees the cell as :data:`LEGACY_PARAMETERS`
(:func:`digest_source`) and a new parameter in ``params.yaml`` does not make a record stale
twice.

Example
-------
>>> print(parameters_source("agn").splitlines()[0])          # doctest: +SKIP
profile = "smoke"  # "smoke" (CI, about a minute) or "full" (the book); papermill sets it
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["LEGACY_PARAMETERS", "parameters_source", "digest_source", "write", "sync", "main"]

LEGACY_PARAMETERS = (
    'profile = "smoke"  # "smoke" (CI, about a minute) or "full" (the book); papermill sets it\n'
    "overrides = {}  # parameter overrides, set by `python -m repro run <id> -p KEY VALUE`"
)
"""The parameters cell as the records were first made (what :func:`digest_source` hashes)."""
PARAMETERS = LEGACY_PARAMETERS


def _one_line(text: str) -> str:
    """A doc on one comment line without '=' (papermill's --help-notebook skips a line with two)."""
    text = " ".join(str(text).split())
    return text.replace(">=", "≥").replace("<=", "≤").replace("!=", "≠").replace("=", "＝")


def parameters_source(chain_or_spec: Any) -> str:
    """The parameters cell of a chain's notebooks.

    Parameters
    ----------
    chain_or_spec : str or repro.params.ChainSpec
        A chain id or its parsed ``params.yaml``.

    Returns
    -------
    str
        ``profile``, ``overrides``, then one ``name: type = None  # bounds. meaning`` line per
        parameter, in the order of ``params.yaml``.
    """
    from . import params as params_mod
    cs = params_mod.spec(chain_or_spec) if isinstance(chain_or_spec, str) else chain_or_spec
    lines = [
        f"# The parameters of the chain (notebooks/{cs.chain}/params.yaml; python -m repro params {cs.chain}). "
        "None: the profile's value.",
        "# Set one with papermill -p NAME VALUE, python -m repro run "
        f"{cs.chain} -p NAME VALUE, or here.",
        'profile = "smoke"  # "smoke" (CI, about a minute) or "full" (the book); papermill sets it',
        "overrides = {}  # {name: value} for the parameters below, as an alternative to setting them by name",
    ]
    for name, ps in cs.params.items():
        bounds = ps.describe().split(", ", 1)
        extra = f"{_one_line(bounds[1])}. " if len(bounds) > 1 else ""
        lines.append(f"{name}: {ps.type} = None  # {extra}{_one_line(ps.doc)}")
    return "\n".join(lines)


def digest_source(cell) -> str:
    """The source of a cell as a record's digest sees it (see the module docstring)."""
    if "parameters" in cell.get("metadata", {}).get("tags", []):
        return LEGACY_PARAMETERS
    return cell.source


def write(path, cells, chain: Any = None):
    """Write a notebook: ``cells`` is a list of ("md" | "code", source); the parameters cell of
    ``chain`` (an id or a ChainSpec; default: only ``profile`` and ``overrides``) is inserted second."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params_cell = parameters_source(chain) if chain is not None else LEGACY_PARAMETERS
    out = []
    for i, (kind, src) in enumerate(cells):
        src = src.strip("\n")
        out.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
        if i == 0:
            out.append(new_code_cell(params_cell, metadata={"tags": ["parameters"]}))
    for j, c in enumerate(out):
        c["id"] = f"c{j:02d}"
    nb.cells = out
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def sync(chains: Sequence[str] | None = None) -> list[Path]:
    """Rewrite the parameters cell of every notebook of ``chains`` (default: all) from ``params.yaml``.

    Returns
    -------
    list of Path
        The notebooks that changed.
    """
    from . import params as params_mod
    from .chains import notebooks_of
    changed = []
    for chain in chains or params_mod.available_chains():
        want = parameters_source(chain)
        for path in notebooks_of(chain):
            nb = nbformat.read(str(path), as_version=4)
            cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
            if cell.source != want:
                cell.source = want
                nbformat.write(nb, str(path))
                changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m repro.nbtemplate sync [<id> ...]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "sync":
        print("usage: python -m repro.nbtemplate sync [<id> ...]", file=sys.stderr)
        return 2
    for p in sync(args[1:] or None):
        print(f"updated {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

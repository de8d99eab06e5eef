"""Write a chain notebook from a list of cells in the book's template shape.

Used by maintainers to create notebooks;
the template itself is checked by tests/test_notebooks.py.
"""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMETERS = (
    'profile = "smoke"  # "smoke" (CI, about a minute) or "full" (the book); papermill sets it\n'
    "overrides = {}  # parameter overrides, set by `python -m repro run <id> -p KEY VALUE`"
)


def write(path, cells):
    """``cells``: list of ("md" | "code", source). The parameters cell is inserted second."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    out = []
    for i, (kind, src) in enumerate(cells):
        src = src.strip("\n")
        out.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
        if i == 0:
            out.append(new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}))
    for j, c in enumerate(out):
        c["id"] = f"c{j:02d}"
    nb.cells = out
    nbformat.validate(nb)
    nbformat.write(nb, str(path))

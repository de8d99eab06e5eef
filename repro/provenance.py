"""What a notebook's result depends on, as one hash; unchanged hash -> the notebook is skipped.

The hash of notebook *k* of a chain covers:

- the notebook's source (cell types and sources; outputs and metadata ignored),
- the resolved parameters of the run (profile defaults plus overrides),
- every ``repro`` module the chain's notebooks import, followed transitively through their
  own ``repro`` imports, plus the core modules every run uses,
- the registry entries (file lists with sha256) of the chain's data sets — the runner
  verifies the files against them before anything runs, so a changed data file either
  changes the registry (re-run) or fails the check,
- the hash of notebook *k-1* (a chain is sequential: a re-run notebook re-runs all after it).
"""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

import nbformat

from .io import read_json, write_json
from .paths import registry_root

CORE_MODULES = ("repro.__init__", "repro.errors", "repro.paths", "repro.io", "repro.params",
                "repro.claims", "repro.data", "repro.chains", "repro.provenance")
FILENAME = "provenance.json"
# Bump when how notebooks are executed changes (kernel environment, papermill options):
# every chain then re-runs once.
RUNNER_VERSION = 2


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def notebook_source_digest(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    cells = [(c.cell_type, c.source) for c in nb.cells]
    return _sha(json.dumps(cells).encode())


PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # folder holding the repro package


def _module_file(module: str) -> Path | None:
    root = PACKAGE_ROOT
    parts = module.split(".")
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports_of(source: str, package: str = "") -> set[str]:
    """``repro`` modules imported by ``source`` (absolute and package-relative imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "repro")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "repro":
                continue
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # submodules imported by name
    return found


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def repro_modules(notebooks: Iterable[Path]) -> list[Path]:
    """Files of every ``repro`` module the notebooks use (transitively), core modules included."""
    todo = list(CORE_MODULES)
    for nb_path in notebooks:
        nb = nbformat.read(str(nb_path), as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                todo.extend(_imports_of(_strip_magics(c.source)))
    seen: dict[str, Path] = {}
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        f = _module_file(mod)
        if f is None:
            continue
        seen[mod] = f
        pkg = mod if f.name == "__init__.py" else mod.rsplit(".", 1)[0]
        todo.extend(_imports_of(f.read_text(encoding="utf-8"), pkg))
        # a package's __init__ runs on import of any submodule
        parent = mod.rsplit(".", 1)[0]
        if "." in mod and parent not in seen:
            todo.append(parent)
    return sorted(set(seen.values()))


def chain_hashes(notebooks: list[Path], params: dict[str, Any], datasets: Iterable[str]) -> list[str]:
    """One hash per notebook (see the module docstring)."""
    common = hashlib.sha256()
    common.update(f"runner {RUNNER_VERSION}".encode())
    common.update(json.dumps(params, sort_keys=True, default=str).encode())
    for f in repro_modules(notebooks):
        common.update(f.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    for name in sorted(datasets):
        reg = registry_root() / f"{name}.yaml"
        common.update(name.encode() + b"\0" + (reg.read_bytes() if reg.exists() else b"missing"))
    base = common.hexdigest()
    out, prev = [], ""
    for nb in notebooks:
        h = _sha(f"{prev}|{base}|{nb.name}|{notebook_source_digest(nb)}".encode())
        out.append(h)
        prev = h
    return out


def load(run_dir: Path) -> dict[str, str]:
    p = Path(run_dir) / FILENAME
    if not p.exists():
        return {}
    try:
        return read_json(p).get("notebooks", {})
    except (OSError, ValueError):
        return {}


def save(run_dir: Path, hashes: dict[str, str], extra: dict | None = None) -> None:
    write_json(Path(run_dir) / FILENAME, {"notebooks": hashes, **(extra or {})})

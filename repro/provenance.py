"""What each notebook's result depends on, and why a notebook re-runs.

Every notebook of a chain has *inputs*, recorded in the run's ``provenance.json``:

- ``source``: the notebook's cells (types and sources; outputs and metadata ignored),
- ``params``: the resolved parameters of the run (profile defaults plus overrides),
- ``modules``: the code (syntax tree without docstrings and comments, :func:`code_digest`) of
  every ``repro`` module the notebook imports, followed transitively through their own ``repro`` imports — except the bookkeeping modules (:data:`BOOKKEEPING`: the runner, the
  claims and their declarations, provenance, parameters' validation, the CLI, the book), which
  decide how a notebook is run and how its values are judged and shown, never what it computes.
  Editing them does not make a record stale; a change in how notebooks are executed bumps
  :data:`RUNNER_VERSION` instead, and a change of a parameter's value is caught by ``params``.
- ``data``: the registry entries (file lists with sha256) of the chain's data sets — the runner
  verifies the files against them before anything runs, so a changed data file either changes
  the registry or fails the check,
- ``reads``: the earlier notebooks whose results it reads, declared in ``params.yaml``::

      reads:
        03_train: [01_data]          # 03 reads only what 01 wrote
        06_results: [02_baselines, 03_train, 05_robustness]

  A notebook without a declaration reads every earlier notebook (the safe default). The run
  context enforces the declaration: loading a result written by an undeclared notebook fails.

A notebook's *digest* hashes its inputs and the digests of the notebooks it reads, so a change
re-runs a notebook when its own source, the parameters, a module it imports, the data
registry, or a result it reads changed — and nothing else. The graph is small enough to show:
:func:`reasons` says, for each notebook, why it re-runs.

Example
-------
>>> inputs = {"01_data": {"source": "a", "reads": []}, "02_fit": {"source": "b", "reads": ["01_data"]}}
>>> d = digests(inputs)
>>> inputs["01_data"]["source"] = "changed"
>>> [k for k, v in digests(inputs).items() if v != d[k]]   # 02 reads 01, so both re-run
['01_data', '02_fit']
"""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import nbformat

from .io import read_json, write_json
from .paths import registry_root

CORE_MODULES = ("repro.__init__", "repro.io", "repro.data")  # every run reads and writes through these
BOOKKEEPING = frozenset({"repro.chains", "repro.claims", "repro.claimspec", "repro.provenance", "repro.params",
                         "repro.cli", "repro.book", "repro.testing", "repro.nbtemplate", "repro.errors",
                         "repro.paths", "repro.status", "repro.judge", "repro.verify", "repro.sweep",
                         "repro.bookcheck", "repro.sphinxext"})
FILENAME = "provenance.json"
# Bump when how notebooks are executed changes (kernel environment, papermill options):
# every chain then re-runs once.
RUNNER_VERSION = 3
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # folder holding the repro package


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def notebook_source_digest(path: Path) -> str:
    """sha256 of a notebook's cell types and sources (outputs and metadata ignored; the
    parameters cell as :func:`repro.nbtemplate.digest_source` sees it)."""
    from .nbtemplate import digest_source
    nb = nbformat.read(str(path), as_version=4)
    cells = [(c.cell_type, digest_source(c)) for c in nb.cells]
    return _sha(json.dumps(cells).encode())


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    base = PACKAGE_ROOT.joinpath(*parts)
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
        if mod in seen or mod in BOOKKEEPING:
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


def code_digest(path: Path) -> str:
    """sha256 of a module's code: its syntax tree without docstrings, so that comments, docstrings
    and layout (which cannot change a number) do not make a record stale."""
    source = Path(path).read_text(encoding="utf-8")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _sha(source.encode())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return _sha(ast.dump(tree).encode())


def _params_digest(params: Mapping[str, Any]) -> str:
    return _sha(json.dumps(dict(params), sort_keys=True, default=str).encode())


def notebook_inputs(notebook: Path, params: Mapping[str, Any], datasets: Iterable[str],
                    reads: Iterable[str]) -> dict:
    """The inputs of one notebook (see the module docstring), as a JSON-able dict.

    Parameters
    ----------
    notebook : Path
        The source notebook.
    params : mapping
        The run's resolved parameters, with ``profile``.
    datasets : iterable of str
        Registry names of the chain's data sets.
    reads : iterable of str
        Stems of the earlier notebooks whose results this one reads.
    """
    modules = {f.relative_to(PACKAGE_ROOT).as_posix(): code_digest(f) for f in repro_modules([notebook])}
    data = {}
    for name in sorted(datasets):
        reg = registry_root() / f"{name}.yaml"
        data[name] = _sha(reg.read_bytes()) if reg.exists() else "missing"
    return {"runner": RUNNER_VERSION, "source": notebook_source_digest(notebook),
            "params": _params_digest(params), "modules": modules, "data": data, "reads": list(reads)}


def digests(inputs: Mapping[str, Mapping]) -> dict[str, str]:
    """One digest per notebook (in chain order): its inputs and the digests of what it reads."""
    out: dict[str, str] = {}
    for name, inp in inputs.items():
        upstream = [out[r] for r in inp.get("reads", [])]
        out[name] = _sha(json.dumps({"inputs": inp, "upstream": upstream}, sort_keys=True).encode())
    return out


def chain_inputs(notebooks: list[Path], params: Mapping[str, Any], datasets: Iterable[str],
                 reads: Mapping[str, Iterable[str]]) -> dict[str, dict]:
    """:func:`notebook_inputs` of every notebook of a chain, keyed by file name, in order."""
    datasets = list(datasets)
    return {nb.name: notebook_inputs(nb, params, datasets, [f"{r}.ipynb" for r in reads[nb.stem]])
            for nb in notebooks}


def reasons(previous: Mapping, inputs: Mapping[str, Mapping], current: Mapping[str, str],
            params: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """Why each notebook must re-run (an empty list: it need not).

    Parameters
    ----------
    previous : mapping
        The earlier run's ``provenance.json`` (``{}`` when there is none).
    inputs, current : mapping
        This run's :func:`chain_inputs` and :func:`digests`.
    params : mapping, optional
        This run's parameters, to name the ones that changed.
    """
    old_digests = previous.get("notebooks", {})
    old_inputs = previous.get("inputs", {})
    out: dict[str, list[str]] = {}
    for name, inp in inputs.items():
        if old_digests.get(name) == current[name]:
            out[name] = []
            continue
        if name not in old_digests:
            out[name] = ["no earlier result"]
            continue
        old = old_inputs.get(name)
        if old is None:
            out[name] = ["recorded by an older runner"]
            continue
        why = []
        if old.get("runner") != inp["runner"]:
            why.append("the runner changed")
        if old.get("source") != inp["source"]:
            why.append("notebook source changed")
        if old.get("params") != inp["params"]:
            changed = _changed_params(previous.get("params"), params)
            why.append("parameters changed" + (f" ({', '.join(changed)})" if changed else ""))
        mods = old.get("modules", {})
        changed = sorted(m for m in set(mods) | set(inp["modules"]) if mods.get(m) != inp["modules"].get(m))
        if changed:
            why.append("module " + ", ".join(changed) + " changed")
        data = old.get("data", {})
        changed = sorted(d for d in set(data) | set(inp["data"]) if data.get(d) != inp["data"].get(d))
        if changed:
            why.append("data registry " + ", ".join(changed) + " changed")
        if old.get("reads") != inp["reads"]:
            why.append("declared reads changed")
        upstream = [r for r in inp["reads"] if out.get(r)]
        if upstream:
            why.append("reads " + ", ".join(Path(r).stem for r in upstream) + ", which re-runs")
        out[name] = why or ["inputs changed"]
    return out


def _changed_params(old: Mapping | None, new: Mapping | None) -> list[str]:
    if not old or not new:
        return []
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def load_record(run_dir: Path) -> dict:
    """The whole ``provenance.json`` of a run folder (``{}`` when absent or unreadable)."""
    p = Path(run_dir) / FILENAME
    if not p.exists():
        return {}
    try:
        return read_json(p)
    except (OSError, ValueError):
        return {}


def load(run_dir: Path) -> dict[str, str]:
    """The notebook digests recorded in a run folder (``{}`` when absent)."""
    return load_record(run_dir).get("notebooks", {})


def save(run_dir: Path, digests_by_notebook: dict[str, str], extra: dict | None = None) -> None:
    """Write ``provenance.json`` (atomically): the digests plus ``extra`` (inputs, parameters ...)."""
    write_json(Path(run_dir) / FILENAME, {"notebooks": digests_by_notebook, **(extra or {})})


# ----------------------------------------------------------------------- where a record came from
PACKAGES = ("numpy", "scipy", "pandas", "tensorflow", "keras", "scikit-learn", "statsmodels", "astropy",
            "photutils", "statmorph", "pyimfit", "gensim", "matplotlib", "papermill", "nbclient")


def git_state(root: Path) -> dict:
    """The commit of the code in ``root`` and whether the tree differs from it.

    Files under ``results/`` do not count: they are the records, not the code. Outside a git
    checkout (or without git) the commit is ``None``.

    Returns
    -------
    dict
        ``commit`` (hex or None), ``dirty`` (bool or None), ``changed`` (up to 20 paths).
    """
    import subprocess
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=30)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None, "changed": []}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=normal", "--", ".",
                                 ":(exclude)results"], cwd=root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "changed": []}
    changed = [ln[3:] for ln in status.stdout.splitlines() if ln.strip()]
    return {"commit": commit.stdout.strip(), "dirty": bool(changed), "changed": changed[:20]}


def machine() -> dict:
    """CPU model, cores, memory, GPU (if TensorFlow sees one), OS and Python of this machine."""
    import os
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 2**20, 1)
                break
    except (OSError, ValueError):
        pass
    gpus = []
    try:
        for d in Path("/proc/driver/nvidia/gpus").iterdir():
            info = (d / "information").read_text()
            gpus += [ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("Model:")]
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "gpu": gpus or None,
            "os": platform.platform(), "python": platform.python_version()}


def package_versions(names: Iterable[str] = PACKAGES) -> dict:
    """Installed versions of the main packages (``None`` for one that is not installed)."""
    from importlib import metadata
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out

"""The registry of real data sets: ``data/<name>.yaml`` in the repo, the files under ``REPRO_DATA``.

Each registry file names the data set's origin (repository at a pinned commit), licence,
the chains that use it, and its files with sha256. Folders holding many files (image
collections) are registered as one *tree* entry: the number of files, their total size and
the sha256 of the sorted ``"<relative path>\\t<sha256>"`` lines.

Nothing is ever copied into the repo: data is read in place. Loaders elsewhere in
``repro`` call :func:`locate` (which verifies the data set once per process) and return
arrays or data frames.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from .errors import DataError
from .paths import data_root, registry_root

TREE_THRESHOLD = 50  # a folder with more files than this directly inside is one tree entry
_VERIFIED: dict[tuple[str, str], bool] = {}


@dataclass(frozen=True)
class Dataset:
    """One registry entry, ``data/<name>.yaml``: origin, pinned commit, licence, files with sha256."""

    name: str
    title: str
    origin: str
    commit: str | None
    licence: str
    papers: tuple[str, ...]
    files: tuple[dict, ...]
    meta: dict

    @property
    def where(self) -> str:
        """The origin with its pinned commit, for error messages."""
        at = f" @ {self.commit[:10]}" if self.commit else ""
        return f"{self.origin}{at}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def names() -> list[str]:
    """Every registered data set."""
    return sorted(p.stem for p in registry_root().glob("*.yaml"))


def dataset(name: str) -> Dataset:
    """The registry entry of ``name``."""
    path = registry_root() / f"{name}.yaml"
    if not path.exists():
        raise DataError(f"unknown data set '{name}'; registered: {', '.join(names())}")
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"registry file {path} is not valid YAML: {exc}") from None
    return Dataset(
        name=name,
        title=str(meta.get("title", "")),
        origin=str(meta.get("origin", "unknown origin")),
        commit=meta.get("commit"),
        licence=str(meta.get("licence", "not stated")),
        papers=tuple(meta.get("papers") or ()),
        files=tuple(meta.get("files") or ()),
        meta=meta,
    )


def dataset_dir(name: str) -> Path:
    """The folder of data set ``name`` under ``REPRO_DATA`` (not verified; see :func:`verify`).

    Raises
    ------
    DataError
        The folder does not exist (the message names the origin).
    """
    ds = dataset(name)
    d = data_root() / name
    if not d.is_dir():
        raise DataError(f"data set '{name}' is missing: no folder {d} (origin: {ds.where}); "
                        f"see data/README.md for how to obtain it")
    return d


# ------------------------------------------------------------------------- manifests
def _walk_files(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for f in sorted(filenames):
            yield Path(dirpath) / f


def tree_digest(folder: Path) -> tuple[int, int, str]:
    """(file count, total bytes, sha256 over sorted ``relpath\\tsha256`` lines) of a folder."""
    lines, total, n = [], 0, 0
    for p in _walk_files(folder):
        rel = p.relative_to(folder).as_posix()
        lines.append(f"{rel}\t{sha256_file(p)}\n")
        total += p.stat().st_size
        n += 1
    h = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    return n, total, h


def build_manifest(folder: Path) -> list[dict]:
    """The ``files`` list for a data set folder (see the module docstring)."""
    folder = Path(folder)
    entries: list[dict] = []
    trees: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        d = Path(dirpath)
        if any(d == t or t in d.parents for t in trees):
            continue
        if d != folder and len(filenames) > TREE_THRESHOLD:
            trees.append(d)
            n, total, h = tree_digest(d)
            entries.append({"tree": d.relative_to(folder).as_posix(), "files": n, "bytes": total, "sha256": h})
            continue
        for f in sorted(filenames):
            p = d / f
            entries.append({"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size,
                            "sha256": sha256_file(p)})
    return sorted(entries, key=lambda e: e.get("path") or e["tree"])


def write_manifest(name: str, folder: Path | None = None) -> Path:
    """Fill in the ``files`` section of ``data/<name>.yaml`` from the data on disk."""
    ds = dataset(name)
    folder = Path(folder) if folder else dataset_dir(name)
    meta = dict(ds.meta)
    meta["files"] = build_manifest(folder)
    path = registry_root() / f"{name}.yaml"
    from .io import write_text
    write_text(path, yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100))
    return path


# ------------------------------------------------------------------------ verification
@dataclass
class CheckResult:
    """The outcome of checking one data set: ``ok``, ``missing``, ``corrupted`` or ``unregistered``."""

    name: str
    status: str  # ok | missing | corrupted | unregistered
    detail: str
    origin: str

    def line(self) -> str:
        """One line for ``repro data check``."""
        return f"{self.name:<34} {self.status:<10} {self.detail}  [origin: {self.origin}]"


def check(name: str, root: Path | None = None) -> CheckResult:
    """Verify every file of one data set; never raises for missing or bad files."""
    ds = dataset(name)
    if not ds.files:
        return CheckResult(name, "unregistered", "registry has no file list (python -m repro data manifest NAME)", ds.where)
    folder = (Path(root) if root else data_root()) / name
    if not folder.is_dir():
        return CheckResult(name, "missing", f"no folder {folder}", ds.where)
    missing, bad = [], []
    for e in ds.files:
        if "tree" in e:
            p = folder / e["tree"]
            if not p.is_dir():
                missing.append(e["tree"] + "/")
                continue
            n, _, h = tree_digest(p)
            if n != e["files"]:
                (missing if n < e["files"] else bad).append(f"{e['tree']}/ ({n} files, expected {e['files']})")
            elif h != e["sha256"]:
                bad.append(f"{e['tree']}/ (a file's content differs)")
        else:
            p = folder / e["path"]
            if not p.is_file():
                missing.append(e["path"])
            elif p.stat().st_size != e["bytes"] or sha256_file(p) != e["sha256"]:
                bad.append(e["path"])
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return CheckResult(name, "missing", "missing: " + ", ".join(missing[:3]) + more, ds.where)
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return CheckResult(name, "corrupted", "sha256 mismatch: " + ", ".join(bad[:3]) + more, ds.where)
    total = sum(e.get("files", 1) for e in ds.files)
    return CheckResult(name, "ok", f"{total} files verified", ds.where)


def check_all(root: Path | None = None) -> list[CheckResult]:
    """:func:`check` of every registered data set."""
    return [check(n, root) for n in names()]


def verify(name: str) -> Path:
    """Verify ``name`` (once per process) and return its folder; raises :class:`DataError`."""
    root = data_root()
    cache_key = (name, str(root))
    folder = root / name
    if _VERIFIED.get(cache_key):
        return folder
    res = check(name, root)
    if res.status == "missing":
        raise DataError(f"data set '{name}' is incomplete under {root}: {res.detail} "
                        f"(origin: {res.origin}); restore it from the origin")
    if res.status == "corrupted":
        raise DataError(f"data set '{name}' is corrupted under {root}: {res.detail} "
                        f"(origin: {res.origin}); the files differ from the registry, restore them from the origin")
    if res.status != "ok":
        raise DataError(f"data set '{name}': {res.detail}")
    _VERIFIED[cache_key] = True
    return folder


def locate(name: str, relpath: str) -> Path:
    """Path of one registered file of a verified data set (for loaders inside ``repro``)."""
    folder = verify(name)
    p = folder / relpath
    ds = dataset(name)
    known = any(e.get("path") == relpath or (e.get("tree") and relpath.startswith(e["tree"] + "/")) for e in ds.files)
    if not known:
        raise DataError(f"'{relpath}' is not a registered file of data set '{name}' (origin: {ds.where})")
    return p


def forget_verification() -> None:
    """Make the next :func:`verify` re-hash (tests use this)."""
    _VERIFIED.clear()

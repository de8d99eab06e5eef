"""Atomic writes: a result file is either the old one or the complete new one, never half."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file gets the user's umask
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _default(obj: Any):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON, atomically (numpy scalars and arrays allowed)."""
    data = json.dumps(obj, indent=2, sort_keys=False, default=_default, allow_nan=True).encode()
    return _atomic(path, lambda fh: fh.write(data + b"\n"))


def read_json(path):
    """Read a JSON file (UTF-8)."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_text(path, text: str) -> Path:
    """Write UTF-8 text, atomically."""
    data = text.encode("utf-8")
    return _atomic(path, lambda fh: fh.write(data))


def write_npz(path, **arrays) -> Path:
    """Write arrays to a compressed ``.npz``, atomically."""
    return _atomic(path, lambda fh: np.savez_compressed(fh, **arrays))


def read_npz(path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` into memory (no pickles)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    return _atomic(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight"))

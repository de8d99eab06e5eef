"""Atomic result files: complete or absent, readable as the user's umask says."""
import os
import stat

import numpy as np
import pytest

from repro import io


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = io.write_json(tmp_path / "a.json", {"x": np.float64(1.5)})
        q = io.write_npz(tmp_path / "b.npz", a=np.arange(3))
    finally:
        os.umask(old)
    for f in (p, q):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert io.read_json(p) == {"x": 1.5}
    assert io.read_npz(q)["a"].tolist() == [0, 1, 2]


def test_a_failed_write_leaves_the_old_file(tmp_path):
    p = io.write_text(tmp_path / "t.txt", "old")
    with pytest.raises(TypeError):
        io.write_json(p, {"bad": object()})
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["t.txt"]

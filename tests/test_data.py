import shutil

import pytest

from repro import data
from repro.astro.agn import s82
from repro.errors import DataError

from .conftest import needs_data

NAME = "s82-quasar-variability"


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of the s82 data set under a temporary REPRO_DATA."""
    import os
    src = os.path.join(os.environ["REPRO_DATA"], NAME)
    shutil.copytree(src, tmp_path / NAME)
    for p in (tmp_path / NAME).rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    monkeypatch.setenv("REPRO_DATA", str(tmp_path))
    data.forget_verification()
    yield tmp_path / NAME
    data.forget_verification()


def test_every_registered_dataset_has_origin_licence_and_files():
    for name in data.names():
        ds = data.dataset(name)
        assert ds.origin.startswith("http"), name
        assert ds.licence, name
        assert ds.files, f"{name}: empty file list"
        for e in ds.files:
            assert len(e["sha256"]) == 64


@needs_data
def test_real_data_verifies():
    results = data.check_all()
    assert {r.status for r in results} == {"ok"}, [r.line() for r in results if r.status != "ok"]


@needs_data
def test_corrupted_file_is_named_with_origin(data_copy):
    f = data_copy / "crts_lightcurves" / "231408.02-011355.4.dat"
    f.write_text(f.read_text().replace("19.41", "19.42", 1))
    res = data.check(NAME)
    assert res.status == "corrupted" and "231408.02-011355.4.dat" in res.detail
    with pytest.raises(DataError) as e:
        s82.load_crts_lightcurves()
    msg = str(e.value)
    assert NAME in msg and "corrupted" in msg and "github.com/suberlak/quasars-sdss" in msg


@needs_data
def test_missing_file_is_named(data_copy):
    (data_copy / "SDSS_lc_stats_multiband.txt").unlink()
    with pytest.raises(DataError, match="incomplete.*SDSS_lc_stats_multiband.txt.*origin"):
        data.verify(NAME)


@needs_data
def test_missing_dataset_folder(data_copy):
    shutil.rmtree(data_copy)
    assert data.check(NAME).status == "missing"
    with pytest.raises(DataError, match=f"'{NAME}' is incomplete.*no folder"):
        data.verify(NAME)


def test_missing_or_bad_root(monkeypatch, tmp_path):
    from repro import paths
    monkeypatch.delenv("REPRO_DATA", raising=False)
    repo = tmp_path / "checkout"
    (repo / "data").mkdir(parents=True)
    for f in (paths.registry_root()).glob("*.yaml"):
        (repo / "data" / f.name).write_text(f.read_text())
    monkeypatch.setenv("REPRO_ROOT", str(repo))
    with pytest.raises(DataError, match=f"REPRO_DATA is not set and {tmp_path / 'shared' / 'data'} does not exist"):
        data.verify(NAME)
    (tmp_path / "shared" / "data").mkdir(parents=True)    # ../shared/data beside the checkout, as make finds it
    assert paths.data_root() == (tmp_path / "shared" / "data").resolve()
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="is not a folder"):
        data.verify(NAME)


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown data set 'nope'; registered: .*s82-quasar-variability"):
        data.dataset("nope")


@needs_data
def test_unregistered_file_is_refused():
    with pytest.raises(DataError, match="not a registered file"):
        data.locate(NAME, "../other/secret.txt")


@needs_data
def test_malformed_table_row(data_copy):
    f = data_copy / "drw_javelin_fits" / "javelin_SDSS_chain_results_g_band.txt"
    # a row with a missing column is caught by the loader itself when the registry allows the file
    lines = f.read_text().splitlines()
    lines[5] = " ".join(lines[5].split()[:4])
    f.write_text("\n".join(lines) + "\n")
    monkey_ds = data.dataset(NAME)
    entry = next(e for e in monkey_ds.files if e.get("path", "").endswith("g_band.txt"))
    entry["sha256"] = data.sha256_file(f)  # pretend the registry was regenerated
    entry["bytes"] = f.stat().st_size
    orig = data.dataset
    try:
        data.dataset = lambda name: monkey_ds if name == NAME else orig(name)
        with pytest.raises(DataError, match="malformed row \\(line 6\\)"):
            s82.load_drw_fits("g")
    finally:
        data.dataset = orig


def test_manifest_tree_entries(tmp_path):
    d = tmp_path / "set"
    (d / "images").mkdir(parents=True)
    for i in range(data.TREE_THRESHOLD + 1):
        (d / "images" / f"{i}.txt").write_text(str(i))
    (d / "SOURCE.md").write_text("hello")
    entries = data.build_manifest(d)
    assert [e.get("path") or e["tree"] for e in entries] == ["SOURCE.md", "images"]
    tree = entries[1]
    assert tree["files"] == data.TREE_THRESHOLD + 1
    before = tree["sha256"]
    (d / "images" / "3.txt").write_text("changed")
    assert data.tree_digest(d / "images")[2] != before

"""Loaders of the real LOFAR RS509 observation and the sky directions (repro.sparse.lofar)."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from repro.errors import DataError
from repro.sparse import layout, lofar
from tests.conftest import needs_data


@needs_data
def test_xst_is_hermitian_96x96_at_68mhz():
    x = lofar.load_xst()
    assert x.matrix.shape == (96, 96) and x.matrix.dtype == np.complex128
    assert np.allclose(x.matrix, x.matrix.conj().T, rtol=0, atol=1e-6 * np.abs(x.matrix).max())
    auto = x.matrix.diagonal().real
    assert np.all(auto >= 0)  # autocorrelations are powers
    # exactly one dead antenna: RCUs 92 and 93 are zero throughout, and get flagged
    assert np.array_equal(np.flatnonzero(auto == 0), [92, 93])
    assert not np.any(x.matrix[92:94])
    snap = lofar.load_snapshot()
    assert np.array_equal(np.flatnonzero(snap.flagged), [46]) and snap.n_good == 47
    assert len(snap.pairs()) == 47 * 46 // 2 and 46 not in snap.pairs()
    assert x.time_utc == "2017-06-21T07:26:34" and x.subband == 350
    assert x.frequency_hz == pytest.approx(68.359375e6)


@needs_data
def test_caltable_header_and_gains():
    cal = lofar.load_caltable()
    assert cal.header["Observation.Station"] == "RS509"
    assert cal.gains.shape == (512, 96)
    assert np.all(np.isfinite(cal.gains[350])) and np.all(np.abs(cal.gains[350]) > 0)


def test_malformed_files_raise_data_error(tmp_path):
    bad = tmp_path / "20170621_072634_sb350_xst.dat"
    bad.write_bytes(b"\0" * 1000)
    with pytest.raises(DataError, match="20170621_072634_sb350_xst.dat.*not a whole number"):
        lofar.read_xst(bad)
    with pytest.raises(DataError, match="file name"):
        p = tmp_path / "x.dat"
        p.write_bytes(b"\0" * 16 * 96 * 96)
        lofar.read_xst(p)
    cal = tmp_path / "cal.dat"
    cal.write_bytes(b"HeaderStart\nCalTableHeader.A = 1\nHeaderStop\n" + b"\0" * 32)
    with pytest.raises(DataError, match="cal.dat.*bytes of gains"):
        lofar.read_caltable(cal)


@needs_data
def test_source_directions_offline(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network disabled in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    st = layout.load_station("RS509")
    src = lofar.source_directions("2017-06-21T07:26:34", layout.station_location(st))
    assert set(src) == {"Cas A", "Cyg A", "Sun"}  # all up on a June morning in Drenthe
    for l, m in src.values():
        assert l * l + m * m < 1
    # the Sun rises in the east-north-east at 07:26 UTC in late June: l > 0
    assert src["Sun"][0] > 0.5
    # Cas A (circumpolar at 53 deg N) is in the north
    assert src["Cas A"][1] > 0


@needs_data
def test_dirty_image_peaks_on_cas_a_and_cyg_a():
    from repro.sparse import operators as op
    snap = lofar.load_snapshot()
    src = lofar.source_directions(snap.time_utc, layout.station_location(snap.station))
    grid = op.sky_grid(81)
    pairs = snap.pairs()
    A = op.StationOperator(op.baseline_uvw(snap.positions_enu, snap.frequency_hz, pairs), grid)
    img = A.dirty_image(snap.visibilities(pairs))
    top = int(np.argmax(img))
    assert np.hypot(grid.l[top] - src["Cas A"][0], grid.m[top] - src["Cas A"][1]) < 0.05
    cyg = grid.nearest(*src["Cyg A"])
    assert img[cyg] > 0.5 * img[top]

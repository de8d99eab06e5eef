"""Antenna layouts of LOFAR stations (repro.sparse.layout)."""
from __future__ import annotations

import numpy as np
import pytest

from repro.errors import DataError
from repro.sparse import layout, lofar
from tests.conftest import needs_data


@needs_data
def test_station_layout_matches_rcus():
    st = layout.load_station("RS509")
    assert st.n_antennas == 96  # 96 LBA antennas in the field, 48 RCU pairs
    assert lofar.load_xst().n_rcu == 2 * layout.active_antennas(st, "LBA_SPARSE_EVEN").size
    assert np.array_equal(st.rcu_x[:48], np.arange(0, 96, 2))
    enu = st.enu()
    assert np.abs(enu[:, 2]).max() < 1.0  # a flat field: heights within a metre
    assert 60 < np.ptp(enu[:, 0]) < 100  # RS509 LBA field is ~ 80 m across
    # PQR: R is (nearly) up, so |pqr| and |enu| agree
    assert np.allclose(np.linalg.norm(st.pqr(), axis=1), np.linalg.norm(enu, axis=1), atol=1e-6)


@needs_data
def test_unknown_station_lists_available():
    with pytest.raises(ValueError, match="RS999.*available.*RS509"):
        layout.load_station("RS999")
    with pytest.raises(ValueError, match="antenna_set"):
        layout.active_antennas(layout.load_station("RS509"), "LBA_X")


def test_malformed_positions_raise_data_error(tmp_path):
    csvf = tmp_path / "pos.csv"
    csvf.write_text("STATION,ANTENNA-TYPE,ANTENNA-ID,ETRS-X,ETRS-Y,ETRS-Z,RCU-X,RCU-Y\nRS1,LBA,0,a,2,3,0,1\n")
    with pytest.raises(DataError, match="pos.csv, line 2"):
        layout.read_positions(csvf)


def test_etrs_to_enu_is_a_rotation_about_the_centre():
    centre = np.array([3_828_000.0, 445_000.0, 5_064_900.0])  # near the LOFAR core
    xyz = centre + np.array([[0.0, 0.0, 0.0], [10.0, -3.0, 7.0], [-5.0, 2.0, 1.0]])
    enu = layout.etrs_to_enu(xyz, centre)
    assert np.allclose(enu[0], 0.0)
    assert np.allclose(np.linalg.norm(enu, axis=1), np.linalg.norm(xyz - centre, axis=1))

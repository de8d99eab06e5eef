"""The real RS509 imaging problem (repro.sparse.station)."""
import numpy as np
import pytest

from repro.sparse import station

from .conftest import needs_data


@needs_data
def test_real_station_problem_and_noise():
    P = station.station_problem(21)
    assert P.A.shape == P.shape == (2 * 1081, P.grid.n_pixels)
    assert np.allclose(P.A @ np.ones(P.grid.n_pixels), P.op.forward_real(np.ones(P.grid.n_pixels)))
    assert set(P.sources) >= {"Cas A", "Cyg A"}
    frac = station.radiometer_noise_fraction(P)
    assert 0.01 < frac < 0.5
    assert station.radiometer_noise_fraction(P, integration_s=4.0) == pytest.approx(frac / 2)
    with pytest.raises(ValueError, match="positive"):
        station.radiometer_noise_fraction(P, integration_s=0.0)

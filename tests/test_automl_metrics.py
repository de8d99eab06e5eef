"""repro.automl.metrics: regret against time, its integral, time to a regret, speed-ups."""
import numpy as np
import pytest

from repro.automl import metrics
from repro.automl import scheduler as S
from repro.automl.errors import AutomlError


def hand_trace():
    # two users; regret (0.5, 0.3) until t=1, (0.1, 0.3) until t=3, then (0.1, 0)
    return S.Trace("gp_ei", 1, "believer", False, np.array([0.0, 1.0, 3.0]),
                   np.array([[0.5, 0.3], [0.1, 0.3], [0.1, 0.0]]), np.array([0.9, 0.8]), {"finished": np.ones(2, bool)})


def test_metrics_on_a_hand_trace():
    tr = hand_trace()
    assert metrics.cumulative_regret(tr, 4.0) == pytest.approx(0.8 * 1 + 0.4 * 2 + 0.1 * 1)
    assert metrics.cumulative_regret(tr, 2.0) == pytest.approx(0.8 + 0.4)
    assert metrics.mean_regret(tr, 4.0) == pytest.approx(1.7 / 8)
    assert metrics.regret_at(tr, [0.0, 0.99, 1.0, 5.0]) == pytest.approx([0.8, 0.8, 0.4, 0.1])
    assert metrics.time_to_regret(tr, 0.4) == 1.0
    assert metrics.time_to_regret(tr, 0.1, all_users=True) == 3.0
    assert metrics.time_to_regret(tr, 0.05) == float("inf")
    assert metrics.speedups({1: 10.0, 2: 5.0, 4: 4.0}) == {1: 1.0, 2: 2.0, 4: 2.5}
    with pytest.raises(AutomlError):
        metrics.cumulative_regret(tr, 0.0)

"""Tests of repro.sgd.timing: loss curves against simulated time on a grid of networks."""
import numpy as np
import pandas as pd
import pytest

from repro.sgd import timing


def test_network_grid_and_iteration_times_follow_the_model():
    grid = timing.network_grid([1e-4, 1e-2], [1e10, 1e8])
    assert len(grid) == 4 and set(grid.latency) == {"low", "high"}
    slow = grid[(grid.latency == "high") & (grid.bandwidth == "low")].iloc[0]
    assert (slow.latency_s, slow.bandwidth_bps) == (1e-2, 1e8)
    with pytest.raises(ValueError, match="low < high"):
        timing.network_grid([1e-2, 1e-4], [1e10, 1e8])
    with pytest.raises(ValueError, match="high > low"):
        timing.network_grid([1e-4, 1e-2], [1e8, 1e10])
    d = 1000
    m32, m8 = 32 * d, 8 * d + 32
    msgs = pd.DataFrame({"algorithm": ["allreduce", "dcd"], "bits": [32, 8], "label": ["AllReduce", "DCD-PSGD 8-bit"],
                         "message_bits": [m32, m8], "communication": ["allreduce", "gossip"]})
    t = timing.iteration_times(msgs, grid, n_workers=8, degree=2, compute_s=0.005)
    assert t.label.tolist()[:2] == ["AllReduce", "DCD-PSGD 8-bit"]
    ar = t[(t.algorithm == "allreduce") & (t.cell == slow.cell)].seconds.iloc[0]
    assert ar == pytest.approx(0.005 + 14 * (1e-2 + m32 / 8 / 1e8))
    dc = t[(t.algorithm == "dcd") & (t.cell == slow.cell)].seconds.iloc[0]
    assert dc == pytest.approx(0.005 + 2 * (1e-2 + m8 / 1e8))
    with pytest.raises(ValueError, match="compute_s"):
        timing.iteration_times(msgs, grid, n_workers=8, degree=2, compute_s=-1)


def test_time_to_target_speedup_and_ratio():
    mean = pd.DataFrame({"algorithm": ["allreduce"] * 3 + ["dcd"] * 3, "bits": [32] * 3 + [8] * 3,
                         "step": [0, 10, 20] * 2, "epoch": [0, 1, 2] * 2, "loss": [2.0, 1.0, 0.5, 2.0, 0.9, 0.4]})
    assert timing.target_loss(mean, 0.5) == 1.0
    assert timing.target_loss(mean, 1.0) == 0.5
    with pytest.raises(ValueError, match="fraction"):
        timing.target_loss(mean, 0.0)
    times = pd.DataFrame({"algorithm": ["allreduce", "dcd"], "bits": [32, 8], "label": ["a", "d"], "cell": ["c", "c"],
                          "seconds": [2.0, 1.0]})
    clock = timing.wall_clock_curves(mean, times)
    assert clock[clock.algorithm == "allreduce"].time.tolist() == [0.0, 20.0, 40.0]
    ttt = timing.time_to_target_table(clock, 0.5)
    t = ttt.set_index("algorithm").time_to_target
    assert t["allreduce"] == 40.0 and t["dcd"] == 20.0
    assert timing.speedup(ttt, "c", ("dcd", 8), [("allreduce", 32)]) == 2.0
    assert timing.time_ratio(ttt, "c", ("allreduce", 32), [("dcd", 8)]) == 2.0
    never = timing.time_to_target_table(clock, 0.1)
    assert np.isnan(timing.speedup(never, "c", ("dcd", 8), [("allreduce", 32)]))
    with pytest.raises(ValueError, match="unknown cell"):
        timing.speedup(ttt, "nowhere", ("dcd", 8), [("allreduce", 32)])

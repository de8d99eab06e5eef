"""Tests of repro.sgd.network: the latency/bandwidth time model."""
import numpy as np
import pytest

from repro.sgd.network import Network, iteration_time, time_to_target, wall_clock


def test_iteration_time_formulas():
    net = Network(latency_s=1e-3, bandwidth_bps=1e6)
    m = 8_000_000
    assert iteration_time(net, "allreduce", 8, m) == pytest.approx(2 * 7 * (1e-3 + m / 8 / 1e6))
    assert iteration_time(net, "gossip", 8, m, degree=2, compute_s=0.5) == pytest.approx(0.5 + 2 * (1e-3 + 8.0))
    assert iteration_time(net, "allreduce", 1, m, compute_s=0.1) == 0.1


def test_latency_vs_bandwidth_regimes():
    # many workers, small messages, high latency: allreduce pays 2(n-1) latencies, gossip only `degree`
    slow_latency = Network(1e-2, 10e9)
    assert iteration_time(slow_latency, "gossip", 32, 32_000, degree=2) < \
        iteration_time(slow_latency, "allreduce", 32, 32_000)
    # low latency, big messages: allreduce sends ~2m bits per worker, gossip `degree` * m
    fast_latency = Network(1e-6, 1e8)
    assert iteration_time(fast_latency, "allreduce", 32, 10**8) < \
        iteration_time(fast_latency, "gossip", 32, 10**8, degree=4)


def test_wall_clock_and_time_to_target():
    class H:
        communication, n_workers, message_bits, steps = "gossip", 4, 1000, np.array([0, 10, 20])
    t = wall_clock(H, Network(0.0, 1000.0), degree=2)
    assert np.allclose(t, [0, 20, 40])
    assert time_to_target(t, [3.0, 1.0, 0.5], 1.0) == 20
    assert time_to_target(t, [3.0, 2.0, 1.5], 1.0) == float("inf")


def test_bad_arguments():
    with pytest.raises(ValueError, match="bandwidth_bps"):
        Network(1e-3, 0)
    with pytest.raises(ValueError, match="latency_s"):
        Network(-1, 1e9)
    with pytest.raises(ValueError, match="degree"):
        iteration_time(Network(0, 1), "gossip", 4, 10)
    with pytest.raises(ValueError, match="communication"):
        iteration_time(Network(0, 1), "mesh", 4, 10)

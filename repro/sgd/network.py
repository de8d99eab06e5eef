r"""A simple network time model: simulated wall-clock seconds per iteration.

One iteration costs compute time plus communication time. Sending one message of ``m``
bits over one link costs :math:`\alpha + m/\beta` (latency α in seconds, bandwidth β in
bit/s). Following the setting of Tang et al. 2018 (arXiv:1803.06443, Sect. 1 and 5):

* **AllReduce** (ring algorithm, reduce-scatter + all-gather): :math:`2(n-1)` rounds, each
  sending a chunk of ``m/n`` bits: :math:`T = 2(n-1)(\alpha + m/(n\beta))`. For QSGD
  AllReduce ``m`` is the compressed gradient size (re-quantization at each hop is not
  modelled);
* **gossip** (D-PSGD, D², ECD, DCD, naive quantized): every worker sends one ``m``-bit
  message (model, difference or extrapolation) to each of its ``degree`` neighbours,
  one after the other: :math:`T = \text{degree}\,(\alpha + m/\beta)`.

Communication does not overlap with computation. ``m`` comes from the compressor
(:meth:`message_bits`), e.g. :attr:`History.message_bits <repro.sgd.algorithms.History>`.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = ["Network", "iteration_time", "wall_clock", "time_to_target"]


@dataclass(frozen=True)
class Network:
    """Link latency ``latency_s`` (α, seconds) and bandwidth ``bandwidth_bps`` (β, bit/s).

    E.g. a datacentre link ``Network(1e-4, 10e9)`` (0.1 ms, 10 Gbit/s) versus a slow
    wide-area one ``Network(1e-2, 100e6)`` (10 ms, 100 Mbit/s).
    """

    latency_s: float
    bandwidth_bps: float

    def __post_init__(self):
        if not isinstance(self.latency_s, Real) or self.latency_s < 0:
            raise ValueError(f"latency_s must be a non-negative number of seconds, got {self.latency_s!r}")
        if not isinstance(self.bandwidth_bps, Real) or not self.bandwidth_bps > 0:
            raise ValueError(f"bandwidth_bps must be a positive number of bit/s, got {self.bandwidth_bps!r}")

    def message_time(self, bits: float) -> float:
        """Seconds to send one message of ``bits`` bits over one link."""
        return self.latency_s + bits / self.bandwidth_bps


def iteration_time(network: Network, communication: str, n_workers: int, message_bits: int,
                   degree: int | None = None, compute_s: float = 0.0) -> float:
    """Simulated seconds of one iteration (compute + communication; see module docstring).

    Parameters
    ----------
    communication : {"allreduce", "gossip"}
    n_workers : int
    message_bits : int
        Bits of one full message (one model or gradient, possibly compressed).
    degree : int
        Neighbours per worker (gossip only; the maximum degree for irregular graphs).
    compute_s : float
        Seconds of local computation per iteration.
    """
    if not isinstance(n_workers, Integral) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    if compute_s < 0:
        raise ValueError(f"compute_s must be non-negative, got {compute_s!r}")
    if communication == "allreduce":
        if n_workers == 1:
            return float(compute_s)
        return compute_s + 2 * (n_workers - 1) * network.message_time(message_bits / n_workers)
    if communication == "gossip":
        if degree is None or not isinstance(degree, Integral) or degree < 1:
            raise ValueError(f"gossip communication needs degree >= 1 (neighbours per worker), got {degree!r}")
        return compute_s + degree * network.message_time(message_bits)
    raise ValueError(f"communication must be 'allreduce' or 'gossip', got {communication!r}")


def wall_clock(history, network: Network, degree: int | None = None, compute_s: float = 0.0) -> np.ndarray:
    """Simulated seconds elapsed at each recorded step of a :class:`~repro.sgd.algorithms.History`."""
    per = iteration_time(network, history.communication, history.n_workers, history.message_bits,
                         degree=degree, compute_s=compute_s)
    return np.asarray(history.steps, dtype=float) * per


def time_to_target(times, losses, target: float) -> float:
    """First time at which ``losses <= target``; ``inf`` if never reached."""
    times, losses = np.asarray(times, float), np.asarray(losses, float)
    hit = np.flatnonzero(losses <= target)
    return float(times[hit[0]]) if len(hit) else float("inf")

"""One decentralized-training simulator for the ``d2``, ``dcd`` and ``adpsgd`` chains, and a real
multi-process backend on MPI.

Modules (one concept each):

- :mod:`repro.sgd.problem`    the one training-problem type (:class:`~repro.sgd.problem.Problem`):
  MNIST / CIFAR-10 subsampled, split and standardized;
- :mod:`repro.sgd.topology`   graphs (ring, torus, complete, random regular, Erdős–Rényi),
  mixing matrices, spectral checks, D²'s λ_min fix;
- :mod:`repro.sgd.models`     softmax regression and a one-hidden-layer MLP with exact
  gradients, vectorized over workers;
- :mod:`repro.sgd.partition`  iid / label-skewed / Dirichlet / sorted partitions, skew levels
  as strings (``"labels:2"``), data variance ζ²;
- :mod:`repro.sgd.compress`   identity, unbiased stochastic and deterministic quantizers;
- :mod:`repro.sgd.algorithms` AllReduce SGD, QSGD AllReduce, D-PSGD, D², DCD-PSGD, ECD-PSGD,
  naive quantized D-PSGD, and the :func:`~repro.sgd.algorithms.simulate` driver;
- :mod:`repro.sgd.network`    latency/bandwidth time model (simulated wall-clock seconds);
- :mod:`repro.sgd.timing`     loss curves against simulated time on a grid of networks, time to
  a target loss;
- :mod:`repro.sgd.asynchronous` an event-driven simulator (priority queue of completion
  times): AllReduce, synchronous D-PSGD and AD-PSGD in simulated wall-clock, stragglers,
  staleness;
- :mod:`repro.sgd.mpi`        the same algorithms on real processes (mpi4py + Open MPI);
- :mod:`repro.sgd.significance` a one-sided paired t-test over seeds, for the claims a paper
  calls "significant";
- :mod:`repro.sgd.launch`     ``python -m repro.sgd.launch --algo adpsgd --workers 4 ...``.

Conventions: parameters of ``n`` workers are stacked as an ``(n, d)`` array (row = worker),
gossip is ``W @ X``, every random choice takes an explicit seed or
:class:`numpy.random.Generator`.

The experiments of the three chains (grids, tables, claim numbers) live in their drivers:
:mod:`repro.papers.d2`, :mod:`repro.papers.dcd`, :mod:`repro.papers.adpsgd`.
"""

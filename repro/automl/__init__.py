"""Model selection for many users sharing devices: quality/cost matrices, a GP over models learned
from other data sets, and an event-driven simulation of multi-tenant GP-EI scheduling.

Modules (one concept each):

- :mod:`repro.automl.errors`    the errors bad inputs raise (subclasses of :class:`repro.errors.ReproError`);
- :mod:`repro.automl.data`      the quality and cost matrices (DS3Lab's 2017 matrices, OBOE's OpenML
  error matrix), checks, prior/user splits;
- :mod:`repro.automl.kernel`    the prior over models (mean and Ledoit–Wolf covariance) learned from
  prior data sets, and the identity kernel;
- :mod:`repro.automl.gp`        the GP posterior of one user, expected improvement;
- :mod:`repro.automl.scheduler` one event-driven simulation of M devices shared by N users, with the
  schedulers (independent round-robin, random user, multi-tenant GP-EI, cost-aware GP-EI);
- :mod:`repro.automl.metrics`   global regret against simulated time, cumulative regret, time to reach
  a regret, speed-up.

Conventions: a quality matrix is ``(n_datasets, n_models)`` with higher = better; a cost matrix has the
same shape, in seconds, every entry > 0; every random choice takes an explicit seed.

The experiments of the ``gpei`` chain (Yu et al. 2018/2019, arXiv:1803.06561: loops over splits,
schedulers and device counts, the tables the notebooks plot) live in its driver,
:mod:`repro.papers.gpei`.
"""
from .data import (DS3LAB, OBOE, Matrices, Split, check_matrices, distinct_rows, load, load_ds3lab, load_oboe,
                   read_whitespace_matrix, split)
from .errors import AutomlError, KernelError, MatrixError, SchedulerError
from .gp import expected_improvement, posterior
from .kernel import ModelKernel, check_psd, identity_kernel, learn_kernel
from .metrics import cumulative_regret, mean_regret, regret_at, speedups, time_to_regret
from .scheduler import PENDING_RULES, POLICIES, POLICY_LABELS, Trace, check_trace, simulate

__all__ = [
    "DS3LAB", "OBOE", "Matrices", "Split", "check_matrices", "distinct_rows", "load", "load_ds3lab", "load_oboe",
    "read_whitespace_matrix", "split",
    "AutomlError", "KernelError", "MatrixError", "SchedulerError",
    "expected_improvement", "posterior",
    "ModelKernel", "check_psd", "identity_kernel", "learn_kernel",
    "cumulative_regret", "mean_regret", "regret_at", "speedups", "time_to_regret",
    "PENDING_RULES", "POLICIES", "POLICY_LABELS", "Trace", "check_trace", "simulate",
]

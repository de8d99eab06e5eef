"""Errors of :mod:`repro.automl`: one clear line each, never a bare traceback from numpy."""
from __future__ import annotations

from ..errors import ReproError


class AutomlError(ReproError, ValueError):
    """Base class of the errors raised by :mod:`repro.automl`."""


class MatrixError(AutomlError):
    """A quality or cost matrix is malformed: wrong shape, NaN/inf, a cost <= 0."""


class KernelError(AutomlError):
    """A kernel cannot be learned or is not positive definite."""


class SchedulerError(AutomlError):
    """Bad simulation settings: unknown policy, no devices, more devices than jobs."""

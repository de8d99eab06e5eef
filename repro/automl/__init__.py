"""Multi-device, multi-tenant model selection with GP-EI (chain ``gpei``, arXiv:1803.06561).

Modules (one concept each):

- :mod:`repro.automl.errors`    the errors bad inputs raise (subclasses of :class:`repro.errors.ReproError`);
- :mod:`repro.automl.data`      the quality and cost matrices (DS3Lab's 2017 matrices, OBOE's OpenML
  error matrix), checks, prior/user splits;
- :mod:`repro.automl.gp`        the model-model kernel learned from prior data sets, the GP posterior of
  one user, expected improvement;
- :mod:`repro.automl.scheduler` one event-driven simulation of M devices shared by N users, with the
  schedulers (independent round-robin, random user, multi-tenant GP-EI, cost-aware GP-EI);
- :mod:`repro.automl.metrics`   global regret against simulated time, cumulative regret, time to reach
  a regret, speed-up;
- :mod:`repro.automl.experiments` the loops over splits, schedulers and device counts that the
  notebooks call.

Conventions: a quality matrix is ``(n_datasets, n_models)`` with higher = better; a cost matrix has the
same shape, in seconds, every entry > 0; every random choice takes an explicit seed.
"""

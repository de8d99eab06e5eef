"""repro: the computing behind the reproducible-papers book.

Each paper is a *chain* of papermill-parameterised notebooks under ``notebooks/<id>/``;
this package holds everything those notebooks compute. Entry points:

- :mod:`repro.params`     typed parameters per chain and profile (``smoke`` / ``full``)
- :mod:`repro.chains`     run a chain with papermill, atomically, skipping unchanged notebooks
- :mod:`repro.claims`     record headline claims and judge them against the paper
- :mod:`repro.data`       the registry of real data sets (sha256-verified, read in place)
- :mod:`repro.provenance` what a notebook's result depends on
- :mod:`repro.cli`        ``python -m repro ...``
"""

__version__ = "0.1.0"

from .errors import ReproError  # noqa: F401

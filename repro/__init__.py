"""repro: the computing behind the reproducible-papers book.

Each paper is a *chain* of papermill-parameterised notebooks under ``notebooks/<id>/``;
this package holds everything those notebooks compute. Entry points:

- :mod:`repro.params`     typed parameters per chain and profile (``smoke`` / ``full``)
- :mod:`repro.claimspec`  the claims each chain declares in ``notebooks/<id>/claims.yaml``
- :mod:`repro.claims`     record a measured value and judge it against the paper
- :mod:`repro.chains`     run a chain with papermill, atomically, re-running only what changed
- :mod:`repro.provenance` what a notebook's result depends on; where a record came from
- :mod:`repro.status`     is each chain's record fresh, stale or missing?
- :mod:`repro.verify`     re-execute a record under strict nbval
- :mod:`repro.sweep`      seed sweeps and variants side by side
- :mod:`repro.book`, :mod:`repro.bookcheck`  the book from the records, and its browser test
- :mod:`repro.data`, :mod:`repro.datasets`   the registry of real data sets; MNIST and CIFAR-10
- :mod:`repro.cli`        ``python -m repro ...``

One driver per paper, :mod:`repro.papers` (``repro.papers.<id>``), and the field packages it
calls: :mod:`repro.astro` (``agn``, ``mergers``, ``psfgan``, ``sersic``), :mod:`repro.nlp`,
:mod:`repro.sgd`, :mod:`repro.sparse`, :mod:`repro.quantize`, :mod:`repro.automl`,
:mod:`repro.market`.
"""

__version__ = "0.1.0"

from .errors import ReproError  # noqa: F401

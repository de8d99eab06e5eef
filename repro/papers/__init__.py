"""One driver per chain, named after the chain: ``repro.papers.<id>``.

Each module holds ``setup(params, run=None)``, the one place that reads the chain's parameter
names and returns what its notebooks share (data, problem, named seeds, thread settings),
plus the glue that exists only to run that paper's experiments. The computing itself lives in
the field packages (:mod:`repro.astro`, :mod:`repro.sgd`, :mod:`repro.sparse`,
:mod:`repro.automl`, :mod:`repro.nlp`, :mod:`repro.market`).

A notebook of chain ``agn`` starts with::

    from repro import chains
    from repro.papers import agn as paper

    run = chains.start("agn", profile, overrides, notebook="02_simulate")
    P = run.params
    S = paper.setup(P, run)
"""

"""DataBright (Hynes, Dao, Yan, Cheng & Song 2018, arXiv:1802.04780): a data market in one process.

Modules (one concept each):

- :mod:`repro.market.ledger`      the persistent ledger (one SQLite file): accounts and tokens,
  shards registered by content hash, proposals with token-weighted votes, jobs with escrow,
  dividends, and an append-only hash-chained log that :meth:`~repro.market.ledger.Ledger.verify`
  replays to find any edited row;
- :mod:`repro.market.receipts`    compute providers' job receipts signed with Ed25519 (our
  stand-in for Intel SGX attestation);
- :mod:`repro.market.valuation`   exact KNN-Shapley (Jia et al. 2019), leave-one-out, and the
  integer split of a payment by value;
- :mod:`repro.market.experiments` the chain's scenario: contributors, buyers, jobs, attacks;
- :mod:`repro.market.errors`      the errors the ledger raises when it rejects an operation.

There is no blockchain node: the ledger is an ordinary transactional database whose history
is tamper-evident (a hash chain), not a replicated, consensus-run one.
"""

"""DataBright (Hynes, Dao, Yan, Cheng & Song 2018, arXiv:1802.04780): a data market in one process.

Modules (one concept each):

- :mod:`repro.market.ledger`      the persistent ledger (one SQLite file): accounts and tokens,
  reading its state; :class:`~repro.market.ledger.Ledger` also carries the operations of
- :mod:`repro.market.governance`  shards and compute providers proposed and admitted by
  token-weighted votes, and
- :mod:`repro.market.settlement`  jobs with escrow, settled once by a signed receipt;
- :mod:`repro.market.events`      the ledger's state machine: its schema, the events that change
  it and the hash chain over the log (everything a replay needs);
- :mod:`repro.market.audit`       checking a ledger: the replay of its log that finds any edited
  row, the accounting invariants, a re-open in a new process;
- :mod:`repro.market.receipts`    compute providers' job receipts signed with Ed25519 (our
  stand-in for Intel SGX attestation);
- :mod:`repro.market.valuation`   exact KNN-Shapley (Jia et al. 2019), leave-one-out, and the
  integer split of a payment by value;
- :mod:`repro.market.scenario`    contributors and their shards (clean, noisy, copies), the
  shard store, opening the market;
- :mod:`repro.market.jobs`        a buyer's job: training, valuation, receipt, payment;
- :mod:`repro.market.payouts`     what each contributor would earn under each payout rule;
- :mod:`repro.market.attacks`     attempts to cheat the market, each refused or detected;
- :mod:`repro.market.errors`      the errors the ledger raises when it rejects an operation.

There is no blockchain node: the ledger is an ordinary transactional database whose history
is tamper-evident (a hash chain), not a replicated, consensus-run one. The chain's notebooks
are driven by :mod:`repro.papers.databright`.
"""
from .attacks import ATTACKS, run_attacks
from .audit import VerifyReport, check_invariants, restart_check, verify
from .errors import (BadSignature, DuplicateShard, InsufficientFunds, JobError, LedgerError, LedgerFileError,
                     ProposalError, ReceiptError, ReplayedReceipt, UnknownAccount, UnknownShard, VoteError)
from .jobs import BUYER_MODELS, analyse_job, run_job, train_buyer_model
from .ledger import ACCOUNT_KINDS, ESCROW, GENESIS_HASH, Ledger, MarketParams, content_hash
from .payouts import RULE_LABELS, RULES, duplicate_ratios, payouts_by_rule, rank_correlations
from .receipts import ProviderKey, Receipt, canonical_json, public_key_from_hex, sign_receipt, verify_receipt
from .scenario import (DATASET, PROVIDER, Contributor, ShardStore, make_contributors, open_market, provider_key,
                       shard_features, split_validation)

__all__ = ["ATTACKS", "run_attacks", "VerifyReport", "check_invariants", "restart_check", "verify",
           "BadSignature", "DuplicateShard", "InsufficientFunds", "JobError", "LedgerError", "LedgerFileError",
           "ProposalError", "ReceiptError", "ReplayedReceipt", "UnknownAccount", "UnknownShard", "VoteError",
           "BUYER_MODELS", "analyse_job", "run_job", "train_buyer_model",
           "ACCOUNT_KINDS", "ESCROW", "GENESIS_HASH", "Ledger", "MarketParams", "content_hash",
           "RULE_LABELS", "RULES", "duplicate_ratios", "payouts_by_rule", "rank_correlations",
           "ProviderKey", "Receipt", "canonical_json", "public_key_from_hex", "sign_receipt", "verify_receipt",
           "DATASET", "PROVIDER", "Contributor", "ShardStore", "make_contributors", "open_market", "provider_key",
           "shard_features", "split_validation"]

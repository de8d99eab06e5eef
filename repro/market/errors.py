"""Why the market rejects an operation. Every rejection leaves the ledger unchanged."""
from __future__ import annotations

from ..errors import ReproError


class LedgerError(ReproError):
    """An operation the ledger refuses (base class); the ledger is left unchanged."""


class LedgerFileError(LedgerError):
    """The ledger file is missing, already exists, or is not a ledger."""


class UnknownAccount(LedgerError):
    """An account name that is not registered."""


class InsufficientFunds(LedgerError):
    """A transfer, escrow or payment larger than the balance."""


class DuplicateShard(LedgerError):
    """A shard whose content hash is already registered or already proposed."""


class UnknownShard(LedgerError):
    """A shard hash that is not in the registry."""


class ProposalError(LedgerError):
    """A proposal that cannot be made, voted on or closed now."""


class VoteError(ProposalError):
    """A second vote, a vote after the debating period, or a vote without tokens at the snapshot."""


class JobError(LedgerError):
    """A job that cannot be opened, settled or refunded."""


class ReceiptError(JobError):
    """A receipt the ledger rejects (it pays nothing)."""


class BadSignature(ReceiptError):
    """The receipt's signature does not verify under the provider's registered key."""


class ReplayedReceipt(ReceiptError):
    """The receipt (or one for the same job) was already used."""

"""Jobs and their settlement: the ledger operations that move a job's price from escrow.

A buyer opens a job on registered shards with a registered compute provider and its price
moves into escrow (:meth:`Settlement.submit_job`). A receipt signed by that provider settles
the job once (:meth:`Settlement.settle`): the provider's fee, the rest to the shards'
curators by the values in the receipt (:func:`repro.market.events.payout`). A receipt with a
bad signature, for another job or provider, for shards not in the job or not registered, or
seen before is refused and pays nothing (:meth:`Settlement.check_receipt`). An unsettled job
is refunded after ``job_ttl`` ticks (:meth:`Settlement.refund`).

:class:`Settlement` is one part of :class:`repro.market.ledger.Ledger` (the class is not used
alone): its methods run inside the ledger's transactions and read its tables.

Example
-------
>>> from repro.market.ledger import Ledger, MarketParams
>>> from repro.market.receipts import ProviderKey, sign_receipt
>>> key = ProviderKey.from_seed("doc")
>>> L = Ledger.create(":memory:", MarketParams(debate_period=1), members={"m1": 100})
>>> for name in ("c0", "buyer"):
...     L.open_account(name)
>>> pids = [L.propose_provider("m1", "prov", key.public_hex), L.propose_shard("c0", "ef" * 32, 10, "toy")]
>>> for pid in pids:
...     _ = L.vote(pid, "m1", True)
>>> _ = L.tick(); _ = [L.close_proposal(p) for p in pids]
>>> L.deposit("buyer", 100)
>>> jid = L.submit_job("buyer", "prov", ["ef" * 32], 100)
>>> L.settle(sign_receipt(key, job=jid, provider="prov", shards=["ef" * 32], values=[1.0], model="0" * 64))
{'prov': 10, 'c0': 90}
>>> L.close()
"""
from __future__ import annotations

import math
from typing import Sequence

from .errors import BadSignature, InsufficientFunds, JobError, ReceiptError, ReplayedReceipt, UnknownAccount, UnknownShard
from .events import ESCROW, payout
from .receipts import Receipt, verify_receipt

__all__ = ["Settlement"]


class Settlement:
    """The job operations of :class:`repro.market.ledger.Ledger`.

    Relies on the ledger's connection, transactions and readers (``job``, ``shard``,
    ``balance``, ``clock``, ``params``).
    """

    def submit_job(self, buyer: str, provider: str, shards: Sequence[str], price: int) -> int:
        """Open a job: ``price`` tokens move from the buyer into escrow.

        Parameters
        ----------
        buyer : str
        provider : str
            A registered compute provider.
        shards : sequence of str
            Distinct registered shard hashes.
        price : int
            Tokens, at least 0.

        Returns
        -------
        int
            The job id.

        Raises
        ------
        repro.market.errors.JobError
            A negative price or no (or repeated) shards.
        repro.market.errors.UnknownShard
        repro.market.errors.UnknownAccount
            An unknown buyer or provider.
        repro.market.errors.InsufficientFunds
        """
        price = self._int(price, "price")
        if price < 0:
            raise JobError(f"price must be >= 0, got {price}")
        shards = list(shards)
        if not shards or len(set(shards)) != len(shards):
            raise JobError("a job needs a non-empty list of distinct shard hashes")
        with self._transaction() as tx:
            self._require_account(buyer, "buyer")
            self._provider_key(provider)
            for h in shards:
                self.shard(h)  # raises UnknownShard
            if self.balance(buyer) < price:
                raise InsufficientFunds(f"buyer '{buyer}' holds {self.balance(buyer)} tokens, the job costs {price}")
            jid = self._next_id("jobs")
            tx.emit({"type": "open_job", "id": jid, "buyer": buyer, "provider": provider, "shards": shards,
                     "price": price, "expires": self.clock + self.params.job_ttl})
            if price:
                tx.emit({"type": "transfer", "from": buyer, "to": ESCROW, "amount": price, "reason": "escrow"})
        return jid

    def _provider_key(self, name: str) -> str:
        row = self._conn.execute("SELECT public_key FROM providers WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownAccount(f"'{name}' is not a registered compute provider")
        return row[0]

    def check_receipt(self, receipt: Receipt) -> dict:
        """Every check :meth:`settle` makes, without changing anything.

        Parameters
        ----------
        receipt : repro.market.receipts.Receipt

        Returns
        -------
        dict
            The job (a row of :meth:`jobs`).

        Raises
        ------
        repro.market.errors.ReplayedReceipt
            The receipt was used before, or its job is no longer open.
        repro.market.errors.BadSignature
            The signature does not verify under the provider's registered key.
        repro.market.errors.UnknownShard
            The receipt names a shard that is not registered.
        repro.market.errors.ReceiptError
            Another provider or other shards than the job's, or non-finite values.
        repro.market.errors.JobError
            No such job.
        """
        if not isinstance(receipt, Receipt):
            raise ReceiptError(f"expected a Receipt, got {type(receipt).__name__}")
        rid = receipt.id
        if self._conn.execute("SELECT 1 FROM receipts WHERE id = ?", (rid,)).fetchone():
            raise ReplayedReceipt(f"receipt {rid[:16]}… was already used (replay)")
        job = self.job(receipt.job)
        key = self._provider_key(receipt.provider)
        if not verify_receipt(receipt, key):
            raise BadSignature(f"receipt for job {receipt.job} does not carry a valid signature of provider "
                               f"'{receipt.provider}'")
        if job["status"] != "open":
            raise ReplayedReceipt(f"job {job['id']} is already {job['status']}; it pays once")
        if receipt.provider != job["provider"]:
            raise ReceiptError(f"job {job['id']} was given to '{job['provider']}', not '{receipt.provider}'")
        for h in receipt.shards:
            if not self._conn.execute("SELECT 1 FROM shards WHERE hash = ?", (h,)).fetchone():
                raise UnknownShard(f"receipt names shard {h[:16]}…, which is not in the registry")
        if sorted(receipt.shards) != sorted(job["shards"]):
            raise ReceiptError(f"receipt for job {job['id']} names other shards than the job")
        if not all(math.isfinite(v) for v in receipt.values):
            raise ReceiptError("receipt values must be finite")
        return job

    def settle(self, receipt: Receipt) -> dict[str, int]:
        """Check a receipt (:meth:`check_receipt`) and pay the job once: the provider's fee,
        then the rest to the curators by shard value (:func:`repro.market.events.payout`).

        Parameters
        ----------
        receipt : repro.market.receipts.Receipt

        Returns
        -------
        dict
            ``{account: tokens}`` paid.

        Raises
        ------
        repro.market.errors.ReceiptError
            (or a subclass) The receipt is refused; nothing is paid.
        """
        with self._transaction() as tx:
            job = self.check_receipt(receipt)
            curators = {h: self.shard(h)["curator"] for h in receipt.shards}
            fee, by_curator = payout(int(job["price"]), self.params.provider_fee, receipt.shards, receipt.values, curators)
            tx.emit({"type": "accept_receipt", "id": receipt.id, "job": int(job["id"]), "provider": receipt.provider,
                     "body": receipt.message().decode(), "signature": receipt.signature})
            paid = {}
            if fee:
                tx.emit({"type": "pay", "job": int(job["id"]), "to": receipt.provider, "role": "compute", "amount": fee})
                paid[receipt.provider] = fee
            for cur in sorted(by_curator):
                if by_curator[cur]:
                    tx.emit({"type": "pay", "job": int(job["id"]), "to": cur, "role": "dividend",
                             "amount": by_curator[cur]})
                    paid[cur] = paid.get(cur, 0) + by_curator[cur]
            tx.emit({"type": "job_status", "job": int(job["id"]), "status": "settled"})
        return paid

    def refund(self, jid: int) -> int:
        """Return an unsettled job's escrow to its buyer after ``job_ttl`` ticks.

        Parameters
        ----------
        jid : int
            The job.

        Returns
        -------
        int
            Tokens refunded.

        Raises
        ------
        repro.market.errors.JobError
            No such job, not open, or not yet expired.
        """
        with self._transaction() as tx:
            job = self.job(jid)
            if job["status"] != "open":
                raise JobError(f"job {jid} is {job['status']}; only open jobs are refunded")
            if self.clock < job["expires"]:
                raise JobError(f"job {jid} can be refunded from t={job['expires']} (now t={self.clock})")
            if job["price"]:
                tx.emit({"type": "pay", "job": int(jid), "to": job["buyer"], "role": "refund", "amount": int(job["price"])})
            tx.emit({"type": "job_status", "job": int(jid), "status": "refunded"})
        return int(job["price"])

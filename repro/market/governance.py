"""The association's votes: the ledger operations that admit shards and compute providers.

A proposal (add a shard by its content hash, add a compute provider with its public key)
takes a snapshot of the token balances when it opens; votes are weighted by that snapshot, an
account votes once, and after ``debate_period`` ticks :meth:`Governance.close_proposal`
accepts it when at least ``quorum`` of the snapshot supply voted and more voted yes than no,
and executes it in the same transaction (the curator of an accepted shard receives
``shard_reward`` new tokens).

:class:`Governance` is one part of :class:`repro.market.ledger.Ledger` (the class is not used
alone): its methods run inside the ledger's transactions and read its tables.

Example
-------
>>> from repro.market.ledger import Ledger, MarketParams
>>> L = Ledger.create(":memory:", MarketParams(debate_period=1), members={"m1": 60, "m2": 40})
>>> L.open_account("c0")
>>> pid = L.propose_shard("c0", "cd" * 32, n_items=10, dataset="toy")
>>> L.vote(pid, "m2", False)
40
>>> _ = L.tick()
>>> L.close_proposal(pid)                  # 40 of 100 voted: no quorum
'rejected'
>>> L.close()
"""
from __future__ import annotations

import json

from .errors import DuplicateShard, LedgerError, ProposalError, VoteError
from .receipts import public_key_from_hex

__all__ = ["Governance"]


class Governance:
    """The proposal and voting operations of :class:`repro.market.ledger.Ledger`.

    Relies on the ledger's connection, transactions and readers (``proposal``, ``clock``,
    ``params``, ``has_account``).
    """

    def propose_shard(self, proposer: str, shard_hash: str, n_items: int, dataset: str) -> int:
        """Propose adding a shard, named by its content hash, with ``proposer`` as its curator.

        Parameters
        ----------
        proposer : str
            The contributor's account (the curator once the shard is accepted).
        shard_hash : str
            :func:`content_hash` of the shard (64 lower-case hex digits).
        n_items : int
            Items in the shard.
        dataset : str
            The data set it belongs to.

        Returns
        -------
        int
            The proposal id.

        Raises
        ------
        repro.market.errors.DuplicateShard
            The hash is already registered or proposed.
        repro.market.errors.UnknownAccount
        repro.market.errors.LedgerError
            A malformed hash or item count.
        """
        if not (isinstance(shard_hash, str) and len(shard_hash) == 64 and all(ch in "0123456789abcdef" for ch in shard_hash)):
            raise LedgerError(f"a shard is named by its sha256 (64 lower-case hex digits), got {shard_hash!r}")
        n_items = self._int(n_items, "n_items")
        if n_items < 1:
            raise LedgerError("a shard holds at least one item")
        with self._transaction() as tx:
            self._require_account(proposer, "proposer")
            if self._conn.execute("SELECT 1 FROM shards WHERE hash = ?", (shard_hash,)).fetchone():
                raise DuplicateShard(f"shard {shard_hash[:16]}… is already registered (same content hash)")
            for (payload,) in self._conn.execute("SELECT payload FROM proposals WHERE kind = 'shard' AND status = 'open'"):
                if json.loads(payload)["hash"] == shard_hash:
                    raise DuplicateShard(f"shard {shard_hash[:16]}… is already proposed (same content hash)")
            pid = self._next_id("proposals")
            tx.emit({"type": "propose", "id": pid, "kind": "shard", "proposer": proposer,
                     "payload": {"hash": shard_hash, "n_items": n_items, "dataset": str(dataset), "curator": proposer},
                     "deadline": self.clock + self.params.debate_period})
        return pid

    def propose_provider(self, proposer: str, name: str, public_key_hex: str) -> int:
        """Propose registering a compute provider with its Ed25519 public key.

        Parameters
        ----------
        proposer : str
            The proposing account.
        name : str
            The provider's account name (opened when the proposal is executed).
        public_key_hex : str
            64 hex digits (:attr:`repro.market.receipts.ProviderKey.public_hex`).

        Returns
        -------
        int
            The proposal id.

        Raises
        ------
        repro.market.errors.ReceiptError
            A malformed key.
        repro.market.errors.ProposalError
            The provider is already registered, or the name belongs to another kind of account.
        repro.market.errors.UnknownAccount
        """
        self._check_name(name)
        public_key_from_hex(public_key_hex)  # raises ReceiptError when malformed
        with self._transaction() as tx:
            self._require_account(proposer, "proposer")
            if self._conn.execute("SELECT 1 FROM providers WHERE name = ?", (name,)).fetchone():
                raise ProposalError(f"provider '{name}' is already registered")
            if self.has_account(name) and self._rows("SELECT kind FROM accounts WHERE name = ?", (name,))[0]["kind"] != "provider":
                raise ProposalError(f"account '{name}' exists and is not a provider account")
            pid = self._next_id("proposals")
            tx.emit({"type": "propose", "id": pid, "kind": "provider", "proposer": proposer,
                     "payload": {"name": name, "public_key": public_key_hex},
                     "deadline": self.clock + self.params.debate_period})
        return pid

    def vote(self, pid: int, voter: str, support: bool) -> int:
        """Vote on an open proposal, with the voter's balance in the proposal's snapshot.

        Parameters
        ----------
        pid : int
            The proposal.
        voter : str
        support : bool
            Yes or no.

        Returns
        -------
        int
            The weight of the vote.

        Raises
        ------
        repro.market.errors.VoteError
            A second vote, a vote after the debating period, or a voter without tokens in the
            snapshot.
        repro.market.errors.ProposalError
            No such proposal.
        repro.market.errors.UnknownAccount
        """
        with self._transaction() as tx:
            self._require_account(voter, "voter")
            p = self.proposal(pid)
            if p["status"] != "open":
                raise VoteError(f"proposal {pid} is {p['status']}, not open")
            if self.clock >= p["deadline"]:
                raise VoteError(f"the debating period of proposal {pid} ended at t={p['deadline']} (now t={self.clock})")
            if self._conn.execute("SELECT 1 FROM votes WHERE proposal = ? AND voter = ?", (pid, voter)).fetchone():
                raise VoteError(f"'{voter}' has already voted on proposal {pid}; a vote counts once")
            row = self._conn.execute("SELECT balance FROM snapshots WHERE proposal = ? AND account = ?", (pid, voter)).fetchone()
            if not row:
                raise VoteError(f"'{voter}' held no tokens when proposal {pid} opened (t={p['opened']}); tokens "
                                f"received later do not vote on it")
            tx.emit({"type": "vote", "proposal": int(pid), "voter": voter, "support": bool(support)})
            return int(row[0])

    def close_proposal(self, pid: int) -> str:
        """Tally a proposal after its debating period; execute it when accepted.

        Parameters
        ----------
        pid : int
            The proposal.

        Returns
        -------
        str
            ``"accepted"`` or ``"rejected"``.

        Raises
        ------
        repro.market.errors.ProposalError
            No such proposal, already closed, or still debated.
        """
        with self._transaction() as tx:
            p = self.proposal(pid)
            if p["status"] != "open":
                raise ProposalError(f"proposal {pid} is already {p['status']}")
            if self.clock < p["deadline"]:
                raise ProposalError(f"proposal {pid} is debated until t={p['deadline']} (now t={self.clock})")
            turnout = p["yes"] + p["no"]
            quorum = p["supply"] > 0 and turnout >= self.params.quorum * p["supply"]
            status = "accepted" if quorum and p["yes"] > p["no"] else "rejected"
            tx.emit({"type": "close", "proposal": int(pid), "status": status})
            if status == "accepted":
                pl = p["payload"]
                if p["kind"] == "shard":
                    tx.emit({"type": "register_shard", "hash": pl["hash"], "curator": pl["curator"],
                             "n_items": pl["n_items"], "dataset": pl["dataset"], "proposal": int(pid)})
                    if self.params.shard_reward:
                        tx.emit({"type": "mint", "to": pl["curator"], "amount": self.params.shard_reward,
                                 "reason": "shard_reward"})
                else:
                    if not self.has_account(pl["name"]):
                        tx.emit({"type": "open_account", "name": pl["name"], "kind": "provider"})
                    tx.emit({"type": "register_provider", "name": pl["name"], "public_key": pl["public_key"],
                             "proposal": int(pid)})
        return status

"""The market's ledger: one SQLite file, transactional, with a tamper-evident history.

State (tables): accounts and their token balances; shards registered by sha256 content hash
with their curator; compute providers with their Ed25519 public keys; proposals, the token
snapshot each was opened with, and votes; jobs with their escrow, accepted receipts and the
payments made.

Every change of state is an *event* (a small JSON object, :mod:`repro.market.events`). An
operation (a transfer, a vote, settling a job ...) checks its preconditions, then applies its
events and appends each to the ``log`` table inside ONE SQLite transaction: either all of it
happens or none of it (a process killed half-way leaves the file as it was before the
operation; SQLite's journal rolls the partial write back on the next open). Each log row
carries ``hash = sha256(previous hash | seq | tx | clock | event)``, a hash chain.
:meth:`Ledger.verify` (:func:`repro.market.audit.verify`) recomputes the chain (an edited log
row breaks it) and replays every logged event into a fresh in-memory database, comparing the
result with the state tables (an edited balance, shard, vote ... no longer matches the
replay). An attacker who can write the file could rewrite the whole chain consistently;
against that, publish the head hash (:meth:`Ledger.head`) somewhere else and pass it to
``verify(anchor=...)``.

Rules (the defaults are in :class:`MarketParams`): tokens are integers, minted only at genesis
to the founding members, by a ``deposit`` (a buyer buys tokens with outside money) and as the
reward of an accepted shard's curator; otherwise they only move, so ``sum(balances) ==
minted`` always and no balance is ever negative. Shards and compute providers are admitted by
token-weighted vote (:mod:`repro.market.governance`; a shard whose content hash is already
registered or proposed is refused); jobs hold their price in escrow until a receipt signed by
their provider settles them (:mod:`repro.market.settlement`).

The ledger trusts its caller to be who it says it is (no account signatures): it is the
market operator's database, not a blockchain node.

Example
-------
>>> from repro.market.ledger import Ledger, MarketParams
>>> L = Ledger.create(":memory:", MarketParams(debate_period=1), members={"m1": 60, "m2": 40})
>>> L.open_account("c0")
>>> pid = L.propose_shard("c0", "ab" * 32, n_items=100, dataset="mnist-test-idx")
>>> L.vote(pid, "m1", True)
60
>>> L.tick()
1
>>> L.close_proposal(pid), L.balance("c0"), L.verify().ok
('accepted', 10, True)
>>> L.close()
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from . import audit
from .audit import VerifyReport
from .errors import InsufficientFunds, JobError, LedgerError, LedgerFileError, ProposalError, UnknownAccount, UnknownShard
from .events import (ESCROW, GENESIS_HASH, SCHEMA, SCHEMA_VERSION, STATE_TABLES, apply_event, connect, dump_table,
                     entry_hash, event_text, read_meta)
from .governance import Governance
from .settlement import Settlement

__all__ = ["Ledger", "MarketParams", "VerifyReport", "content_hash", "ESCROW", "GENESIS_HASH", "ACCOUNT_KINDS"]

ACCOUNT_KINDS = ("member", "contributor", "buyer", "provider")
"""The kinds of account :meth:`Ledger.open_account` opens (the escrow account is ``system``)."""


def content_hash(X, y) -> str:
    """sha256 content hash of a shard of labelled items, independent of their order.

    Each item's hash covers its dtype, shape, bytes and label; the shard's hash is the sha256
    of the sorted item hashes, so re-ordering a copied shard does not change it (re-encoding
    or adding noise does: that is for the valuation to handle).

    Parameters
    ----------
    X : array_like, shape (n, ...)
        The items (their bytes are hashed: use the uploaded dtype).
    y : array_like, shape (n,)
        Integer labels.

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    ValueError
        An empty shard, or not one label per item.
    """
    X = np.ascontiguousarray(X)
    y = np.asarray(y)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"content_hash needs a non-empty shard with one label per item ({len(X)} items, {len(y)} labels)")
    head = f"{X.dtype.str}|{X.shape[1:]}|".encode()
    items = sorted(hashlib.sha256(head + X[i].tobytes() + b"|" + str(int(y[i])).encode()).digest() for i in range(len(X)))
    return hashlib.sha256(b"".join(items)).hexdigest()


@dataclass(frozen=True)
class MarketParams:
    """Rules of a market (fixed at genesis, stored in the ledger).

    Attributes
    ----------
    quorum : float
        Share of the snapshot supply that must vote, in (0, 1].
    debate_period : int
        Ticks a proposal stays open.
    shard_reward : int
        Tokens minted to the curator when a shard is accepted.
    provider_fee : float
        Share of a job's price paid to the compute provider, in [0, 1].
    job_ttl : int
        Ticks after which an unsettled job can be refunded.
    """

    quorum: float = 0.5
    debate_period: int = 3
    shard_reward: int = 10
    provider_fee: float = 0.1
    job_ttl: int = 10

    def check(self) -> "MarketParams":
        """Validate the rules.

        Returns
        -------
        MarketParams
            ``self``.

        Raises
        ------
        repro.market.errors.LedgerError
            A rule out of its range.
        """
        if not 0.0 < self.quorum <= 1.0:
            raise LedgerError(f"quorum must be in (0, 1], got {self.quorum!r}")
        if not 0.0 <= self.provider_fee <= 1.0:
            raise LedgerError(f"provider_fee must be in [0, 1], got {self.provider_fee!r}")
        for name in ("debate_period", "shard_reward", "job_ttl"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name != "shard_reward" else 0):
                raise LedgerError(f"{name} must be a {'positive' if name != 'shard_reward' else 'non-negative'} integer, got {v!r}")
        return self


def _int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise LedgerError(f"{what} must be an integer number of tokens, got {v!r}")
    return int(v)


class _Tx:
    """An open transaction: ``emit(event)`` applies and logs one event."""

    def __init__(self, ledger: "Ledger"):
        self.ledger = ledger
        self.conn = ledger._conn
        row = self.conn.execute("SELECT seq, tx, hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq, self.tx, self.prev = (row[0], row[1] + 1, row[2]) if row else (0, 1, GENESIS_HASH)
        self.n = 0

    def emit(self, ev: dict) -> None:
        apply_event(self.conn, ev)
        self.seq += 1
        text = event_text(ev)
        clock = read_meta(self.conn, "clock") or 0
        h = entry_hash(self.prev, self.seq, self.tx, clock, text)
        self.conn.execute("INSERT INTO log(seq, tx, clock, event, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
                          (self.seq, self.tx, clock, text, self.prev, h))
        self.prev = h
        self.n += 1
        if self.ledger.fault is not None:  # fault injection for crash tests
            self.ledger.fault(self.n)


class Ledger(Governance, Settlement):
    """The market ledger in one SQLite file (see the module docstring).

    Create with :meth:`create`, reopen with :meth:`open` (or ``Ledger(path)``); use as a
    context manager or call :meth:`close`. ``path=":memory:"`` (create only) keeps it in memory.
    Every operation either happens entirely or, raising a
    :class:`~repro.market.errors.LedgerError`, not at all.

    Parameters
    ----------
    path : str or pathlib.Path
        An existing ledger file.

    Attributes
    ----------
    path : str
    params : MarketParams
        The rules stored at genesis.
    fault : callable or None
        Test hook: called with the number of events emitted so far in the current operation
        (raise or kill the process in it to simulate a crash).

    Raises
    ------
    repro.market.errors.LedgerFileError
        No file at ``path``, or not a ledger.
    """

    def __init__(self, path, *, _conn: sqlite3.Connection | None = None):
        self.path = str(path)
        if _conn is None:
            if self.path != ":memory:" and not Path(self.path).is_file():
                raise LedgerFileError(f"no ledger file at {self.path}; create one with Ledger.create(path, ...)")
            _conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            try:
                tables = {r[0] for r in _conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                _conn.close()
                _conn = connect(self.path)
            except sqlite3.DatabaseError as exc:
                _conn.close()
                raise LedgerFileError(f"{self.path} is not a ledger: {exc}") from None
            if not {"log", *STATE_TABLES} <= tables or read_meta(_conn, "schema") != SCHEMA_VERSION:
                _conn.close()
                raise LedgerFileError(f"{self.path} is not a market ledger (tables or schema version missing)")
        self._conn = _conn
        self.fault: Callable[[int], None] | None = None
        self.params = MarketParams(**read_meta(self._conn, "params"))

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path, params: MarketParams | None = None, members: Mapping[str, int] | None = None,
               *, overwrite: bool = False) -> "Ledger":
        """A new ledger file with the genesis allocation.

        Parameters
        ----------
        path : str or pathlib.Path
            The file to create (its folder is created), or ``":memory:"``.
        params : MarketParams, optional
            The market's rules (defaults: ``MarketParams()``).
        members : mapping, optional
            Founding members: name -> tokens minted to them at genesis.
        overwrite : bool
            Replace an existing file.

        Returns
        -------
        Ledger
            Open; close it when done.

        Raises
        ------
        repro.market.errors.LedgerFileError
            The file exists and ``overwrite`` is false.
        repro.market.errors.LedgerError
            Invalid rules, member names or allocations.
        """
        params = (params or MarketParams()).check()
        path = str(path)
        if path != ":memory:":
            p = Path(path)
            if p.exists():
                if not overwrite:
                    raise LedgerFileError(f"{p} already exists (pass overwrite=True to replace it)")
                p.unlink()
                Path(str(p) + "-journal").unlink(missing_ok=True)
            p.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
        conn.executescript(SCHEMA)
        self = cls.__new__(cls)
        self.path, self._conn, self.fault, self.params = path, conn, None, params
        with self._transaction() as tx:
            tx.emit({"type": "genesis", "params": asdict(params)})
            for name, amount in (members or {}).items():
                self._check_name(name)
                amount = _int(amount, f"genesis tokens of '{name}'")
                if amount < 0:
                    raise LedgerError(f"genesis tokens of '{name}' must be >= 0")
                tx.emit({"type": "open_account", "name": name, "kind": "member"})
                if amount:
                    tx.emit({"type": "mint", "to": name, "amount": amount, "reason": "genesis"})
        return self

    @classmethod
    def open(cls, path) -> "Ledger":
        """Reopen an existing ledger file (same as ``Ledger(path)``).

        Parameters
        ----------
        path : str or pathlib.Path

        Returns
        -------
        Ledger

        Raises
        ------
        repro.market.errors.LedgerFileError
            No file at ``path``, or not a ledger.
        """
        return cls(path)

    def close(self) -> None:
        """Close the database connection (again: nothing happens)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _transaction(self):
        ledger = self

        class _Ctx:
            def __enter__(self_inner):
                ledger._conn.execute("BEGIN IMMEDIATE")
                self_inner.tx = _Tx(ledger)
                return self_inner.tx

            def __exit__(self_inner, et, ev, tb):
                if et is None:
                    ledger._conn.execute("COMMIT")
                else:
                    ledger._conn.execute("ROLLBACK")
                return False

        return _Ctx()

    # ------------------------------------------------------------------- reading
    # The readers return plain values; rows are dicts keyed by the columns of the table
    # (see repro.market.events.SCHEMA), JSON columns decoded.
    @property
    def clock(self) -> int:
        """The logical clock (ticks since genesis)."""
        return int(read_meta(self._conn, "clock"))

    def minted(self) -> int:
        """Tokens minted so far (genesis + deposits + shard rewards)."""
        return int(read_meta(self._conn, "minted"))

    def balance(self, name: str) -> int:
        """Tokens held by account ``name``.

        Raises
        ------
        repro.market.errors.UnknownAccount
        """
        row = self._conn.execute("SELECT balance FROM accounts WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownAccount(f"no account '{name}'")
        return int(row[0])

    def balances(self, include_system: bool = True) -> dict[str, int]:
        """``{account: tokens}`` sorted by name; ``include_system=False`` leaves out the escrow."""
        q = "SELECT name, balance FROM accounts" + ("" if include_system else " WHERE kind != 'system'")
        return {n: int(b) for n, b in self._conn.execute(q + " ORDER BY name")}

    def has_account(self, name: str) -> bool:
        """Whether account ``name`` exists."""
        return self._conn.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone() is not None

    def shards(self) -> list[dict]:
        """Every registered shard (``hash``, ``curator``, ``n_items``, ``dataset``, ``proposal``,
        ``registered``) in the order registered."""
        return self._rows("SELECT hash, curator, n_items, dataset, proposal, registered FROM shards ORDER BY registered, hash")

    def shard(self, h: str) -> dict:
        """The registered shard with content hash ``h`` (a row of :meth:`shards`).

        Raises
        ------
        repro.market.errors.UnknownShard
        """
        rows = self._rows("SELECT hash, curator, n_items, dataset, proposal, registered FROM shards WHERE hash = ?", (h,))
        if not rows:
            raise UnknownShard(f"shard {h[:16]}… is not in the registry")
        return rows[0]

    def providers(self) -> list[dict]:
        """Every registered compute provider (``name``, ``public_key``, ``proposal``, ``registered``)."""
        return self._rows("SELECT name, public_key, proposal, registered FROM providers ORDER BY name")

    def _decoded(self, sql: str, params: tuple, column: str) -> list[dict]:
        """Rows of ``sql`` with the JSON text of ``column`` decoded."""
        rows = self._rows(sql, params)
        for r in rows:
            r[column] = json.loads(r[column])
        return rows

    def proposals(self) -> list[dict]:
        """Every proposal (its ``payload`` decoded, tallies ``yes``/``no`` and snapshot ``supply``) by id."""
        return self._decoded("SELECT * FROM proposals ORDER BY id", (), "payload")

    def proposal(self, pid: int) -> dict:
        """Proposal ``pid`` (a row of :meth:`proposals`).

        Raises
        ------
        repro.market.errors.ProposalError
            No such proposal.
        """
        rows = self._decoded("SELECT * FROM proposals WHERE id = ?", (int(pid),), "payload")
        if not rows:
            raise ProposalError(f"no proposal {pid}")
        return rows[0]

    def votes(self, pid: int | None = None) -> list[dict]:
        """The votes cast (on proposal ``pid`` only, when given), with their weights."""
        if pid is None:
            return self._rows("SELECT * FROM votes ORDER BY proposal, at, voter")
        return self._rows("SELECT * FROM votes WHERE proposal = ? ORDER BY at, voter", (int(pid),))

    def jobs(self) -> list[dict]:
        """Every job (its ``shards`` decoded, ``price``, ``status`` ...) by id."""
        return self._decoded("SELECT * FROM jobs ORDER BY id", (), "shards")

    def job(self, jid: int) -> dict:
        """Job ``jid`` (a row of :meth:`jobs`).

        Raises
        ------
        repro.market.errors.JobError
            No such job.
        """
        rows = self._decoded("SELECT * FROM jobs WHERE id = ?", (int(jid),), "shards")
        if not rows:
            raise JobError(f"no job {jid}")
        return rows[0]

    def payments(self, job: int | None = None) -> list[dict]:
        """The payments made (of job ``job`` only, when given): ``job``, ``account``, ``role``
        (``compute``, ``dividend`` or ``refund``), ``amount``."""
        if job is None:
            return self._rows("SELECT * FROM payments ORDER BY job, role, account")
        return self._rows("SELECT * FROM payments WHERE job = ? ORDER BY role, account", (int(job),))

    def log(self) -> list[dict]:
        """The whole log (``seq``, ``tx``, ``clock``, ``event`` decoded, ``prev``, ``hash``)."""
        rows = self._rows("SELECT * FROM log ORDER BY seq")
        for r in rows:
            r["event"] = json.loads(r["event"])
        return rows

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last log entry: publish it to detect a rewritten history."""
        row = self._conn.execute("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS_HASH)

    def state_digest(self) -> str:
        """sha256 of every state table and the log head (equal digests: equal ledgers)."""
        h = hashlib.sha256()
        for t in STATE_TABLES:
            h.update(json.dumps([t, dump_table(self._conn, t)], default=str).encode())
        h.update(repr(self.head()).encode())
        return h.hexdigest()

    def _rows(self, q: str, args: tuple = ()) -> list[dict]:
        cur = self._conn.execute(q, args)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    # ------------------------------------------------------------------ checking
    def check_invariants(self) -> list[str]:
        """Accounting facts that must always hold (:func:`repro.market.audit.check_invariants`).

        Returns
        -------
        list of str
            The violations (empty when sound).
        """
        return audit.check_invariants(self._conn)

    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyReport:
        """Check the hash chain, replay the log and compare with every state table
        (:func:`repro.market.audit.verify`).

        Parameters
        ----------
        anchor : (int, str), optional
            A head published earlier (:meth:`head`): also detects a history rewritten or
            truncated since.

        Returns
        -------
        VerifyReport
            It never raises for a tampered ledger: finding tampering is its job.
        """
        return audit.verify(self._conn, anchor)

    # -------------------------------------------------------------- operations
    _int = staticmethod(_int)

    def _next_id(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])

    @staticmethod
    def _check_name(name) -> None:
        if not isinstance(name, str) or not name or name.startswith("@") or len(name) > 64:
            raise LedgerError(f"account names are 1-64 characters not starting with '@', got {name!r}")

    def _require_account(self, name: str, what: str = "account") -> None:
        if not self.has_account(name):
            raise UnknownAccount(f"{what} '{name}' is not registered")

    def open_account(self, name: str, kind: str = "contributor") -> None:
        """Register an account with balance 0.

        Parameters
        ----------
        name : str
            1-64 characters, not starting with ``@``.
        kind : str
            One of :data:`ACCOUNT_KINDS`.

        Raises
        ------
        repro.market.errors.LedgerError
            A bad name or kind, or an existing account.
        """
        self._check_name(name)
        if kind not in ACCOUNT_KINDS:
            raise LedgerError(f"account kind must be one of {', '.join(ACCOUNT_KINDS)}, got {kind!r}")
        with self._transaction() as tx:
            if self.has_account(name):
                raise LedgerError(f"account '{name}' already exists")
            tx.emit({"type": "open_account", "name": name, "kind": kind})

    def tick(self, n: int = 1) -> int:
        """Advance the logical clock.

        Parameters
        ----------
        n : int
            Ticks, at least 1.

        Returns
        -------
        int
            The new time.

        Raises
        ------
        repro.market.errors.LedgerError
            ``n`` is not a positive integer.
        """
        n = _int(n, "ticks")
        if n < 1:
            raise LedgerError(f"the clock only moves forward (ticks >= 1), got {n}")
        with self._transaction() as tx:
            new = self.clock + n
            tx.emit({"type": "tick", "clock": new})
        return new

    def deposit(self, name: str, amount: int) -> None:
        """Mint tokens to an account against outside money (the only mint on demand).

        Parameters
        ----------
        name : str
        amount : int
            Positive.

        Raises
        ------
        repro.market.errors.UnknownAccount
        repro.market.errors.LedgerError
            A non-positive or non-integer amount.
        """
        amount = _int(amount, "deposit")
        if amount <= 0:
            raise LedgerError(f"a deposit must be positive, got {amount}")
        self._check_name(name)
        with self._transaction() as tx:
            self._require_account(name)
            tx.emit({"type": "mint", "to": name, "amount": amount, "reason": "deposit"})

    def transfer(self, src: str, dst: str, amount: int) -> None:
        """Move tokens between two (non-system) accounts.

        Parameters
        ----------
        src, dst : str
            Sender and receiver (different).
        amount : int
            Positive.

        Raises
        ------
        repro.market.errors.UnknownAccount
        repro.market.errors.InsufficientFunds
        repro.market.errors.LedgerError
            A bad amount or the same account twice.
        """
        amount = _int(amount, "transfer")
        if amount <= 0:
            raise LedgerError(f"a transfer must be positive, got {amount}")
        for n in (src, dst):
            self._check_name(n)
        if src == dst:
            raise LedgerError("a transfer needs two different accounts")
        with self._transaction() as tx:
            self._require_account(src, "sender")
            self._require_account(dst, "receiver")
            if self.balance(src) < amount:
                raise InsufficientFunds(f"'{src}' holds {self.balance(src)} tokens, cannot send {amount}")
            tx.emit({"type": "transfer", "from": src, "to": dst, "amount": amount, "reason": "transfer"})

    # ---------------------------------------------------------------- proposals

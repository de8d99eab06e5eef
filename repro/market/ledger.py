"""The market's ledger: one SQLite file, transactional, with a tamper-evident history.

State (tables): accounts and their token balances; shards registered by sha256 content hash
with their curator; compute providers with their Ed25519 public keys; proposals, the token
snapshot each was opened with, and votes; jobs with their escrow, accepted receipts and the
payments made.

Every change of state is an *event* (a small JSON object). An operation (a transfer, a vote,
settling a job ...) checks its preconditions, then applies its events and appends each to
the ``log`` table inside ONE SQLite transaction: either all of it happens or none of it (a
process killed half-way leaves the file as it was before the operation; SQLite's journal
rolls the partial write back on the next open). Each log row carries
``hash = sha256(previous hash | seq | tx | clock | event)``, a hash chain.
:meth:`Ledger.verify` recomputes the chain (an edited log row breaks it) and replays every
logged event into a fresh in-memory database, comparing the result with the state tables (an
edited balance, shard, vote ... no longer matches the replay). An attacker who can write the
file could rewrite the whole chain consistently; against that, publish the head hash
(:meth:`Ledger.head`) somewhere else and pass it to ``verify(anchor=...)``.

Rules (the defaults are in :class:`MarketParams`):

- Tokens are integers, minted only (i) at genesis to the founding members, (ii) by a
  ``deposit`` (a buyer buys tokens with outside money), and (iii) as the reward to the curator
  when a shard proposal is executed. Otherwise they only move, so
  ``sum(balances) == minted`` always; no balance is ever negative.
- Proposals (add a shard, add a compute provider) are open for ``debate_period`` ticks of a
  logical clock. Votes are weighted by the voter's balance in the snapshot taken when the
  proposal was opened, so tokens moved (or borrowed) afterwards cannot vote twice; an account
  votes at most once. At the deadline a proposal is accepted when the weight that voted is at
  least ``quorum`` of the snapshot supply and more weight voted yes than no; accepted
  proposals are executed in the same transaction.
- A shard whose content hash is already registered or proposed is refused.
- A buyer opens a job on registered shards with a compute provider; the price moves into
  escrow. A receipt signed by that provider settles the job once: ``provider_fee`` of the
  price to the provider, the rest to the shards' curators in proportion to the shard values
  in the receipt (:func:`repro.market.valuation.split_payment`). A receipt with a bad
  signature, for another job or provider, for shards not in the job or not registered, or
  seen before is refused and pays nothing. An unsettled job can be refunded after
  ``job_ttl`` ticks.

The ledger trusts its caller to be who it says it is (no account signatures): it is the
market operator's database, not a blockchain node.
"""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import (BadSignature, DuplicateShard, InsufficientFunds, JobError, LedgerError, LedgerFileError,
                     ProposalError, ReceiptError, ReplayedReceipt, UnknownAccount, UnknownShard, VoteError)
from .receipts import Receipt, canonical_json, public_key_from_hex, verify_receipt
from .valuation import split_payment

__all__ = ["Ledger", "MarketParams", "VerifyReport", "content_hash", "ESCROW", "GENESIS_HASH"]

ESCROW = "@escrow"
GENESIS_HASH = "0" * 64
SCHEMA_VERSION = 1
ACCOUNT_KINDS = ("member", "contributor", "buyer", "provider")

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts(name TEXT PRIMARY KEY, kind TEXT NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0),
                      created INTEGER NOT NULL);
CREATE TABLE shards(hash TEXT PRIMARY KEY, curator TEXT NOT NULL REFERENCES accounts(name), n_items INTEGER NOT NULL,
                    dataset TEXT NOT NULL, proposal INTEGER NOT NULL, registered INTEGER NOT NULL);
CREATE TABLE providers(name TEXT PRIMARY KEY REFERENCES accounts(name), public_key TEXT NOT NULL,
                       proposal INTEGER NOT NULL, registered INTEGER NOT NULL);
CREATE TABLE proposals(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, proposer TEXT NOT NULL,
                       opened INTEGER NOT NULL, deadline INTEGER NOT NULL, status TEXT NOT NULL,
                       yes INTEGER NOT NULL, no INTEGER NOT NULL, supply INTEGER NOT NULL);
CREATE TABLE snapshots(proposal INTEGER NOT NULL, account TEXT NOT NULL, balance INTEGER NOT NULL,
                       PRIMARY KEY (proposal, account));
CREATE TABLE votes(proposal INTEGER NOT NULL, voter TEXT NOT NULL, support INTEGER NOT NULL, weight INTEGER NOT NULL,
                   at INTEGER NOT NULL, PRIMARY KEY (proposal, voter));
CREATE TABLE jobs(id INTEGER PRIMARY KEY, buyer TEXT NOT NULL, provider TEXT NOT NULL, shards TEXT NOT NULL,
                  price INTEGER NOT NULL CHECK (price >= 0), opened INTEGER NOT NULL, expires INTEGER NOT NULL,
                  status TEXT NOT NULL, receipt TEXT);
CREATE TABLE receipts(id TEXT PRIMARY KEY, job INTEGER NOT NULL UNIQUE, provider TEXT NOT NULL, body TEXT NOT NULL,
                      signature TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE payments(job INTEGER NOT NULL, account TEXT NOT NULL, role TEXT NOT NULL,
                      amount INTEGER NOT NULL CHECK (amount >= 0), PRIMARY KEY (job, account, role));
CREATE TABLE log(seq INTEGER PRIMARY KEY, tx INTEGER NOT NULL, clock INTEGER NOT NULL, event TEXT NOT NULL,
                 prev TEXT NOT NULL, hash TEXT NOT NULL);
"""
STATE_TABLES = {  # table -> ORDER BY (its primary key)
    "meta": "key", "accounts": "name", "shards": "hash", "providers": "name", "proposals": "id",
    "snapshots": "proposal, account", "votes": "proposal, voter", "jobs": "id", "receipts": "id",
    "payments": "job, account, role",
}


def content_hash(X, y) -> str:
    """sha256 content hash of a shard of labelled items, independent of their order.

    Each item's hash covers its dtype, shape, bytes and label; the shard's hash is the sha256
    of the sorted item hashes, so re-ordering a copied shard does not change it (re-encoding
    or adding noise does: that is for the valuation to handle).
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
    """Rules of a market (fixed at genesis, stored in the ledger)."""

    quorum: float = 0.5          # share of the snapshot supply that must vote
    debate_period: int = 3       # ticks a proposal stays open
    shard_reward: int = 10       # tokens minted to the curator when a shard is accepted
    provider_fee: float = 0.1    # share of a job's price paid to the compute provider
    job_ttl: int = 10            # ticks after which an unsettled job can be refunded

    def check(self) -> "MarketParams":
        if not 0.0 < self.quorum <= 1.0:
            raise LedgerError(f"quorum must be in (0, 1], got {self.quorum!r}")
        if not 0.0 <= self.provider_fee <= 1.0:
            raise LedgerError(f"provider_fee must be in [0, 1], got {self.provider_fee!r}")
        for name in ("debate_period", "shard_reward", "job_ttl"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name != "shard_reward" else 0):
                raise LedgerError(f"{name} must be a {'positive' if name != 'shard_reward' else 'non-negative'} integer, got {v!r}")
        return self


@dataclass
class VerifyReport:
    """What :meth:`Ledger.verify` found: ``ok`` is true when ``problems`` is empty."""

    n_entries: int
    head: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return f"ledger verified: {self.n_entries} log entries, head {self.head[:16]}…"
        return f"ledger NOT verified ({len(self.problems)} problems): " + "; ".join(self.problems[:5])


def _entry_hash(prev: str, seq: int, tx: int, clock: int, event: str) -> str:
    return hashlib.sha256(f"{prev}|{seq}|{tx}|{clock}|{event}".encode()).hexdigest()


def _int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise LedgerError(f"{what} must be an integer number of tokens, got {v!r}")
    return int(v)


# ----------------------------------------------------------------------- applying events
def _meta(conn, key: str):
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


def _set_meta(conn, key: str, value) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (key, json.dumps(value, sort_keys=True)))


def _credit(conn, name: str, amount: int) -> None:
    cur = conn.execute("UPDATE accounts SET balance = balance + ? WHERE name = ?", (amount, name))
    if cur.rowcount != 1:
        raise UnknownAccount(f"no account '{name}'")


def _apply(conn, ev: Mapping[str, Any]) -> None:
    """Apply one event to the state tables (used live and by the replay in verify)."""
    t = ev["type"]
    clock = _meta(conn, "clock") or 0
    if t == "genesis":
        _set_meta(conn, "schema", SCHEMA_VERSION)
        _set_meta(conn, "params", ev["params"])
        _set_meta(conn, "clock", 0)
        _set_meta(conn, "minted", 0)
        conn.execute("INSERT INTO accounts(name, kind, balance, created) VALUES (?, 'system', 0, 0)", (ESCROW,))
    elif t == "open_account":
        conn.execute("INSERT INTO accounts(name, kind, balance, created) VALUES (?, ?, 0, ?)",
                     (ev["name"], ev["kind"], clock))
    elif t == "mint":
        _credit(conn, ev["to"], ev["amount"])
        _set_meta(conn, "minted", _meta(conn, "minted") + ev["amount"])
    elif t == "transfer":
        _credit(conn, ev["from"], -ev["amount"])
        _credit(conn, ev["to"], ev["amount"])
    elif t == "tick":
        _set_meta(conn, "clock", ev["clock"])
    elif t == "propose":
        conn.execute("INSERT INTO snapshots(proposal, account, balance) SELECT ?, name, balance FROM accounts "
                     "WHERE kind != 'system' AND balance > 0", (ev["id"],))
        supply = conn.execute("SELECT COALESCE(SUM(balance), 0) FROM snapshots WHERE proposal = ?", (ev["id"],)).fetchone()[0]
        conn.execute("INSERT INTO proposals(id, kind, payload, proposer, opened, deadline, status, yes, no, supply) "
                     "VALUES (?, ?, ?, ?, ?, ?, 'open', 0, 0, ?)",
                     (ev["id"], ev["kind"], canonical_json(ev["payload"]).decode(), ev["proposer"], clock,
                      ev["deadline"], supply))
    elif t == "vote":
        row = conn.execute("SELECT balance FROM snapshots WHERE proposal = ? AND account = ?",
                           (ev["proposal"], ev["voter"])).fetchone()
        weight = row[0] if row else 0
        conn.execute("INSERT INTO votes(proposal, voter, support, weight, at) VALUES (?, ?, ?, ?, ?)",
                     (ev["proposal"], ev["voter"], int(ev["support"]), weight, clock))
        col = "yes" if ev["support"] else "no"
        conn.execute(f"UPDATE proposals SET {col} = {col} + ? WHERE id = ?", (weight, ev["proposal"]))
    elif t == "close":
        conn.execute("UPDATE proposals SET status = ? WHERE id = ?", (ev["status"], ev["proposal"]))
    elif t == "register_shard":
        conn.execute("INSERT INTO shards(hash, curator, n_items, dataset, proposal, registered) VALUES (?, ?, ?, ?, ?, ?)",
                     (ev["hash"], ev["curator"], ev["n_items"], ev["dataset"], ev["proposal"], clock))
    elif t == "register_provider":
        conn.execute("INSERT INTO providers(name, public_key, proposal, registered) VALUES (?, ?, ?, ?)",
                     (ev["name"], ev["public_key"], ev["proposal"], clock))
    elif t == "open_job":
        conn.execute("INSERT INTO jobs(id, buyer, provider, shards, price, opened, expires, status, receipt) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', NULL)",
                     (ev["id"], ev["buyer"], ev["provider"], canonical_json(ev["shards"]).decode(), ev["price"], clock,
                      ev["expires"]))
    elif t == "accept_receipt":
        conn.execute("INSERT INTO receipts(id, job, provider, body, signature, at) VALUES (?, ?, ?, ?, ?, ?)",
                     (ev["id"], ev["job"], ev["provider"], ev["body"], ev["signature"], clock))
        conn.execute("UPDATE jobs SET receipt = ? WHERE id = ?", (ev["id"], ev["job"]))
    elif t == "pay":
        _credit(conn, ESCROW, -ev["amount"])
        _credit(conn, ev["to"], ev["amount"])
        conn.execute("INSERT INTO payments(job, account, role, amount) VALUES (?, ?, ?, ?)",
                     (ev["job"], ev["to"], ev["role"], ev["amount"]))
    elif t == "job_status":
        conn.execute("UPDATE jobs SET status = ? WHERE id = ?", (ev["status"], ev["job"]))
    else:
        raise LedgerError(f"unknown event type {t!r}")


def _payout(price: int, fee_share: float, shards: Sequence[str], values: Sequence[float],
            curators: Mapping[str, str]) -> tuple[int, dict[str, int]]:
    """The settlement rule: ``(provider fee, {curator: dividend})`` for a job's price and the
    shard values of its receipt."""
    fee = int(math.floor(price * fee_share))
    parts = split_payment(price - fee, list(values))
    by_curator: dict[str, int] = {}
    for h, amount in zip(shards, parts):
        by_curator[curators[h]] = by_curator.get(curators[h], 0) + int(amount)
    return fee, by_curator


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _dump(conn, table: str) -> list[tuple]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY {STATE_TABLES[table]}").fetchall()


# ------------------------------------------------------------------------------- ledger
class _Tx:
    """An open transaction: ``emit(event)`` applies and logs one event."""

    def __init__(self, ledger: "Ledger"):
        self.ledger = ledger
        self.conn = ledger._conn
        row = self.conn.execute("SELECT seq, tx, hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq, self.tx, self.prev = (row[0], row[1] + 1, row[2]) if row else (0, 1, GENESIS_HASH)
        self.n = 0

    def emit(self, ev: dict) -> None:
        _apply(self.conn, ev)
        self.seq += 1
        text = canonical_json(ev).decode()
        clock = _meta(self.conn, "clock") or 0
        h = _entry_hash(self.prev, self.seq, self.tx, clock, text)
        self.conn.execute("INSERT INTO log(seq, tx, clock, event, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
                          (self.seq, self.tx, clock, text, self.prev, h))
        self.prev = h
        self.n += 1
        if self.ledger.fault is not None:  # fault injection for crash tests
            self.ledger.fault(self.n)


class Ledger:
    """The market ledger in one SQLite file (see the module docstring).

    Create with :meth:`create`, reopen with :meth:`open` (or ``Ledger(path)``); use as a
    context manager or call :meth:`close`. ``path=":memory:"`` (create only) keeps it in memory.
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
                _conn = _connect(self.path)
            except sqlite3.DatabaseError as exc:
                _conn.close()
                raise LedgerFileError(f"{self.path} is not a ledger: {exc}") from None
            if not {"log", *STATE_TABLES} <= tables or _meta(_conn, "schema") != SCHEMA_VERSION:
                _conn.close()
                raise LedgerFileError(f"{self.path} is not a market ledger (tables or schema version missing)")
        self._conn = _conn
        self.fault: Callable[[int], None] | None = None
        self.params = MarketParams(**_meta(self._conn, "params"))

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path, params: MarketParams | None = None, members: Mapping[str, int] | None = None,
               *, overwrite: bool = False) -> "Ledger":
        """A new ledger file with the genesis allocation ``members`` (name -> tokens)."""
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
        conn = _connect(path)
        conn.executescript(_SCHEMA)
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
        return cls(path)

    def close(self) -> None:
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
    @property
    def clock(self) -> int:
        return int(_meta(self._conn, "clock"))

    def minted(self) -> int:
        """Tokens minted so far (genesis + deposits + shard rewards)."""
        return int(_meta(self._conn, "minted"))

    def balance(self, name: str) -> int:
        row = self._conn.execute("SELECT balance FROM accounts WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownAccount(f"no account '{name}'")
        return int(row[0])

    def balances(self, include_system: bool = True) -> dict[str, int]:
        q = "SELECT name, balance FROM accounts" + ("" if include_system else " WHERE kind != 'system'")
        return {n: int(b) for n, b in self._conn.execute(q + " ORDER BY name")}

    def accounts(self) -> list[dict]:
        return self._rows("SELECT name, kind, balance, created FROM accounts ORDER BY created, name")

    def has_account(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone() is not None

    def shards(self) -> list[dict]:
        return self._rows("SELECT hash, curator, n_items, dataset, proposal, registered FROM shards ORDER BY registered, hash")

    def shard(self, h: str) -> dict:
        rows = self._rows("SELECT hash, curator, n_items, dataset, proposal, registered FROM shards WHERE hash = ?", (h,))
        if not rows:
            raise UnknownShard(f"shard {h[:16]}… is not in the registry")
        return rows[0]

    def providers(self) -> list[dict]:
        return self._rows("SELECT name, public_key, proposal, registered FROM providers ORDER BY name")

    def _decoded(self, sql: str, params: tuple, column: str) -> list[dict]:
        """Rows of ``sql`` with the JSON text of ``column`` decoded."""
        rows = self._rows(sql, params)
        for r in rows:
            r[column] = json.loads(r[column])
        return rows

    def proposals(self) -> list[dict]:
        return self._decoded("SELECT * FROM proposals ORDER BY id", (), "payload")

    def proposal(self, pid: int) -> dict:
        rows = self._decoded("SELECT * FROM proposals WHERE id = ?", (int(pid),), "payload")
        if not rows:
            raise ProposalError(f"no proposal {pid}")
        return rows[0]

    def votes(self, pid: int | None = None) -> list[dict]:
        if pid is None:
            return self._rows("SELECT * FROM votes ORDER BY proposal, at, voter")
        return self._rows("SELECT * FROM votes WHERE proposal = ? ORDER BY at, voter", (int(pid),))

    def jobs(self) -> list[dict]:
        return self._decoded("SELECT * FROM jobs ORDER BY id", (), "shards")

    def job(self, jid: int) -> dict:
        rows = self._decoded("SELECT * FROM jobs WHERE id = ?", (int(jid),), "shards")
        if not rows:
            raise JobError(f"no job {jid}")
        return rows[0]

    def payments(self, job: int | None = None) -> list[dict]:
        if job is None:
            return self._rows("SELECT * FROM payments ORDER BY job, role, account")
        return self._rows("SELECT * FROM payments WHERE job = ? ORDER BY role, account", (int(job),))

    def receipts(self) -> list[dict]:
        return self._rows("SELECT * FROM receipts ORDER BY job")

    def log(self) -> list[dict]:
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
            h.update(json.dumps([t, _dump(self._conn, t)], default=str).encode())
        h.update(repr(self.head()).encode())
        return h.hexdigest()

    def _rows(self, q: str, args: tuple = ()) -> list[dict]:
        cur = self._conn.execute(q, args)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    # --------------------------------------------------------------- invariants
    def check_invariants(self) -> list[str]:
        """Accounting facts that must always hold; returns the violations (empty when sound)."""
        c = self._conn
        out = []
        total = c.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts").fetchone()[0]
        if total != self.minted():
            out.append(f"tokens not conserved: balances add up to {total}, minted {self.minted()}")
        if c.execute("SELECT COUNT(*) FROM accounts WHERE balance < 0").fetchone()[0]:
            out.append("a balance is negative")
        escrow = self.balance(ESCROW)
        held = c.execute("SELECT COALESCE(SUM(price), 0) FROM jobs WHERE status = 'open'").fetchone()[0]
        if escrow != held:
            out.append(f"escrow holds {escrow} but open jobs hold {held}")
        for jid, price, status in c.execute("SELECT id, price, status FROM jobs").fetchall():
            paid = c.execute("SELECT COALESCE(SUM(amount), 0) FROM payments WHERE job = ?", (jid,)).fetchone()[0]
            want = 0 if status == "open" else price
            if paid != want:
                out.append(f"job {jid} ({status}) paid out {paid}, expected {want}")
        for pid, yes, no in c.execute("SELECT id, yes, no FROM proposals").fetchall():
            y, n = c.execute("SELECT COALESCE(SUM(CASE WHEN support THEN weight END), 0), "
                             "COALESCE(SUM(CASE WHEN support THEN 0 ELSE weight END), 0) FROM votes WHERE proposal = ?",
                             (pid,)).fetchone()
            if (y, n) != (yes, no):
                out.append(f"proposal {pid} tallies {yes}/{no} but its votes add up to {y}/{n}")
        return out

    # -------------------------------------------------------------- operations
    @staticmethod
    def _check_name(name) -> None:
        if not isinstance(name, str) or not name or name.startswith("@") or len(name) > 64:
            raise LedgerError(f"account names are 1-64 characters not starting with '@', got {name!r}")

    def _require_account(self, name: str, what: str = "account") -> None:
        if not self.has_account(name):
            raise UnknownAccount(f"{what} '{name}' is not registered")

    def open_account(self, name: str, kind: str = "contributor") -> None:
        """Register an account (balance 0)."""
        self._check_name(name)
        if kind not in ACCOUNT_KINDS:
            raise LedgerError(f"account kind must be one of {', '.join(ACCOUNT_KINDS)}, got {kind!r}")
        with self._transaction() as tx:
            if self.has_account(name):
                raise LedgerError(f"account '{name}' already exists")
            tx.emit({"type": "open_account", "name": name, "kind": kind})

    def tick(self, n: int = 1) -> int:
        """Advance the logical clock by ``n`` ticks; returns the new time."""
        n = _int(n, "ticks")
        if n < 1:
            raise LedgerError(f"the clock only moves forward (ticks >= 1), got {n}")
        with self._transaction() as tx:
            new = self.clock + n
            tx.emit({"type": "tick", "clock": new})
        return new

    def deposit(self, name: str, amount: int) -> None:
        """Mint ``amount`` tokens to ``name`` against outside money (the only mint on demand)."""
        amount = _int(amount, "deposit")
        if amount <= 0:
            raise LedgerError(f"a deposit must be positive, got {amount}")
        self._check_name(name)
        with self._transaction() as tx:
            self._require_account(name)
            tx.emit({"type": "mint", "to": name, "amount": amount, "reason": "deposit"})

    def transfer(self, src: str, dst: str, amount: int) -> None:
        """Move ``amount`` tokens between two (non-system) accounts."""
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
    def _next_id(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])

    def propose_shard(self, proposer: str, shard_hash: str, n_items: int, dataset: str) -> int:
        """Propose adding a shard (by content hash) with ``proposer`` as its curator; returns the id."""
        if not (isinstance(shard_hash, str) and len(shard_hash) == 64 and all(ch in "0123456789abcdef" for ch in shard_hash)):
            raise LedgerError(f"a shard is named by its sha256 (64 lower-case hex digits), got {shard_hash!r}")
        n_items = _int(n_items, "n_items")
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
        """Propose registering a compute provider with its Ed25519 public key (64 hex digits)."""
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
        """Vote on an open proposal; the weight is the voter's balance in the proposal's
        snapshot. Returns the weight."""
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
        Returns ``"accepted"`` or ``"rejected"``."""
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

    # --------------------------------------------------------------------- jobs
    def submit_job(self, buyer: str, provider: str, shards: Sequence[str], price: int) -> int:
        """Open a job: ``price`` tokens move from the buyer into escrow. Returns the job id."""
        price = _int(price, "price")
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
        """Every check :meth:`settle` makes, without changing anything; returns the job.

        Raises
        ------
        ReplayedReceipt, BadSignature, UnknownShard, ReceiptError, JobError
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
        """Check a receipt (see :meth:`check_receipt`) and pay the job once: the provider's
        fee, then the rest to the curators by shard value. Returns ``{account: tokens}``."""
        with self._transaction() as tx:
            job = self.check_receipt(receipt)
            curators = {h: self.shard(h)["curator"] for h in receipt.shards}
            fee, by_curator = _payout(int(job["price"]), self.params.provider_fee, receipt.shards, receipt.values, curators)
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
        """Return an unsettled job's escrow to its buyer after ``job_ttl`` ticks."""
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

    # ------------------------------------------------------------------ verify
    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyReport:
        """Check the hash chain, replay the log and compare with every state table.

        ``anchor=(seq, hash)``, a head published earlier, additionally detects a history that
        was rewritten or truncated since. Returns a :class:`VerifyReport` (it never raises
        for a tampered ledger: finding tampering is its job).
        """
        rows = self._conn.execute("SELECT seq, tx, clock, event, prev, hash FROM log ORDER BY seq").fetchall()
        problems: list[str] = []
        prev = GENESIS_HASH
        hashes = {}
        for i, (seq, tx, clock, event, p, h) in enumerate(rows, start=1):
            if seq != i:
                problems.append(f"log entry {i} is missing (next seq is {seq})")
                break
            if p != prev:
                problems.append(f"log entry {seq}: its 'prev' does not match the hash of entry {seq - 1}")
            if _entry_hash(p, seq, tx, clock, event) != h:
                problems.append(f"log entry {seq}: hash mismatch (the entry was edited)")
            prev = h
            hashes[seq] = h
        head = rows[-1][5] if rows else GENESIS_HASH
        if anchor is not None:
            aseq, ahash = anchor
            if hashes.get(int(aseq)) != ahash:
                problems.append(f"published head (entry {aseq}, {str(ahash)[:16]}…) is not in the log: "
                                f"history rewritten or truncated")
        # replay into a fresh database and compare
        mem = sqlite3.connect(":memory:", isolation_level=None)
        mem.executescript(_SCHEMA)
        try:
            for seq, tx, clock, event, p, h in rows:
                ev = json.loads(event)
                _apply(mem, ev)
                if ev["type"] != "tick" and (_meta(mem, "clock") or 0) != clock:
                    problems.append(f"log entry {seq}: recorded at t={clock} but the replayed clock is {_meta(mem, 'clock')}")
        except (sqlite3.Error, LedgerError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"the log does not replay: {type(exc).__name__}: {exc}")
        else:
            for t in STATE_TABLES:
                live, replay = _dump(self._conn, t), _dump(mem, t)
                if live != replay:
                    a, b = set(live), set(replay)
                    problems.append(f"table '{t}' differs from the replayed log: {len(a - b)} rows not explained by "
                                    f"the log, {len(b - a)} logged rows missing or changed"
                                    + (f" (e.g. {sorted(a - b, key=str)[0]!r})" if a - b else ""))
            keys = {r[0]: r[1] for r in _dump(mem, "providers")}
            for rid, job, prov, body, sig, at in _dump(mem, "receipts"):
                try:
                    r = Receipt.from_json(json.dumps({**json.loads(body), "signature": sig}))
                except (ValueError, ReceiptError):
                    problems.append(f"receipt of job {job} is unreadable")
                    continue
                if r.id != rid or not verify_receipt(r, keys.get(prov, "")):
                    problems.append(f"receipt of job {job} does not verify under provider '{prov}'")
                    continue
                # the payments must follow from the signed receipt and the market's rules
                price = mem.execute("SELECT price FROM jobs WHERE id = ?", (job,)).fetchone()[0]
                curators = dict(mem.execute("SELECT hash, curator FROM shards").fetchall())
                try:
                    fee, div = _payout(price, MarketParams(**_meta(mem, "params")).provider_fee, r.shards, r.values, curators)
                except (KeyError, ValueError) as exc:
                    problems.append(f"receipt of job {job} cannot be settled by the rules: {exc}")
                    continue
                want = {(prov, "compute"): fee} if fee else {}
                want.update({(c, "dividend"): a for c, a in div.items() if a})
                got = {(a, role): amt for a, role, amt in
                       mem.execute("SELECT account, role, amount FROM payments WHERE job = ?", (job,)).fetchall()}
                if got != want:
                    problems.append(f"payments of job {job} do not follow from its signed receipt")
        finally:
            mem.close()
        return VerifyReport(n_entries=len(rows), head=head, problems=problems)

r"""The ledger's state machine: its SQLite schema, the events that change it, the hash chain.

Every change of the market's state is an *event*, a small JSON object such as
``{"type": "transfer", "from": "m1", "to": "c0", "amount": 7, "reason": "transfer"}``.
:func:`apply_event` is the one function that turns an event into rows of the state tables; the
ledger calls it live (:class:`repro.market.ledger.Ledger`) and :func:`repro.market.audit.verify`
calls it again when it replays the log into a fresh database. Each log row ``seq`` carries

.. math::

    h_{seq} = \mathrm{sha256}(h_{seq-1} \,|\, seq \,|\, tx \,|\, clock \,|\, event), \qquad h_0 = 0^{64},

(:func:`entry_hash`), so an edited row breaks the chain from there on. :func:`payout` is the
settlement rule: the payments a job's price and its receipt's shard values imply.

Everything here is public so that anyone holding a ledger file can replay and check it — and,
as the ``rewrite_history`` attack of :mod:`repro.market.attacks` shows, so can whoever wants
to forge a consistent history: only a head published elsewhere defeats that.

Example
-------
>>> import sqlite3
>>> conn = sqlite3.connect(":memory:", isolation_level=None)
>>> conn.executescript(SCHEMA)  # doctest: +ELLIPSIS
<sqlite3.Cursor object at ...>
>>> for ev in ({"type": "genesis", "params": {}}, {"type": "open_account", "name": "m1", "kind": "member"},
...            {"type": "mint", "to": "m1", "amount": 5, "reason": "genesis"}):
...     apply_event(conn, ev)
>>> dump_table(conn, "accounts"), read_meta(conn, "minted")
([('@escrow', 'system', 0, 0), ('m1', 'member', 5, 0)], 5)
>>> entry_hash(GENESIS_HASH, 1, 1, 0, event_text({"type": "tick", "clock": 1}))[:16]
'dc3be19fb19d5fa4'
"""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from typing import Any, Mapping, Sequence

from .errors import LedgerError, UnknownAccount
from .receipts import canonical_json
from .valuation import split_payment

__all__ = ["ESCROW", "GENESIS_HASH", "SCHEMA", "SCHEMA_VERSION", "STATE_TABLES", "apply_event", "connect",
           "dump_table", "entry_hash", "event_text", "payout", "read_meta"]

ESCROW = "@escrow"
"""The system account that holds the price of every open job."""
GENESIS_HASH = "0" * 64
"""The ``prev`` hash of the first log entry."""
SCHEMA_VERSION = 1
"""Version of :data:`SCHEMA`, stored in the ``meta`` table at genesis."""

SCHEMA = """
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
"""The ledger's tables: :data:`STATE_TABLES` and the ``log``."""

STATE_TABLES = {  # table -> ORDER BY (its primary key)
    "meta": "key", "accounts": "name", "shards": "hash", "providers": "name", "proposals": "id",
    "snapshots": "proposal, account", "votes": "proposal, voter", "jobs": "id", "receipts": "id",
    "payments": "job, account, role",
}
"""The state tables (everything but the log), each with the ``ORDER BY`` of its primary key."""


def entry_hash(prev: str, seq: int, tx: int, clock: int, event: str) -> str:
    """The hash of one log entry: ``sha256(prev|seq|tx|clock|event)`` as hex.

    Parameters
    ----------
    prev : str
        Hash of the previous entry (:data:`GENESIS_HASH` for the first).
    seq : int
        Position of the entry in the log (from 1).
    tx : int
        The transaction (operation) the entry belongs to.
    clock : int
        The logical clock after the event.
    event : str
        The event as logged (:func:`event_text`).

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(f"{prev}|{seq}|{tx}|{clock}|{event}".encode()).hexdigest()


def event_text(event: Mapping[str, Any]) -> str:
    """An event as the log stores it: canonical JSON (sorted keys, no spaces, ASCII).

    Parameters
    ----------
    event : mapping
        The event.

    Returns
    -------
    str
    """
    return canonical_json(dict(event)).decode()


def connect(path: str) -> sqlite3.Connection:
    """Open a ledger file the way the ledger does: autocommit (explicit transactions), a
    rollback journal, full synchronous writes and foreign keys on.

    Parameters
    ----------
    path : str
        The SQLite file (or ``":memory:"``).

    Returns
    -------
    sqlite3.Connection
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def read_meta(conn: sqlite3.Connection, key: str):
    """A value of the ``meta`` table (``schema``, ``params``, ``clock``, ``minted``).

    Parameters
    ----------
    conn : sqlite3.Connection
    key : str

    Returns
    -------
    object or None
        The JSON-decoded value, ``None`` when the key is not set.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


def dump_table(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """Every row of a state table, in the order of its primary key.

    Parameters
    ----------
    conn : sqlite3.Connection
    table : str
        A key of :data:`STATE_TABLES`.

    Returns
    -------
    list of tuple
    """
    return conn.execute(f"SELECT * FROM {table} ORDER BY {STATE_TABLES[table]}").fetchall()


def _set_meta(conn, key: str, value) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (key, json.dumps(value, sort_keys=True)))


def _credit(conn, name: str, amount: int) -> None:
    cur = conn.execute("UPDATE accounts SET balance = balance + ? WHERE name = ?", (amount, name))
    if cur.rowcount != 1:
        raise UnknownAccount(f"no account '{name}'")


def apply_event(conn: sqlite3.Connection, ev: Mapping[str, Any]) -> None:
    """Apply one event to the state tables (used live and by the replay of the log).

    The event types: ``genesis``, ``open_account``, ``mint``, ``transfer``, ``tick``,
    ``propose``, ``vote``, ``close``, ``register_shard``, ``register_provider``, ``open_job``,
    ``accept_receipt``, ``pay``, ``job_status``. The function checks nothing the operation
    should have checked (a transfer may overdraw: the table's ``CHECK`` then raises).

    Parameters
    ----------
    conn : sqlite3.Connection
        A database with :data:`SCHEMA`, inside the caller's transaction.
    ev : mapping
        The event.

    Raises
    ------
    repro.market.errors.LedgerError
        Unknown event type.
    repro.market.errors.UnknownAccount
        A credit or debit of an account that does not exist.
    sqlite3.Error
        A row the schema refuses (negative balance, duplicate key ...).
    """
    t = ev["type"]
    clock = read_meta(conn, "clock") or 0
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
        _set_meta(conn, "minted", read_meta(conn, "minted") + ev["amount"])
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


def payout(price: int, fee_share: float, shards: Sequence[str], values: Sequence[float],
           curators: Mapping[str, str]) -> tuple[int, dict[str, int]]:
    """The settlement rule: what a job's price pays, given the shard values of its receipt.

    The provider's fee is ``floor(price * fee_share)``; the rest is split by value
    (:func:`repro.market.valuation.split_payment`: integers, negative values count as zero)
    and summed per curator.

    Parameters
    ----------
    price : int
        Tokens in escrow.
    fee_share : float
        The market's ``provider_fee``.
    shards : sequence of str
        The receipt's shard hashes.
    values : sequence of float
        Their values, in the same order.
    curators : mapping
        Shard hash -> curator account.

    Returns
    -------
    fee : int
    dividends : dict
        ``{curator: tokens}``.

    Raises
    ------
    KeyError
        A shard without a curator.
    """
    fee = int(math.floor(price * fee_share))
    parts = split_payment(price - fee, list(values))
    by_curator: dict[str, int] = {}
    for h, amount in zip(shards, parts):
        by_curator[curators[h]] = by_curator.get(curators[h], 0) + int(amount)
    return fee, by_curator

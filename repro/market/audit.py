"""Checking a ledger: replay of its log, accounting invariants, a re-open in a new process.

- :func:`verify` recomputes the hash chain of the log, replays every logged event into a fresh
  in-memory database (:func:`repro.market.events.apply_event`) and compares the result with
  the file's state tables; it also checks that every settled job's payments follow from its
  signed receipt. An edited log row breaks the chain; an edited balance, shard or vote no
  longer matches the replay; a consistently rewritten history is caught only with a head
  published earlier (``anchor``).
- :func:`check_invariants` lists violated accounting facts (tokens conserved, escrow equal to
  the open jobs' prices, every closed job paid exactly its price, tallies equal to the votes).
- :func:`restart_check` opens a ledger file in a new Python process and reports its state.

:class:`repro.market.ledger.Ledger` exposes the first two as its ``verify`` and
``check_invariants`` methods.

Example
-------
>>> from repro.market.ledger import Ledger
>>> with Ledger.create(":memory:", members={"m1": 10}) as L:
...     L.open_account("c0")
...     L.transfer("m1", "c0", 3)
...     print(L.verify().ok, L.check_invariants())
True []
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field

from .errors import LedgerError, ReceiptError
from .events import ESCROW, GENESIS_HASH, SCHEMA, STATE_TABLES, apply_event, dump_table, entry_hash, payout, read_meta
from .receipts import Receipt, verify_receipt

__all__ = ["VerifyReport", "verify", "check_invariants", "restart_check"]


@dataclass
class VerifyReport:
    """What :func:`verify` found.

    Attributes
    ----------
    n_entries : int
        Log entries checked.
    head : str
        Hash of the last entry.
    problems : list of str
        What does not hold; empty for a sound ledger (then :attr:`ok` is true).
    """

    n_entries: int
    head: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return f"ledger verified: {self.n_entries} log entries, head {self.head[:16]}…"
        return f"ledger NOT verified ({len(self.problems)} problems): " + "; ".join(self.problems[:5])


def verify(conn: sqlite3.Connection, anchor: tuple[int, str] | None = None) -> VerifyReport:
    """Check the hash chain, replay the log and compare with every state table.

    Parameters
    ----------
    conn : sqlite3.Connection
        An open ledger file.
    anchor : (int, str), optional
        ``(seq, hash)``, a head published earlier (:meth:`repro.market.ledger.Ledger.head`):
        additionally detects a history rewritten or truncated since.

    Returns
    -------
    VerifyReport
        It never raises for a tampered ledger: finding tampering is its job.
    """
    rows = conn.execute("SELECT seq, tx, clock, event, prev, hash FROM log ORDER BY seq").fetchall()
    problems: list[str] = []
    prev = GENESIS_HASH
    hashes = {}
    for i, (seq, tx, clock, event, p, h) in enumerate(rows, start=1):
        if seq != i:
            problems.append(f"log entry {i} is missing (next seq is {seq})")
            break
        if p != prev:
            problems.append(f"log entry {seq}: its 'prev' does not match the hash of entry {seq - 1}")
        if entry_hash(p, seq, tx, clock, event) != h:
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
    mem.executescript(SCHEMA)
    try:
        for seq, tx, clock, event, p, h in rows:
            ev = json.loads(event)
            apply_event(mem, ev)
            if ev["type"] != "tick" and (read_meta(mem, "clock") or 0) != clock:
                problems.append(f"log entry {seq}: recorded at t={clock} but the replayed clock is "
                                f"{read_meta(mem, 'clock')}")
    except (sqlite3.Error, LedgerError, KeyError, TypeError, ValueError) as exc:
        problems.append(f"the log does not replay: {type(exc).__name__}: {exc}")
    else:
        for t in STATE_TABLES:
            live, replay = dump_table(conn, t), dump_table(mem, t)
            if live != replay:
                a, b = set(live), set(replay)
                problems.append(f"table '{t}' differs from the replayed log: {len(a - b)} rows not explained by "
                                f"the log, {len(b - a)} logged rows missing or changed"
                                + (f" (e.g. {sorted(a - b, key=str)[0]!r})" if a - b else ""))
        problems += _receipt_problems(mem)
    finally:
        mem.close()
    return VerifyReport(n_entries=len(rows), head=head, problems=problems)


def _receipt_problems(mem: sqlite3.Connection) -> list[str]:
    """Every accepted receipt verifies, and its job's payments follow from it by the rules."""
    problems = []
    keys = {r[0]: r[1] for r in dump_table(mem, "providers")}
    for rid, job, prov, body, sig, at in dump_table(mem, "receipts"):
        try:
            r = Receipt.from_json(json.dumps({**json.loads(body), "signature": sig}))
        except (ValueError, ReceiptError):
            problems.append(f"receipt of job {job} is unreadable")
            continue
        if r.id != rid or not verify_receipt(r, keys.get(prov, "")):
            problems.append(f"receipt of job {job} does not verify under provider '{prov}'")
            continue
        price = mem.execute("SELECT price FROM jobs WHERE id = ?", (job,)).fetchone()[0]
        curators = dict(mem.execute("SELECT hash, curator FROM shards").fetchall())
        try:
            fee, div = payout(price, read_meta(mem, "params")["provider_fee"], r.shards, r.values, curators)
        except (KeyError, ValueError) as exc:
            problems.append(f"receipt of job {job} cannot be settled by the rules: {exc}")
            continue
        want = {(prov, "compute"): fee} if fee else {}
        want.update({(c, "dividend"): a for c, a in div.items() if a})
        got = {(a, role): amt for a, role, amt in
               mem.execute("SELECT account, role, amount FROM payments WHERE job = ?", (job,)).fetchall()}
        if got != want:
            problems.append(f"payments of job {job} do not follow from its signed receipt")
    return problems


def check_invariants(conn: sqlite3.Connection) -> list[str]:
    """Accounting facts that must always hold.

    Parameters
    ----------
    conn : sqlite3.Connection
        An open ledger file.

    Returns
    -------
    list of str
        The violations; empty when the accounts are sound.
    """
    c = conn
    out = []
    minted = read_meta(c, "minted")
    total = c.execute("SELECT COALESCE(SUM(balance), 0) FROM accounts").fetchone()[0]
    if total != minted:
        out.append(f"tokens not conserved: balances add up to {total}, minted {minted}")
    if c.execute("SELECT COUNT(*) FROM accounts WHERE balance < 0").fetchone()[0]:
        out.append("a balance is negative")
    escrow = c.execute("SELECT balance FROM accounts WHERE name = ?", (ESCROW,)).fetchone()[0]
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


def restart_check(path) -> dict:
    """Open the ledger in a NEW Python process and report what that process sees.

    Compare it with this process's :meth:`~repro.market.ledger.Ledger.state_digest` and
    :meth:`~repro.market.ledger.Ledger.head`: the file survives a restart.

    Parameters
    ----------
    path : str or pathlib.Path
        The ledger file.

    Returns
    -------
    dict
        ``digest``, ``head`` (as a list), ``ok`` and ``problems`` of :func:`verify`,
        ``balances`` and ``shards`` (how many are registered).

    Raises
    ------
    repro.market.errors.LedgerError
        The new process failed (its error output is in the message).
    """
    code = ("import json, sys; from repro.market.ledger import Ledger\n"
            "L = Ledger.open(sys.argv[1]); r = L.verify()\n"
            "print(json.dumps({'digest': L.state_digest(), 'head': list(L.head()), 'ok': r.ok, "
            "'problems': r.problems, 'balances': L.balances(), 'shards': len(L.shards())}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise LedgerError(f"reopening {path} in a new process failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

"""Attacks on the market: each tries to cheat the ledger; :func:`run_attacks` runs them on copies.

Every attack takes a copy of a ledger file and a context (who the buyer is, which shards are
registered, the provider's key ...) and reports whether it was *stopped*: refused by the
ledger's API, which leaves the file unchanged, or — for edits of the SQLite file itself —
reported by :meth:`~repro.market.ledger.Ledger.verify`. :data:`ATTACKS` lists them:

======================  ======================================================================
forged_receipt          a receipt signed with a key that is not the provider's
tampered_receipt        a genuine receipt with its shard values changed after signing
replayed_receipt        a paid receipt submitted a second time
unknown_shard           a genuinely signed receipt naming a shard not in the registry
duplicate_upload        a re-upload of another contributor's shard, re-ordered
borrowed_vote           vote, lend the tokens, vote again with them from another account
double_vote             the same account votes twice on one proposal
edit_balance            raise a balance directly in the SQLite file
edit_log                move part of a logged dividend to another curator in the file
rewrite_history         raise a genesis allocation, recompute the hash chain, rebuild the state
======================  ======================================================================

The last one uses only the ledger's public state machine (:mod:`repro.market.events`): whoever
can write the whole file can write a consistent false history, and only a head published
before (``verify(anchor=...)``) exposes it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import LedgerError
from .events import GENESIS_HASH, STATE_TABLES, apply_event, entry_hash, event_text
from .ledger import Ledger, content_hash
from .receipts import ProviderKey, Receipt, sign_receipt
from .scenario import DATASET, PROVIDER

__all__ = ["ATTACKS", "run_attacks"]


def _digest(path) -> str:
    with Ledger.open(path) as L:
        return L.state_digest()


def _attempt(path, fn) -> tuple[bool, str, bool]:
    """Run ``fn(ledger)``; returns (refused, message, ledger unchanged)."""
    before = _digest(path)
    with Ledger.open(path) as L:
        try:
            fn(L)
            refused, msg = False, "accepted"
        except LedgerError as exc:
            refused, msg = True, f"{type(exc).__name__}: {exc}"
    return refused, msg, _digest(path) == before


def _open_attack_job(path, buyer: str, shards: Sequence[str], price: int) -> int:
    with Ledger.open(path) as L:
        if L.balance(buyer) < price:
            L.deposit(buyer, price - L.balance(buyer))
        return L.submit_job(buyer, PROVIDER, list(shards), price)


def _forged_receipt(path, ctx) -> dict:
    """Mallory signs a receipt for an open job with her own key, naming the real provider."""
    jid = _open_attack_job(path, ctx["buyer"], ctx["shards"], ctx["price"])
    forged = sign_receipt(ProviderKey.from_seed("mallory"), job=jid, provider=PROVIDER, shards=ctx["shards"],
                          values=[1.0] + [0.0] * (len(ctx["shards"]) - 1), model="0" * 64)
    refused, msg, same = _attempt(path, lambda L: L.settle(forged))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (signature)"}


def _tampered_receipt(path, ctx) -> dict:
    """A genuine receipt whose shard values are changed after signing (to pay one curator more)."""
    jid = _open_attack_job(path, ctx["buyer"], ctx["shards"], ctx["price"])
    good = sign_receipt(ctx["key"], job=jid, provider=PROVIDER, shards=ctx["shards"],
                        values=[1.0] * len(ctx["shards"]), model="0" * 64)
    bad = good.replace(values=(100.0,) + good.values[1:])
    refused, msg, same = _attempt(path, lambda L: L.settle(bad))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (signature)"}


def _replayed_receipt(path, ctx) -> dict:
    """A receipt that was already paid is submitted again."""
    r = Receipt.from_json(ctx["paid_receipt"])
    refused, msg, same = _attempt(path, lambda L: L.settle(r))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (replay)"}


def _unknown_shard(path, ctx) -> dict:
    """The provider (genuine key) signs a receipt naming a shard that was never registered,
    to route dividends to an outsider's data."""
    jid = _open_attack_job(path, ctx["buyer"], ctx["shards"], ctx["price"])
    fake = hashlib.sha256(b"never registered").hexdigest()
    shards = list(ctx["shards"][:-1]) + [fake]
    r = sign_receipt(ctx["key"], job=jid, provider=PROVIDER, shards=shards, values=[1.0] * len(shards), model="0" * 64)
    refused, msg, same = _attempt(path, lambda L: L.settle(r))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (registry)"}


def _duplicate_upload(path, ctx) -> dict:
    """A copier proposes another contributor's shard again (re-ordered, same bytes)."""
    x, y = ctx["copy_x"], ctx["copy_y"]
    perm = np.random.default_rng(3).permutation(len(y))
    h = content_hash(x[perm], y[perm])
    with Ledger.open(path) as L:
        if not L.has_account("mallory"):
            L.open_account("mallory", "contributor")
    refused, msg, same = _attempt(path, lambda L: L.propose_shard("mallory", h, len(y), DATASET))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (content hash)"}


def _borrowed_vote(path, ctx) -> dict:
    """A member votes, lends its tokens to an accomplice, and the accomplice votes with them."""
    m1, m2 = ctx["members"][:2]
    with Ledger.open(path) as L:
        if not L.has_account("mallory"):
            L.open_account("mallory", "contributor")
        h = hashlib.sha256(b"mallory's shard").hexdigest()
        pid = L.propose_shard("mallory", h, 10, DATASET)
        L.vote(pid, m1, True)
        L.transfer(m1, "mallory", L.balance(m1))
    refused, msg, same = _attempt(path, lambda L: L.vote(pid, "mallory", True))
    with Ledger.open(path) as L:
        p = L.proposal(pid)
        counted_once = p["yes"] + p["no"] <= p["supply"]
    return {"refused": refused and counted_once, "message": msg, "unchanged": same, "how": "rejected (snapshot)"}


def _double_vote(path, ctx) -> dict:
    """A member votes twice on the same proposal."""
    m = ctx["members"][1]
    with Ledger.open(path) as L:
        if not L.has_account("mallory"):
            L.open_account("mallory", "contributor")
        pid = L.propose_shard("mallory", hashlib.sha256(b"another shard").hexdigest(), 10, DATASET)
        L.vote(pid, m, True)
    refused, msg, same = _attempt(path, lambda L: L.vote(pid, m, True))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (one vote)"}


def _sql(path, *statements) -> None:
    con = sqlite3.connect(str(path))
    try:
        for s, args in statements:
            con.execute(s, args)
        con.commit()
    finally:
        con.close()


def _edit_balance(path, ctx) -> dict:
    """Someone with write access to the file raises a balance directly in the database."""
    _sql(path, ("UPDATE accounts SET balance = balance + 1000 WHERE name = ?", (ctx["beneficiary"],)))
    with Ledger.open(path) as L:
        r = L.verify()
    return {"refused": not r.ok, "message": str(r), "unchanged": False, "how": "detected (replay of the log)"}


def _dividend_edit(path, amount: int = 100) -> dict:
    """Move ``amount`` tokens between the two largest dividends of the last settled job, in
    the log, the payments and the balances alike (token totals stay the same)."""
    with Ledger.open(path) as L:
        log = L.log()
    pays = [e for e in log if e["event"]["type"] == "pay" and e["event"]["role"] == "dividend"]
    last = max(e["event"]["job"] for e in pays)
    a, b = sorted([e for e in pays if e["event"]["job"] == last], key=lambda e: -e["event"]["amount"])[:2]
    d = min(amount, a["event"]["amount"])
    ea, eb = dict(a["event"], amount=a["event"]["amount"] - d), dict(b["event"], amount=b["event"]["amount"] + d)
    _sql(path, ("UPDATE log SET event = ? WHERE seq = ?", (event_text(ea), a["seq"])),
         ("UPDATE log SET event = ? WHERE seq = ?", (event_text(eb), b["seq"])),
         ("UPDATE accounts SET balance = balance - ? WHERE name = ?", (d, ea["to"])),
         ("UPDATE accounts SET balance = balance + ? WHERE name = ?", (d, eb["to"])),
         ("UPDATE payments SET amount = ? WHERE job = ? AND account = ? AND role = 'dividend'", (ea["amount"], last, ea["to"])),
         ("UPDATE payments SET amount = ? WHERE job = ? AND account = ? AND role = 'dividend'", (eb["amount"], last, eb["to"])))
    return {"from": ea["to"], "to": eb["to"], "amount": d, "job": last}


def _edit_log(path, ctx) -> dict:
    """Someone moves part of one curator's dividend to another in the log table (and in the
    payments and balances, so the state matches the edited log)."""
    _dividend_edit(path)
    with Ledger.open(path) as L:
        r = L.verify()
    return {"refused": not r.ok, "message": str(r), "unchanged": False, "how": "detected (hash chain)"}


def _rewrite_chain_and_state(path) -> None:
    """What a thorough attacker with the code does after editing the log: recompute every
    hash and rebuild every state table by replaying the edited log."""
    con = sqlite3.connect(str(path), isolation_level=None)
    try:
        con.execute("BEGIN")
        prev = GENESIS_HASH
        rows = con.execute("SELECT seq, tx, clock, event FROM log ORDER BY seq").fetchall()
        for seq, tx, clock, event in rows:
            h = entry_hash(prev, seq, tx, clock, event)
            con.execute("UPDATE log SET prev = ?, hash = ? WHERE seq = ?", (prev, h, seq))
            prev = h
        for t in STATE_TABLES:
            con.execute(f"DELETE FROM {t}")
        for *_, event in rows:
            apply_event(con, json.loads(event))
        con.execute("COMMIT")
    finally:
        con.close()


def _rewrite_history(path, ctx) -> dict:
    """The attacker raises a founding member's genesis allocation in the log, recomputes the
    whole hash chain and rebuilds the state from the edited log: everything is consistent
    again, and only the head published before (``ctx['anchor']``) exposes the rewrite."""
    with Ledger.open(path) as L:
        first_mint = next(e for e in L.log() if e["event"]["type"] == "mint")
    ev = dict(first_mint["event"], amount=first_mint["event"]["amount"] + 1000)
    _sql(path, ("UPDATE log SET event = ? WHERE seq = ?", (event_text(ev), first_mint["seq"])))
    _rewrite_chain_and_state(path)
    with Ledger.open(path) as L:
        plain = L.verify()
        anchored = L.verify(anchor=tuple(ctx["anchor"]))
    msg = f"without the published head: {'verified' if plain.ok else 'NOT verified'}; with it: {anchored}"
    return {"refused": not anchored.ok, "message": msg, "unchanged": False, "how": "detected (published head)",
            "plain_verify_ok": plain.ok}


ATTACKS = {  # name -> (attack(path, ctx) -> {"refused", "message", "unchanged", "how", ...}, what it tries)
    "forged_receipt": (_forged_receipt, "Receipt signed with a key that is not the provider's"),
    "tampered_receipt": (_tampered_receipt, "Genuine receipt with its shard values changed after signing"),
    "replayed_receipt": (_replayed_receipt, "A paid receipt submitted a second time"),
    "unknown_shard": (_unknown_shard, "Receipt (genuinely signed) naming a shard not in the registry"),
    "duplicate_upload": (_duplicate_upload, "Re-upload of another contributor's shard (re-ordered)"),
    "borrowed_vote": (_borrowed_vote, "Vote, lend the tokens, vote again with them from another account"),
    "double_vote": (_double_vote, "The same account votes twice on one proposal"),
    "edit_balance": (_edit_balance, "Raise a balance directly in the SQLite file"),
    "edit_log": (_edit_log, "Move part of a logged dividend to another curator in the SQLite file"),
    "rewrite_history": (_rewrite_history, "Raise a genesis allocation, recompute the hash chain, rebuild the state"),
}


def run_attacks(ledger_path, workdir, ctx, names: Sequence[str] | None = None) -> list[dict]:
    """Run each attack on its own copy of the ledger file (the original is not touched).

    Parameters
    ----------
    ledger_path : str or pathlib.Path
        A ledger after some settled jobs (the provider :data:`~repro.market.scenario.PROVIDER`
        registered).
    workdir : str or pathlib.Path
        Folder for the copies (created; each copy is deleted after its attack).
    ctx : mapping
        What the attacks need: ``buyer`` (an account), ``shards`` (registered hashes),
        ``price``, ``key`` (the provider's :class:`~repro.market.receipts.ProviderKey`),
        ``paid_receipt`` (JSON of a receipt already paid), ``copy_x``, ``copy_y`` (a
        registered shard's bytes), ``members`` (founding members, at least two),
        ``beneficiary`` (an account) and ``anchor`` (a head published after the jobs). An
        attack reads only the keys it needs.
    names : sequence of str, optional
        Keys of :data:`ATTACKS` (default: all, in order).

    Returns
    -------
    list of dict
        One record per attack: ``attack``, ``description``, ``stopped`` (refused or
        detected), ``how``, ``ledger_unchanged``, ``still_verifies`` and ``invariants_hold``
        (for the attacks through the ledger's API; None / True otherwise), ``message`` and
        ``plain_verify_ok`` (``rewrite_history`` only: whether ``verify()`` without the anchor
        passed).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names or ATTACKS:
        fn, what = ATTACKS[name]
        copy = workdir / f"attack_{name}.sqlite"
        shutil.copyfile(ledger_path, copy)
        res = fn(copy, ctx)
        with Ledger.open(copy) as L:
            invariants = L.check_invariants() if res["how"].startswith("rejected") else []
            verified = L.verify().ok if res["how"].startswith("rejected") else None
        out.append({"attack": name, "description": what, "stopped": bool(res["refused"]), "how": res["how"],
                    "ledger_unchanged": res["unchanged"], "still_verifies": verified,
                    "invariants_hold": not invariants, "message": res["message"],
                    "plain_verify_ok": res.get("plain_verify_ok")})
        copy.unlink(missing_ok=True)
    return out

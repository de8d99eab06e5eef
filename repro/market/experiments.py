"""The databright chain's scenario: contributors, an association, buyers, jobs, attacks.

- :func:`make_contributors` cuts MNIST into shards: clean contributors, contributors with a
  share of their labels flipped, and *copiers* who re-upload another contributor's shard
  with every pixel jittered by a grey level or two (so its content hash differs);
- :func:`open_market` runs the association: genesis, a compute provider and every shard
  proposed, voted on and executed; an exact (re-ordered) copy is refused by content hash;
- :func:`run_job` is one purchase: escrow, the provider trains the buyer's scikit-learn
  classifier on the job's shards, values the shards (exact KNN-Shapley on the buyer's
  validation set), signs a receipt, and the ledger pays the dividends;
- :func:`analyse_job` values the same job by other rules (leave-one-out, uniform, Shapley
  without the copies) for the comparison notebook;
- the ``attack_*`` functions try to cheat the market; each returns what happened.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import valuation
from .errors import LedgerError
from .ledger import GENESIS_HASH, STATE_TABLES, Ledger, MarketParams, _apply, _entry_hash, content_hash
from .receipts import ProviderKey, Receipt, sign_receipt, verify_receipt

__all__ = ["Contributor", "make_contributors", "split_validation", "shard_features", "ShardStore", "provider_key",
           "open_market", "restart_check", "run_job", "run_jobs", "analyse_job", "payouts_by_rule", "rank_correlations",
           "duplicate_ratios", "timing_summary", "valuation_only", "load_images", "shards_to_arrays", "shards_from_arrays",
           "contributors_to_json", "contributors_from_json", "train_buyer_model", "ATTACKS", "run_attacks", "BUYER_MODELS", "RULES"]

BUYER_MODELS = ("knn", "logistic")
PROVIDER = "provider-1"
DATASET = "mnist-test-idx"


@dataclass
class Contributor:
    """One data contributor: who, what kind, and how clean its labels are."""

    name: str
    kind: str            # clean | noisy | copier
    noise: float         # share of labels flipped on purpose (copiers: that of the copied shard)
    n_items: int
    clean_fraction: float  # measured share of items whose label is the true one
    source: str = ""     # copiers: the contributor copied
    shard_hash: str = ""


def _flip(y, fraction: float, n_classes: int, rng) -> np.ndarray:
    y = np.array(y, copy=True)
    k = int(round(fraction * len(y)))
    idx = rng.choice(len(y), size=k, replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=k)) % n_classes  # always a different class
    return y


def make_contributors(images_u8, labels, noise: Sequence[float], items: int, *, size_spread: float = 0.0,
                      n_copiers: int = 0, jitter_levels: int = 2, seed: int = 0, n_classes: int = 10):
    """Cut a labelled image set into contributors' shards.

    Parameters
    ----------
    images_u8 : (N, ...) uint8 images; labels : (N,) true labels.
    noise : share of flipped labels of each original contributor (0 = clean).
    items : mean shard size; sizes are drawn uniformly in ``items * [1 - size_spread, 1 + size_spread]``.
    n_copiers : copiers, each re-uploading the shard of the i-th clean contributor (the most
        valuable data; the noisy ones when there are not enough clean ones) with every pixel
        moved by a random integer in ``[-jitter_levels, jitter_levels]`` grey levels.

    Returns
    -------
    contributors : list of :class:`Contributor`
    shards : dict name -> {"x": uint8 images, "y": labels as uploaded, "y_true": true labels, "index": source rows}
    rest : indices of the images no contributor holds (for the buyers' validation sets)
    """
    images_u8 = np.asarray(images_u8)
    labels = np.asarray(labels)
    if images_u8.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (the bytes that are hashed), got {images_u8.dtype}")
    noise = [float(f) for f in noise]
    if not noise:
        raise ValueError("at least one contributor is needed")
    if any(not 0.0 <= f <= 1.0 for f in noise):
        raise ValueError(f"label noise must be in [0, 1], got {noise}")
    if not 0.0 <= size_spread < 1.0:
        raise ValueError(f"size_spread must be in [0, 1), got {size_spread}")
    if n_copiers < 0 or n_copiers > len(noise):
        raise ValueError(f"n_copiers must be in 0..{len(noise)}, got {n_copiers}")
    rng = np.random.default_rng(seed)
    lo, hi = int(round(items * (1 - size_spread))), int(round(items * (1 + size_spread)))
    sizes = rng.integers(max(lo, 1), max(hi, 1) + 1, size=len(noise))
    if sizes.sum() >= len(labels):
        raise ValueError(f"contributors would hold {int(sizes.sum())} of {len(labels)} images: nothing left for buyers")
    perm = rng.permutation(len(labels))
    contributors, shards = [], {}
    start = 0
    width = len(str(len(noise) + n_copiers))
    for i, (f, n) in enumerate(zip(noise, sizes)):
        idx = np.sort(perm[start:start + n])
        start += n
        y_up = _flip(labels[idx], f, n_classes, rng)
        name = f"c{i:0{width}d}"
        shards[name] = {"x": images_u8[idx], "y": y_up, "y_true": labels[idx], "index": idx}
        contributors.append(Contributor(name, "clean" if f == 0 else "noisy", f, int(n),
                                        float(np.mean(y_up == labels[idx]))))
    order = sorted(range(len(noise)), key=lambda j: (noise[j], j))
    for k in range(n_copiers):
        src = contributors[order[k]]
        s = shards[src.name]
        jit = rng.integers(-jitter_levels, jitter_levels + 1, size=s["x"].shape)
        x = np.clip(s["x"].astype(np.int16) + jit, 0, 255).astype(np.uint8)
        name = f"c{len(noise) + k:0{width}d}"
        shards[name] = {"x": x, "y": s["y"].copy(), "y_true": s["y_true"].copy(), "index": s["index"].copy()}
        contributors.append(Contributor(name, "copier", src.noise, src.n_items, src.clean_fraction, source=src.name))
    for c in contributors:
        c.shard_hash = content_hash(shards[c.name]["x"], shards[c.name]["y"])
    return contributors, shards, np.sort(perm[start:])


def split_validation(rest, n_jobs: int, per_job: int, seed: int = 0) -> list[np.ndarray]:
    """Disjoint validation sets, one per job, from the images no contributor holds."""
    rest = np.asarray(rest)
    if n_jobs * per_job > len(rest):
        raise ValueError(f"{n_jobs} jobs x {per_job} validation images need {n_jobs * per_job}, only {len(rest)} are left")
    perm = np.random.default_rng(seed + 1).permutation(rest)
    return [np.sort(perm[j * per_job:(j + 1) * per_job]) for j in range(n_jobs)]


def shard_features(x_u8) -> np.ndarray:
    """Features the buyers' models see: pixels scaled to [0, 1], flattened (float64)."""
    x = np.asarray(x_u8)
    return x.reshape(len(x), -1).astype(np.float64) / 255.0


class ShardStore:
    """Where the uploaded shards' bytes live (off the ledger, which holds only their hashes).

    ``get(hash)`` re-hashes what it returns, so a provider never trains on bytes that differ
    from what the association registered.
    """

    def __init__(self, shards: Mapping[str, Mapping[str, np.ndarray]], contributors: Sequence[Contributor]):
        self._by_hash = {c.shard_hash: (shards[c.name]["x"], shards[c.name]["y"]) for c in contributors}

    def get(self, h: str) -> tuple[np.ndarray, np.ndarray]:
        if h not in self._by_hash:
            raise LedgerError(f"shard {h[:16]}… is not in the store")
        x, y = self._by_hash[h]
        if content_hash(x, y) != h:
            raise LedgerError(f"stored bytes of shard {h[:16]}… do not match its hash")
        return x, y


# ------------------------------------------------------------------------- the association
def provider_key(seed: int, name: str = PROVIDER) -> ProviderKey:
    return ProviderKey.from_seed(f"{name}/{seed}")


def open_market(path, contributors: Sequence[Contributor], shards, *, params: MarketParams,
                members: Mapping[str, int], buyers: Sequence[str], seed: int = 0, exact_copy_of: str | None = None) -> dict:
    """Create the ledger and run the association until every shard is registered.

    The founding members register the compute provider and vote on each shard proposal
    (every member votes yes: they cannot see label quality). When ``exact_copy_of`` names a
    contributor, a copier tries to upload that shard again, re-ordered; the ledger refuses it.

    Returns a summary: the proposals, the refused upload (if any) and the ledger's head.
    """
    ledger = Ledger.create(path, params, members, overwrite=True)
    try:
        voters = list(members)
        for c in contributors:
            ledger.open_account(c.name, "contributor")
        for b in buyers:
            ledger.open_account(b, "buyer")
        key = provider_key(seed)
        pids = [ledger.propose_provider(voters[0], PROVIDER, key.public_hex)]
        for c in contributors:
            pids.append(ledger.propose_shard(c.name, c.shard_hash, c.n_items, DATASET))
        refused = None
        if exact_copy_of is not None:
            s = shards[exact_copy_of]
            perm = np.random.default_rng(seed + 7).permutation(len(s["y"]))
            h = content_hash(s["x"][perm], s["y"][perm])
            ledger.open_account("copier-exact", "contributor")
            try:
                ledger.propose_shard("copier-exact", h, len(perm), DATASET)
                refused = {"by": "copier-exact", "copy_of": exact_copy_of, "refused": False, "error": ""}
            except LedgerError as exc:
                refused = {"by": "copier-exact", "copy_of": exact_copy_of, "refused": True,
                           "error": f"{type(exc).__name__}: {exc}"}
        for pid in pids:
            for v in voters:
                ledger.vote(pid, v, True)
        ledger.tick(params.debate_period)
        status = {pid: ledger.close_proposal(pid) for pid in pids}
        return {"proposals": ledger.proposals(), "status": status, "refused_copy": refused,
                "head": ledger.head(), "n_log": ledger.head()[0]}
    finally:
        ledger.close()


def restart_check(path) -> dict:
    """Open the ledger in a NEW Python process and report its state digest, head and
    verification (to compare with this process: the file survives a restart)."""
    code = ("import json, sys; from repro.market.ledger import Ledger\n"
            "L = Ledger.open(sys.argv[1]); r = L.verify()\n"
            "print(json.dumps({'digest': L.state_digest(), 'head': list(L.head()), 'ok': r.ok, "
            "'problems': r.problems, 'balances': L.balances(), 'shards': len(L.shards())}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise LedgerError(f"reopening {path} in a new process failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- jobs
def train_buyer_model(model: str, X, y, Xv, yv, K: int, seed: int) -> tuple[float, str]:
    """Fit the buyer's scikit-learn classifier (``knn`` or ``logistic``) on ``(X, y)``;
    returns its accuracy on ``(Xv, yv)`` and a sha256 digest of the trained model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    if model == "knn":
        clf = KNeighborsClassifier(n_neighbors=K, algorithm="brute")
    elif model == "logistic":
        clf = LogisticRegression(C=0.1, max_iter=100, random_state=seed)
    else:
        raise ValueError(f"buyer model must be one of {', '.join(BUYER_MODELS)}, got {model!r}")
    clf.fit(X, y)
    acc = float(np.mean(clf.predict(Xv) == yv))
    if model == "knn":
        digest = hashlib.sha256(X.tobytes() + y.tobytes() + str(K).encode()).hexdigest()
    else:
        digest = hashlib.sha256(clf.coef_.tobytes() + clf.intercept_.tobytes()).hexdigest()
    return acc, digest


def _assemble(store: ShardStore, hashes: Sequence[str]):
    xs, ys, gs = [], [], []
    for g, h in enumerate(hashes):
        x, y = store.get(h)
        xs.append(shard_features(x))
        ys.append(np.asarray(y))
        gs.append(np.full(len(y), g))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)


def run_job(ledger: Ledger, store: ShardStore, *, buyer: str, shards: Sequence[str], price: int, x_val, y_val,
            K: int, model: str, key: ProviderKey, seed: int = 0) -> dict:
    """One purchase, start to end; returns the job's record (timings in seconds).

    The buyer deposits what it lacks and opens the job (price into escrow); the provider
    fetches the shards (hash-checked), trains ``model`` and measures its accuracy on the
    buyer's validation set, computes every shard's value (sum of its points' exact
    KNN-Shapley values for the buyer's validation set), and signs the receipt; the ledger
    verifies it and pays. ``t_train`` is fit + predict, ``t_value`` the valuation,
    ``t_sign`` the signature, ``t_verify`` one signature check alone, ``t_settle`` the
    ledger's whole settlement (checks, including the signature, and the database write).
    """
    need = price - ledger.balance(buyer)
    if need > 0:
        ledger.deposit(buyer, need)
    jid = ledger.submit_job(buyer, PROVIDER, list(shards), price)
    X, y, g = _assemble(store, shards)
    Xv = shard_features(x_val)
    yv = np.asarray(y_val)
    t0 = time.perf_counter()
    acc, digest = train_buyer_model(model, X, y, Xv, yv, K, seed)
    t1 = time.perf_counter()
    order = valuation.knn_order(X, Xv)
    point_values = valuation.knn_shapley_from_order(order, y, yv, K)
    shard_values = valuation.group_sums(point_values, g, len(shards))
    t2 = time.perf_counter()
    receipt = sign_receipt(key, job=jid, provider=PROVIDER, shards=list(shards), values=shard_values.tolist(),
                           model=digest, metrics={"accuracy": acc, "knn_utility": float(point_values.sum())},
                           nonce=f"{seed}-{jid}")
    t3 = time.perf_counter()
    ok = verify_receipt(receipt, key.public_hex)
    t4 = time.perf_counter()
    paid = ledger.settle(receipt)
    t5 = time.perf_counter()
    return {"job": jid, "buyer": buyer, "n_train": int(len(y)), "n_val": int(len(yv)), "accuracy": acc,
            "utility": float(point_values.sum()), "shards": list(shards), "shard_values": shard_values.tolist(),
            "paid": paid, "receipt": receipt.to_json(), "verified": bool(ok),
            "t_train": t1 - t0, "t_value": t2 - t1, "t_sign": t3 - t2, "t_verify": t4 - t3, "t_settle": t5 - t4,
            "_order": order, "_points": point_values, "_groups": g, "_y": y, "_yv": yv}


def analyse_job(job: Mapping, *, K: int, copier_shards: Sequence[int] = ()) -> dict:
    """Value one job's shards by the other rules, for the comparison (not paid out).

    Returns per-shard ``loo`` (leave the whole shard out), ``loo_points`` (sum of points'
    leave-one-out values), ``uniform`` (the shard's item count: every item paid alike) and
    ``shapley_no_copies`` (Shapley values with the copiers' shards removed from the job;
    NaN for those shards).
    """
    order, y, yv, g = job["_order"], job["_y"], job["_yv"], job["_groups"]
    n = len(job["shards"])
    loo = valuation.group_loo(order, y, yv, K, g, n)
    lp = valuation.group_sums(valuation.loo_points(order, y, yv, K), g, n)
    uniform = np.bincount(g, minlength=n).astype(float)
    no_copy = np.full(n, np.nan)
    if len(copier_shards):
        keep = ~np.isin(g, list(copier_shards))
        sub = np.flatnonzero(keep)
        # the same sorted order restricted to the kept points (the relative order is unchanged)
        remap = -np.ones(len(y), dtype=np.int64)
        remap[sub] = np.arange(len(sub))
        o2 = remap[order[keep[order]].reshape(len(order), -1)]
        pv = valuation.knn_shapley_from_order(o2, y[sub], yv, K)
        sums = valuation.group_sums(pv, g[sub], n)
        kept = [i for i in range(n) if i not in set(copier_shards)]
        no_copy[kept] = sums[kept]
    else:
        no_copy = np.asarray(job["shard_values"], dtype=float)
    return {"loo": loo.tolist(), "loo_points": lp.tolist(), "uniform": uniform.tolist(),
            "shapley_no_copies": no_copy.tolist()}


# ------------------------------------------------------------------------------- attacks
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


def attack_forged_receipt(path, ctx) -> dict:
    """Mallory signs a receipt for an open job with her own key, naming the real provider."""
    jid = _open_attack_job(path, ctx["buyer"], ctx["shards"], ctx["price"])
    forged = sign_receipt(ProviderKey.from_seed("mallory"), job=jid, provider=PROVIDER, shards=ctx["shards"],
                          values=[1.0] + [0.0] * (len(ctx["shards"]) - 1), model="0" * 64)
    refused, msg, same = _attempt(path, lambda L: L.settle(forged))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (signature)"}


def attack_tampered_receipt(path, ctx) -> dict:
    """A genuine receipt whose shard values are changed after signing (to pay one curator more)."""
    jid = _open_attack_job(path, ctx["buyer"], ctx["shards"], ctx["price"])
    good = sign_receipt(ctx["key"], job=jid, provider=PROVIDER, shards=ctx["shards"],
                        values=[1.0] * len(ctx["shards"]), model="0" * 64)
    bad = good.replace(values=(100.0,) + good.values[1:])
    refused, msg, same = _attempt(path, lambda L: L.settle(bad))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (signature)"}


def attack_replayed_receipt(path, ctx) -> dict:
    """A receipt that was already paid is submitted again."""
    r = Receipt.from_json(ctx["paid_receipt"])
    refused, msg, same = _attempt(path, lambda L: L.settle(r))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (replay)"}


def attack_unknown_shard(path, ctx) -> dict:
    """The provider (genuine key) signs a receipt naming a shard that was never registered,
    to route dividends to an outsider's data."""
    jid = _open_attack_job(path, ctx["buyer"], ctx["shards"], ctx["price"])
    fake = hashlib.sha256(b"never registered").hexdigest()
    shards = list(ctx["shards"][:-1]) + [fake]
    r = sign_receipt(ctx["key"], job=jid, provider=PROVIDER, shards=shards, values=[1.0] * len(shards), model="0" * 64)
    refused, msg, same = _attempt(path, lambda L: L.settle(r))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (registry)"}


def attack_duplicate_upload(path, ctx) -> dict:
    """A copier proposes another contributor's shard again (re-ordered, same bytes)."""
    x, y = ctx["copy_x"], ctx["copy_y"]
    perm = np.random.default_rng(3).permutation(len(y))
    h = content_hash(x[perm], y[perm])
    with Ledger.open(path) as L:
        if not L.has_account("mallory"):
            L.open_account("mallory", "contributor")
    refused, msg, same = _attempt(path, lambda L: L.propose_shard("mallory", h, len(y), DATASET))
    return {"refused": refused, "message": msg, "unchanged": same, "how": "rejected (content hash)"}


def attack_borrowed_vote(path, ctx) -> dict:
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


def attack_double_vote(path, ctx) -> dict:
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


def attack_edit_balance(path, ctx) -> dict:
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
    canon = lambda e: json.dumps(e, sort_keys=True, separators=(",", ":"))  # noqa: E731
    _sql(path, ("UPDATE log SET event = ? WHERE seq = ?", (canon(ea), a["seq"])),
         ("UPDATE log SET event = ? WHERE seq = ?", (canon(eb), b["seq"])),
         ("UPDATE accounts SET balance = balance - ? WHERE name = ?", (d, ea["to"])),
         ("UPDATE accounts SET balance = balance + ? WHERE name = ?", (d, eb["to"])),
         ("UPDATE payments SET amount = ? WHERE job = ? AND account = ? AND role = 'dividend'", (ea["amount"], last, ea["to"])),
         ("UPDATE payments SET amount = ? WHERE job = ? AND account = ? AND role = 'dividend'", (eb["amount"], last, eb["to"])))
    return {"from": ea["to"], "to": eb["to"], "amount": d, "job": last}


def attack_edit_log(path, ctx) -> dict:
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
            h = _entry_hash(prev, seq, tx, clock, event)
            con.execute("UPDATE log SET prev = ?, hash = ? WHERE seq = ?", (prev, h, seq))
            prev = h
        for t in STATE_TABLES:
            con.execute(f"DELETE FROM {t}")
        for *_, event in rows:
            _apply(con, json.loads(event))
        con.execute("COMMIT")
    finally:
        con.close()


def attack_rewrite_history(path, ctx) -> dict:
    """The attacker raises a founding member's genesis allocation in the log, recomputes the
    whole hash chain and rebuilds the state from the edited log: everything is consistent
    again, and only the head published before (``ctx['anchor']``) exposes the rewrite."""
    with Ledger.open(path) as L:
        first_mint = next(e for e in L.log() if e["event"]["type"] == "mint")
    ev = dict(first_mint["event"], amount=first_mint["event"]["amount"] + 1000)
    _sql(path, ("UPDATE log SET event = ? WHERE seq = ?", (json.dumps(ev, sort_keys=True, separators=(",", ":")),
                                                             first_mint["seq"])))
    _rewrite_chain_and_state(path)
    with Ledger.open(path) as L:
        plain = L.verify()
        anchored = L.verify(anchor=tuple(ctx["anchor"]))
    msg = f"without the published head: {'verified' if plain.ok else 'NOT verified'}; with it: {anchored}"
    return {"refused": not anchored.ok, "message": msg, "unchanged": False, "how": "detected (published head)",
            "plain_verify_ok": plain.ok}


ATTACKS = {
    "forged_receipt": (attack_forged_receipt, "Receipt signed with a key that is not the provider's"),
    "tampered_receipt": (attack_tampered_receipt, "Genuine receipt with its shard values changed after signing"),
    "replayed_receipt": (attack_replayed_receipt, "A paid receipt submitted a second time"),
    "unknown_shard": (attack_unknown_shard, "Receipt (genuinely signed) naming a shard not in the registry"),
    "duplicate_upload": (attack_duplicate_upload, "Re-upload of another contributor's shard (re-ordered)"),
    "borrowed_vote": (attack_borrowed_vote, "Vote, lend the tokens, vote again with them from another account"),
    "double_vote": (attack_double_vote, "The same account votes twice on one proposal"),
    "edit_balance": (attack_edit_balance, "Raise a balance directly in the SQLite file"),
    "edit_log": (attack_edit_log, "Move part of a logged dividend to another curator in the SQLite file"),
    "rewrite_history": (attack_rewrite_history, "Raise a genesis allocation, recompute the hash chain, rebuild the state"),
}


def run_attacks(ledger_path, workdir, ctx, names: Sequence[str] | None = None) -> list[dict]:
    """Run each attack on its own copy of the ledger file (the original is not touched).

    ``ctx`` holds what the attacks need: ``buyer``, ``shards`` (registered hashes), ``price``,
    ``key`` (the provider's), ``paid_receipt`` (JSON of a receipt already paid), ``copy_x``,
    ``copy_y`` (a registered shard's bytes), ``members``, ``beneficiary`` and ``anchor``.
    Returns one record per attack with ``stopped`` (refused or detected).
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


# ------------------------------------------------------------------- helpers for the chain
def load_images():
    """MNIST test images as the uint8 bytes contributors upload, and the true labels."""
    from ..datasets import load_mnist

    images, labels = load_mnist()
    return np.rint(images * 255.0).astype(np.uint8), labels


def shards_to_arrays(contributors: Sequence[Contributor], shards) -> dict:
    """One set of flat arrays holding every shard (for ``run.save_arrays``)."""
    owner = np.concatenate([np.full(len(shards[c.name]["y"]), i) for i, c in enumerate(contributors)])
    return {"x": np.concatenate([shards[c.name]["x"] for c in contributors]),
            "y": np.concatenate([shards[c.name]["y"] for c in contributors]),
            "y_true": np.concatenate([shards[c.name]["y_true"] for c in contributors]),
            "index": np.concatenate([shards[c.name]["index"] for c in contributors]), "owner": owner}


def shards_from_arrays(arrays: Mapping[str, np.ndarray], contributors: Sequence[Contributor]) -> dict:
    out = {}
    for i, c in enumerate(contributors):
        m = arrays["owner"] == i
        out[c.name] = {k: arrays[k][m] for k in ("x", "y", "y_true", "index")}
    return out


def contributors_from_json(rows) -> list[Contributor]:
    return [Contributor(**r) for r in rows]


def contributors_to_json(contributors: Sequence[Contributor]) -> list[dict]:
    return [asdict(c) for c in contributors]


def run_jobs(ledger: Ledger, store: ShardStore, contributors: Sequence[Contributor], images_u8, labels,
             val_sets: Sequence[np.ndarray], *, buyers: Sequence[str], price: int, K: int, model: str, seed: int,
             progress: bool = True):
    """Every job of the chain, in order. Returns ``(jobs, analyses, point_values)``: the job
    records (no arrays), the other rules' shard values per job (:func:`analyse_job`), and
    every contributed item's Shapley value averaged over the jobs (in shard order)."""
    from tqdm import tqdm
    import sklearn.linear_model  # noqa: F401  (imported before the first job is timed)
    import sklearn.neighbors  # noqa: F401

    hashes = [c.shard_hash for c in contributors]
    copiers = [i for i, c in enumerate(contributors) if c.kind == "copier"]
    key = provider_key(seed)
    jobs, analyses, points = [], [], []
    for j, vi in enumerate(tqdm(val_sets, desc="jobs", disable=not progress)):
        r = run_job(ledger, store, buyer=buyers[j % len(buyers)], shards=hashes, price=price, x_val=images_u8[vi],
                    y_val=labels[vi], K=K, model=model, key=key, seed=seed)
        analyses.append(analyse_job(r, K=K, copier_shards=copiers))
        points.append(r["_points"])
        jobs.append({k: v for k, v in r.items() if not k.startswith("_")})
    return jobs, analyses, np.mean(points, axis=0)


RULES = ("shapley", "loo", "uniform")
RULE_LABELS = {"shapley": "KNN-Shapley (paid)", "loo": "leave-one-out", "uniform": "uniform (per item)",
               "shapley_no_copies": "KNN-Shapley, copies removed"}


def payouts_by_rule(jobs, analyses, contributors: Sequence[Contributor], *, price: int, provider_fee: float):
    """Dividends every contributor would receive over all jobs under each rule.

    ``shapley`` is what the ledger paid (recomputed from the receipts' values with the
    ledger's rule); ``loo`` splits by leave-the-shard-out values, ``uniform`` by item count;
    ``shapley_no_copies`` is the Shapley split of the same jobs without the copiers' shards
    (copiers get nothing there). Returns a pandas DataFrame, one row per contributor.
    """
    import pandas as pd

    fee = int(np.floor(price * provider_fee))
    n = len(contributors)
    tot = {r: np.zeros(n, dtype=np.int64) for r in (*RULES, "shapley_no_copies")}
    val = {r: np.zeros(n) for r in ("shapley", "loo", "uniform")}
    for job, a in zip(jobs, analyses):
        w = {"shapley": np.asarray(job["shard_values"]), "loo": np.asarray(a["loo"]), "uniform": np.asarray(a["uniform"])}
        for r in RULES:
            tot[r] += valuation.split_payment(price - fee, w[r])
            val[r] += w[r]
        nc = np.asarray(a["shapley_no_copies"], dtype=float)
        keep = np.isfinite(nc)
        tot["shapley_no_copies"][keep] += valuation.split_payment(price - fee, nc[keep])
    df = pd.DataFrame({"contributor": [c.name for c in contributors], "kind": [c.kind for c in contributors],
                       "label_noise": [c.noise for c in contributors], "clean_fraction": [c.clean_fraction for c in contributors],
                       "n_items": [c.n_items for c in contributors], "source": [c.source for c in contributors]})
    for r in tot:
        df[f"pay_{r}"] = tot[r]
    for r in val:
        df[f"value_{r}"] = val[r]
    return df


def rank_correlations(df, originals_only: bool = True) -> dict:
    """Spearman rho between each rule's payout and the clean-label fraction."""
    d = df[df.kind != "copier"] if originals_only else df
    return {r: valuation.spearman(d[f"pay_{r}"], d["clean_fraction"]) for r in RULES}


def duplicate_ratios(df) -> list[dict]:
    """For every copier: its Shapley payout against its source's — in the same market, and
    the source's payout in the market without copies."""
    out = []
    for _, c in df[df.kind == "copier"].iterrows():
        s = df[df.contributor == c.source].iloc[0]
        out.append({"copier": c.contributor, "source": c.source, "copier_pay": int(c.pay_shapley),
                    "source_pay": int(s.pay_shapley), "source_pay_without_copies": int(s.pay_shapley_no_copies),
                    "copier_pay_loo": int(c.pay_loo), "source_pay_loo": int(s.pay_loo),
                    "ratio_to_source_alone": c.pay_shapley / max(s.pay_shapley_no_copies, 1),
                    "ratio_same_market": c.pay_shapley / max(s.pay_shapley, 1)})
    return out


def timing_summary(jobs) -> dict:
    """Receipt overhead against the job: medians over jobs of the per-job ratios."""
    t = {k: np.array([j[k] for j in jobs]) for k in ("t_train", "t_value", "t_sign", "t_verify", "t_settle")}
    receipt = t["t_sign"] + t["t_verify"]
    job = t["t_train"] + t["t_value"]
    return {**{f"median_{k}": float(np.median(v)) for k, v in t.items()},
            "receipt_over_train": float(np.median(receipt / t["t_train"])),
            "receipt_over_job": float(np.median(receipt / job)),
            "settle_over_job": float(np.median(t["t_settle"] / job)),
            "n_jobs": len(jobs)}


def valuation_only(images_u8, labels, *, label_noise, items, size_spread, n_copiers, jitter_levels, n_jobs,
                   val_per_job, price, provider_fee, K, seed) -> dict:
    """The chain's valuation for another seed, without the ledger (a robustness check).

    Draws new shards, label flips, copies and validation sets from ``seed``, values every job
    exactly as :func:`run_job` does and splits the dividends by each rule with the ledger's
    rule; returns the rank correlations and the copiers' ratios.
    """
    contributors, shards, rest = make_contributors(images_u8, labels, label_noise, items, size_spread=size_spread,
                                                   n_copiers=n_copiers, jitter_levels=jitter_levels, seed=seed)
    val_sets = split_validation(rest, n_jobs, val_per_job, seed=seed)
    copiers = [i for i, c in enumerate(contributors) if c.kind == "copier"]
    xs = [shard_features(shards[c.name]["x"]) for c in contributors]
    X = np.concatenate(xs)
    y = np.concatenate([shards[c.name]["y"] for c in contributors])
    g = np.concatenate([np.full(len(x), i) for i, x in enumerate(xs)])
    jobs, analyses = [], []
    for vi in val_sets:
        yv = labels[vi]
        order = valuation.knn_order(X, shard_features(images_u8[vi]))
        pv = valuation.knn_shapley_from_order(order, y, yv, K)
        job = {"shards": [c.shard_hash for c in contributors], "_order": order, "_y": y, "_yv": yv, "_groups": g,
               "shard_values": valuation.group_sums(pv, g, len(contributors)).tolist()}
        analyses.append(analyse_job(job, K=K, copier_shards=copiers))
        jobs.append(job)
    df = payouts_by_rule(jobs, analyses, contributors, price=price, provider_fee=provider_fee)
    dups = duplicate_ratios(df)
    return {"seed": seed, **{f"rho_{k}": v for k, v in rank_correlations(df).items()},
            "dup_ratio_max": max((d["ratio_to_source_alone"] for d in dups), default=float("nan")),
            "dup_same_market_mean": float(np.mean([d["ratio_same_market"] for d in dups])) if dups else float("nan")}

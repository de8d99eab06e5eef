"""Benchmark: what a signed job receipt costs next to the training job it vouches for.

DataBright claims that trusted computation (Intel SGX) adds no cost to the machine-learning
pipeline. We have no SGX; our stand-in is an Ed25519-signed receipt. This measures, in one
run on the real MNIST images, for each buyer model (K-nearest neighbours, logistic
regression): the training job (fit + predict on the buyer's validation images), the exact
KNN-Shapley valuation of the shards, signing the receipt, verifying its signature, and the
ledger's whole settlement (every check, the signature included, and the SQLite write of the
payments, to a ledger file in a temporary folder). The table gives the fastest of
``--repeats`` runs (the machine may be busy) and the ratios to the training time.

Usage::

    python benchmarks/databright_receipts.py            # table
    python benchmarks/databright_receipts.py --json     # one JSON object on stdout
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--contributors", type=int, default=10, help="contributors (one shard each)")
    p.add_argument("--items", type=int, default=500, help="images per shard")
    p.add_argument("--val", type=int, default=300, help="validation images of the buyer")
    p.add_argument("--k", type=int, default=5, help="neighbours of the KNN model and utility")
    p.add_argument("--repeats", type=int, default=3, help="repeats per model (the fastest is reported)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = _args(argv)
    os.environ.setdefault("REPRO_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    from repro.errors import ReproError
    from repro.market import jobs, scenario, valuation
    from repro.market.ledger import Ledger, MarketParams
    from repro.market.receipts import sign_receipt, verify_receipt
    from repro.papers import databright as paper

    try:
        images, labels = paper.load_images()
        cs, shards, rest = scenario.make_contributors(images, labels, [0.0] * a.contributors, a.items, seed=a.seed)
        (val,) = scenario.split_validation(rest, 1, a.val, seed=a.seed + 1)  # the chain's validation seed: seed + 1
    except (ReproError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    hashes = [c.shard_hash for c in cs]
    X = np.concatenate([scenario.shard_features(shards[c.name]["x"]) for c in cs])
    y = np.concatenate([shards[c.name]["y"] for c in cs])
    g = np.concatenate([np.full(c.n_items, i) for i, c in enumerate(cs)])
    Xv, yv = scenario.shard_features(images[val]), labels[val]
    key = scenario.provider_key(a.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        scenario.open_market(path, cs, shards, params=MarketParams(), members={"m1": 100, "m2": 100}, buyers=["b"],
                             key=key)
        with Ledger.open(path) as L:
            L.deposit("b", 10**9)
            jobs.train_buyer_model("knn", X[:50], y[:50], Xv[:5], yv[:5], a.k, a.seed)  # imports and warm-up, not timed
            for model in jobs.BUYER_MODELS:
                t = {k: [] for k in ("train", "value", "sign", "verify", "settle")}
                for r in range(a.repeats):
                    jid = L.submit_job("b", scenario.PROVIDER, hashes, 1000)
                    t0 = time.perf_counter()
                    acc, digest = jobs.train_buyer_model(model, X, y, Xv, yv, a.k, a.seed)
                    t1 = time.perf_counter()
                    pv = valuation.knn_shapley(X, y, Xv, yv, a.k)
                    sv = valuation.group_sums(pv, g, len(cs))
                    t2 = time.perf_counter()
                    rec = sign_receipt(key, job=jid, provider=scenario.PROVIDER, shards=hashes, values=sv.tolist(), model=digest,
                                       metrics={"accuracy": acc}, nonce=f"{model}-{r}")
                    t3 = time.perf_counter()
                    ok = verify_receipt(rec, key.public_hex)
                    t4 = time.perf_counter()
                    L.settle(rec)
                    t5 = time.perf_counter()
                    assert ok
                    for k, v in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                        t[k].append(v)
                best = {k: min(v) for k, v in t.items()}
                rows.append({"model": model, "accuracy": acc, **{f"{k}_s": v for k, v in best.items()},
                             "receipt_over_train": (best["sign"] + best["verify"]) / best["train"],
                             "settle_over_train": best["settle"] / best["train"],
                             "receipt_over_job": (best["sign"] + best["verify"]) / (best["train"] + best["value"])})
            assert L.verify().ok and not L.check_invariants()
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "n_train": int(len(y)), "n_val": int(len(yv)), "k": a.k, "repeats": a.repeats, "rows": rows}
    if a.json:
        print(json.dumps(info))
        return 0
    print(f"{len(y)} training images in {len(cs)} shards, {len(yv)} validation images, K = {a.k}; "
          f"fastest of {a.repeats}; {info['cpus']} CPUs")
    print(f"{'model':>9} {'train s':>9} {'value s':>9} {'sign µs':>9} {'verify µs':>10} {'settle ms':>10} "
          f"{'receipt/train':>14} {'settle/train':>13}")
    for r in rows:
        print(f"{r['model']:>9} {r['train_s']:>9.3f} {r['value_s']:>9.3f} {1e6 * r['sign_s']:>9.0f} "
              f"{1e6 * r['verify_s']:>10.0f} {1e3 * r['settle_s']:>10.2f} {r['receipt_over_train']:>14.2e} "
              f"{r['settle_over_train']:>13.2e}")
    print("receipt = sign + verify; settle = the ledger's checks (signature included) and its SQLite write")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

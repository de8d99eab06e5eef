r"""Buyers' jobs: the provider trains the buyer's model, values the shards, signs, the ledger pays.

- :func:`train_buyer_model` fits the buyer's scikit-learn classifier (:data:`BUYER_MODELS`);
- :func:`run_job` is one purchase from start to end: escrow, training on the job's shards
  (fetched hash-checked from the :class:`~repro.market.scenario.ShardStore`), exact
  KNN-Shapley values of the shards on the buyer's validation set
  (:mod:`repro.market.valuation`), a receipt signed by the provider
  (:mod:`repro.market.receipts`), settlement by the ledger;
- :func:`analyse_job` values the same job by other rules (leave-one-out, uniform, Shapley
  without the copies), which the market does not pay, for the comparison of payout rules
  (:mod:`repro.market.payouts`).

A shard's value is the sum of its items' exact KNN-Shapley values (Jia et al. 2019) for the
buyer's validation images :math:`(x_j, y_j)`: with :math:`\alpha_1, \dots, \alpha_N` the
training items sorted by distance to :math:`x_j` and :math:`N \ge K`,

.. math::

    s_{\alpha_N} = \frac{[y_{\alpha_N} = y_j]}{N}, \qquad
    s_{\alpha_i} = s_{\alpha_{i+1}} + \frac{[y_{\alpha_i} = y_j] - [y_{\alpha_{i+1}} = y_j]}{K}
    \, \frac{\min(K, i)}{i},

averaged over the validation images (:func:`repro.market.valuation.knn_shapley_from_order`).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 80)
>>> X = y[:, None] + rng.normal(0, 0.3, (80, 4))
>>> acc, digest = train_buyer_model("knn", X[:60], y[:60], X[60:], y[60:], K=3, seed=0)
>>> acc, len(digest)
(1.0, 64)
"""
from __future__ import annotations

import hashlib
import time
from typing import Mapping, Sequence

import numpy as np

from . import valuation
from .ledger import Ledger
from .receipts import ProviderKey, sign_receipt, verify_receipt
from .scenario import PROVIDER, ShardStore, shard_features

__all__ = ["BUYER_MODELS", "train_buyer_model", "run_job", "analyse_job"]

BUYER_MODELS = ("knn", "logistic")
"""The classifiers a buyer can have trained: K nearest neighbours, or logistic regression."""


def train_buyer_model(model: str, X, y, Xv, yv, K: int, seed: int) -> tuple[float, str]:
    """Fit the buyer's scikit-learn classifier and measure it.

    Parameters
    ----------
    model : {"knn", "logistic"}
        K nearest neighbours (brute force; the model the KNN-Shapley values are exact for), or
        multinomial logistic regression (``C = 0.1``, 100 iterations).
    X, y : ndarray
        Training features and labels.
    Xv, yv : ndarray
        The buyer's validation features and labels.
    K : int
        Neighbours of the knn model.
    seed : int
        ``random_state`` of the logistic regression.

    Returns
    -------
    accuracy : float
        On ``(Xv, yv)``.
    digest : str
        sha256 of the trained model (knn: of its training data and K; logistic: of its weights).

    Raises
    ------
    ValueError
        An unknown model.
    """
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
    """One purchase, start to end.

    The buyer deposits what it lacks and opens the job (price into escrow); the provider
    fetches the shards (hash-checked), trains ``model`` and measures its accuracy on the
    buyer's validation set, computes every shard's value (sum of its points' exact
    KNN-Shapley values for the buyer's validation set), and signs the receipt; the ledger
    verifies it and pays.

    Parameters
    ----------
    ledger : repro.market.ledger.Ledger
        An open ledger with the provider :data:`~repro.market.scenario.PROVIDER` and the shards
        registered.
    store : repro.market.scenario.ShardStore
    buyer : str
    shards : sequence of str
        The job's shard hashes.
    price : int
        Tokens.
    x_val, y_val : ndarray
        The buyer's validation images (uint8) and labels.
    K : int
        K of the utility (and of the knn model).
    model : str
        One of :data:`BUYER_MODELS`.
    key : repro.market.receipts.ProviderKey
        The provider's key.
    seed : int
        ``random_state`` of the model; also the prefix of the receipt's nonce (``"<seed>-<job>"``).

    Returns
    -------
    dict
        The job's record: ``job``, ``buyer``, ``n_train``, ``n_val``, ``accuracy``,
        ``utility``, ``shards``, ``shard_values``, ``paid``, ``receipt`` (JSON), ``verified``
        and the timings in seconds: ``t_train`` (fit + predict), ``t_value`` (the valuation),
        ``t_sign`` (the signature), ``t_verify`` (one signature check alone), ``t_settle``
        (the ledger's whole settlement: checks, including the signature, and the database
        write). Keys starting with ``_`` hold arrays for :func:`analyse_job`.

    Raises
    ------
    repro.market.errors.LedgerError
        The ledger refuses the job or its receipt.
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

    Parameters
    ----------
    job : mapping
        A record of :func:`run_job` with its arrays: ``shards``, ``_order`` (validation x
        training indices sorted by distance), ``_y``, ``_yv`` and ``_groups`` (the shard of
        every training item).
    K : int
    copier_shards : sequence of int
        Positions of the copiers' shards in the job.

    Returns
    -------
    dict
        Per shard: ``loo`` (leave the whole shard out), ``loo_points`` (sum of its points'
        leave-one-out values), ``uniform`` (the shard's item count: every item paid alike)
        and ``shapley_no_copies`` (Shapley values with the copiers' shards removed from the
        job, NaN for those shards; the paid values when there are no copiers).
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

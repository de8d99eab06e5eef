r"""Payout rules compared: what every contributor would earn under each way of splitting dividends.

The market pays each job's dividends (the price less the provider's fee) by the shards'
KNN-Shapley values. :func:`payouts_by_rule` recomputes those payments from the receipts' values
and splits the same jobs by other rules — leave-one-out, uniform (every item alike), Shapley
with the copiers' shards removed — always with the ledger's integer split
(:func:`repro.market.valuation.split_payment`, negative weights count as zero).
:func:`rank_correlations` measures how well each rule ranks contributors by data quality
(Spearman :math:`\rho` between a contributor's total and its share of correct labels), and
:func:`duplicate_ratios` what a copier earns against its source.

Example
-------
>>> from repro.market.scenario import Contributor
>>> cs = [Contributor("c0", "clean", 0.0, 10, 1.0), Contributor("c1", "noisy", 0.5, 10, 0.5)]
>>> jobs = [{"shard_values": [0.3, 0.1]}]
>>> analyses = [{"loo": [0.2, 0.0], "uniform": [10.0, 10.0], "shapley_no_copies": [0.3, 0.1]}]
>>> df = payouts_by_rule(jobs, analyses, cs, price=100, provider_fee=0.1)
>>> df[["contributor", "pay_shapley", "pay_loo", "pay_uniform"]].values.tolist()
[['c0', 68, 90, 45], ['c1', 22, 0, 45]]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import valuation
from .scenario import Contributor

__all__ = ["RULES", "RULE_LABELS", "payouts_by_rule", "rank_correlations", "duplicate_ratios"]

RULES = ("shapley", "loo", "uniform")
"""The rules compared: KNN-Shapley (what the ledger pays), leave-one-out, uniform per item."""
RULE_LABELS = {"shapley": "KNN-Shapley (paid)", "loo": "leave-one-out", "uniform": "uniform (per item)",
               "shapley_no_copies": "KNN-Shapley, copies removed"}
"""Labels of the rules for figures and tables."""


def payouts_by_rule(jobs, analyses, contributors: Sequence[Contributor], *, price: int, provider_fee: float):
    """Dividends every contributor would receive over all jobs under each rule.

    ``shapley`` is what the ledger paid (recomputed from the receipts' values with the
    ledger's rule); ``loo`` splits by leave-the-shard-out values, ``uniform`` by item count;
    ``shapley_no_copies`` is the Shapley split of the same jobs without the copiers' shards
    (copiers get nothing there).

    Parameters
    ----------
    jobs : sequence of mapping
        Job records with ``shard_values`` (:func:`repro.market.jobs.run_job`), shards in the
        order of ``contributors``.
    analyses : sequence of mapping
        :func:`repro.market.jobs.analyse_job` of each job.
    contributors : sequence of Contributor
    price : int
        Tokens per job.
    provider_fee : float
        Share of the price paid to the provider.

    Returns
    -------
    pandas.DataFrame
        One row per contributor: ``contributor``, ``kind``, ``label_noise``,
        ``clean_fraction``, ``n_items``, ``source``, ``pay_<rule>`` for each of :data:`RULES`
        and ``shapley_no_copies`` (tokens), ``value_<rule>`` for :data:`RULES` (the summed
        values, unclipped).
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
    """Spearman rho between each rule's payout and the clean-label fraction.

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`payouts_by_rule`.
    originals_only : bool
        Leave the copiers out.

    Returns
    -------
    dict
        ``{rule: rho}`` for each of :data:`RULES`.
    """
    d = df[df.kind != "copier"] if originals_only else df
    return {r: valuation.spearman(d[f"pay_{r}"], d["clean_fraction"]) for r in RULES}


def duplicate_ratios(df) -> list[dict]:
    """For every copier: its Shapley payout against its source's.

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`payouts_by_rule`.

    Returns
    -------
    list of dict
        Per copier: ``copier``, ``source``, the payouts ``copier_pay``, ``source_pay``,
        ``source_pay_without_copies``, ``copier_pay_loo``, ``source_pay_loo``, and the ratios
        ``ratio_to_source_alone`` (copier / what the source earned in the market without
        copies) and ``ratio_same_market`` (copier / source, same market).
    """
    out = []
    for _, c in df[df.kind == "copier"].iterrows():
        s = df[df.contributor == c.source].iloc[0]
        out.append({"copier": c.contributor, "source": c.source, "copier_pay": int(c.pay_shapley),
                    "source_pay": int(s.pay_shapley), "source_pay_without_copies": int(s.pay_shapley_no_copies),
                    "copier_pay_loo": int(c.pay_loo), "source_pay_loo": int(s.pay_loo),
                    "ratio_to_source_alone": c.pay_shapley / max(s.pay_shapley_no_copies, 1),
                    "ratio_same_market": c.pay_shapley / max(s.pay_shapley, 1)})
    return out

"""Driver of the ``databright`` chain: a data market that pays contributors by the value of
their data (Hynes, Dao, Yan, Cheng & Song 2018, arXiv:1802.04780).

:func:`setup` reads the chain's parameters and returns what its notebooks share: the market's
rules, founding members and buyers, the compute provider's key, the MNIST images as the uint8
bytes contributors upload (loaded when a notebook first asks for them), the named seeds, and
the BLAS threads it applies. The rest is the chain's glue: saving and loading contributors
and shards between notebooks, every job of ``02_jobs`` in order (:func:`run_jobs`), the
receipt timings (:func:`timing_summary`) and the valuation repeated for other seeds without
the ledger (:func:`valuation_only`, ``03_valuation``). The market itself is
:mod:`repro.market`.

Example
-------
>>> from repro import params
>>> from repro.papers import databright as paper
>>> S = paper.setup(params.load("databright", "smoke"))
>>> S.seeds.contributors, S.seeds.validation, S.seeds.exact_copy, S.seeds.extra
(0, 1, 7, (DrawSeeds(contributors=1, validation=2),))
>>> S.members, S.buyers
({'member1': 100, 'member2': 100, 'member3': 100}, ['buyer1', 'buyer2', 'buyer3'])
>>> S.images.shape                                  # doctest: +SKIP
(10000, 28, 28)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np

from ..market import valuation
from ..market.jobs import analyse_job, run_job
from ..market.ledger import Ledger, MarketParams
from ..market.payouts import duplicate_ratios, payouts_by_rule, rank_correlations
from ..market.receipts import ProviderKey
from ..market.scenario import Contributor, ShardStore, make_contributors, provider_key, shard_features, split_validation

__all__ = ["DrawSeeds", "Seeds", "Setup", "setup", "load_images", "shards_to_arrays", "shards_from_arrays",
           "contributors_to_json", "contributors_from_json", "run_jobs", "timing_summary", "valuation_only"]

JOB_TTL = 10
"""Ticks after which an unsettled job can be refunded (not a parameter of the chain)."""


@dataclass(frozen=True)
class DrawSeeds:
    """The seeds of one draw of the market's data.

    Attributes
    ----------
    contributors : int
        Shard sizes, the split of the images, label flips, the copiers' jitter
        (:func:`repro.market.scenario.make_contributors`).
    validation : int
        The buyers' validation sets (:func:`repro.market.scenario.split_validation`).
    """

    contributors: int
    validation: int


@dataclass(frozen=True)
class Seeds:
    """The chain's named seeds (today all derive from the parameter ``seed``).

    Attributes
    ----------
    contributors : int
        ``01_market``: the contributors' shards (``seed``).
    validation : int
        ``01_market``: the validation sets (``seed + 1``).
    exact_copy : int
        ``01_market``: the order of the exact copy the ledger refuses (``seed + 7``).
    provider : int
        The compute provider's signing key (:func:`repro.market.scenario.provider_key`; ``seed``).
    jobs : int
        ``02_jobs``: the logistic buyer model's ``random_state`` and the receipts' nonces (``seed``).
    extra : tuple of DrawSeeds
        ``03_valuation``: one per further seed ``s = 1 .. extra_seeds``: contributors
        ``seed + s``, validation ``seed + s + 1``.
    """

    contributors: int
    validation: int
    exact_copy: int
    provider: int
    jobs: int
    extra: tuple = ()


@dataclass
class Setup:
    """What the notebooks of the ``databright`` chain share (see :func:`setup`).

    Attributes
    ----------
    params : repro.params.Params
        The run's parameters.
    seeds : Seeds
    threads : int
        BLAS threads in use.
    rules : repro.market.ledger.MarketParams
        The market's rules, fixed at genesis.
    members : dict
        Founding members of the association -> genesis tokens.
    buyers : list of str
    """

    params: Any
    seeds: Seeds
    threads: int
    rules: MarketParams
    members: dict = field(default_factory=dict)
    buyers: list = field(default_factory=list)

    @cached_property
    def provider_key(self) -> ProviderKey:
        """The compute provider's signing key."""
        return provider_key(self.seeds.provider)

    @cached_property
    def _mnist(self) -> tuple[np.ndarray, np.ndarray]:
        return load_images()

    @property
    def images(self) -> np.ndarray:
        """The 10,000 MNIST test images as uint8 (loaded on first use)."""
        return self._mnist[0]

    @property
    def labels(self) -> np.ndarray:
        """Their true labels."""
        return self._mnist[1]


def setup(params, run=None) -> Setup:
    """The chain's shared setup: rules, members, buyers, seeds and BLAS threads now; MNIST on first use.

    Parameters
    ----------
    params : repro.params.Params
        The run's parameters (``run.params``).
    run : repro.chains.RunContext, optional
        The notebook's run (unused; accepted so that every driver is called alike).

    Returns
    -------
    Setup
    """
    from threadpoolctl import threadpool_limits

    P = params
    threadpool_limits(limits=int(P.threads), user_api="blas")
    # today's values, written once: the validation sets were drawn from seed + 1 and the exact
    # copy's order from seed + 7; the further seeds of 03_valuation are seed + s (s = 1, 2, ...)
    seeds = Seeds(contributors=P.seed, validation=P.seed + 1, exact_copy=P.seed + 7, provider=P.seed, jobs=P.seed,
                  extra=tuple(DrawSeeds(P.seed + s, P.seed + s + 1) for s in range(1, P.extra_seeds + 1)))
    rules = MarketParams(quorum=P.quorum, debate_period=P.debate_period, shard_reward=P.shard_reward,
                         provider_fee=P.provider_fee, job_ttl=JOB_TTL)
    return Setup(params=P, seeds=seeds, threads=int(P.threads), rules=rules,
                 members={f"member{i + 1}": P.member_tokens for i in range(P.n_members)},
                 buyers=[f"buyer{i + 1}" for i in range(P.n_buyers)])


def load_images() -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images as the uint8 bytes contributors upload, and the true labels.

    Returns
    -------
    images : ndarray, shape (10000, 28, 28), uint8
    labels : ndarray, shape (10000,), int64

    Raises
    ------
    repro.errors.DataError
        The data set is missing or malformed.
    """
    from ..datasets import load_mnist

    images, labels = load_mnist()
    return np.rint(images * 255.0).astype(np.uint8), labels


def shards_to_arrays(contributors: Sequence[Contributor], shards) -> dict:
    """One set of flat arrays holding every shard (for ``run.save_arrays``).

    Parameters
    ----------
    contributors : sequence of repro.market.scenario.Contributor
    shards : mapping
        name -> ``{"x", "y", "y_true", "index"}``.

    Returns
    -------
    dict
        ``x``, ``y``, ``y_true``, ``index`` concatenated in contributor order, and ``owner``
        (the contributor's position of every item).
    """
    owner = np.concatenate([np.full(len(shards[c.name]["y"]), i) for i, c in enumerate(contributors)])
    return {"x": np.concatenate([shards[c.name]["x"] for c in contributors]),
            "y": np.concatenate([shards[c.name]["y"] for c in contributors]),
            "y_true": np.concatenate([shards[c.name]["y_true"] for c in contributors]),
            "index": np.concatenate([shards[c.name]["index"] for c in contributors]), "owner": owner}


def shards_from_arrays(arrays: Mapping[str, np.ndarray], contributors: Sequence[Contributor]) -> dict:
    """The shards back from :func:`shards_to_arrays`.

    Parameters
    ----------
    arrays : mapping
        The saved arrays.
    contributors : sequence of repro.market.scenario.Contributor
        In the order they were saved.

    Returns
    -------
    dict
        name -> ``{"x", "y", "y_true", "index"}``.
    """
    out = {}
    for i, c in enumerate(contributors):
        m = arrays["owner"] == i
        out[c.name] = {k: arrays[k][m] for k in ("x", "y", "y_true", "index")}
    return out


def contributors_to_json(contributors: Sequence[Contributor]) -> list[dict]:
    """The contributors as JSON rows.

    Parameters
    ----------
    contributors : sequence of repro.market.scenario.Contributor

    Returns
    -------
    list of dict
    """
    return [asdict(c) for c in contributors]


def contributors_from_json(rows) -> list[Contributor]:
    """The contributors back from :func:`contributors_to_json`.

    Parameters
    ----------
    rows : list of dict

    Returns
    -------
    list of repro.market.scenario.Contributor
    """
    return [Contributor(**r) for r in rows]


def run_jobs(ledger: Ledger, store: ShardStore, contributors: Sequence[Contributor], images_u8, labels,
             val_sets: Sequence[np.ndarray], *, buyers: Sequence[str], price: int, K: int, model: str,
             key: ProviderKey, seed: int, progress: bool = True):
    """Every job of the chain, in order: job ``j`` is bought by ``buyers[j % len(buyers)]`` on
    every shard, with validation set ``val_sets[j]`` (:func:`repro.market.jobs.run_job`).

    Parameters
    ----------
    ledger : repro.market.ledger.Ledger
    store : repro.market.scenario.ShardStore
    contributors : sequence of repro.market.scenario.Contributor
        Every contributor; copiers are valued out in :func:`repro.market.jobs.analyse_job`.
    images_u8, labels : ndarray
        The images and true labels the validation sets index.
    val_sets : sequence of ndarray
    buyers : sequence of str
    price : int
    K : int
    model : str
        The buyers' model (:data:`repro.market.jobs.BUYER_MODELS`).
    key : repro.market.receipts.ProviderKey
        The provider's key.
    seed : int
        Seed of the jobs (model ``random_state``, receipt nonces).
    progress : bool
        Show a progress bar.

    Returns
    -------
    jobs : list of dict
        The job records without arrays.
    analyses : list of dict
        The other rules' shard values of each job (:func:`repro.market.jobs.analyse_job`).
    point_values : ndarray
        Every contributed item's Shapley value averaged over the jobs (in shard order).
    """
    from tqdm import tqdm
    import sklearn.linear_model  # noqa: F401  (imported before the first job is timed)
    import sklearn.neighbors  # noqa: F401

    hashes = [c.shard_hash for c in contributors]
    copiers = [i for i, c in enumerate(contributors) if c.kind == "copier"]
    jobs, analyses, points = [], [], []
    for j, vi in enumerate(tqdm(val_sets, desc="jobs", disable=not progress)):
        r = run_job(ledger, store, buyer=buyers[j % len(buyers)], shards=hashes, price=price, x_val=images_u8[vi],
                    y_val=labels[vi], K=K, model=model, key=key, seed=seed)
        analyses.append(analyse_job(r, K=K, copier_shards=copiers))
        points.append(r["_points"])
        jobs.append({k: v for k, v in r.items() if not k.startswith("_")})
    return jobs, analyses, np.mean(points, axis=0)


def timing_summary(jobs) -> dict:
    """Receipt overhead against the job: medians over jobs of the per-job ratios.

    Parameters
    ----------
    jobs : sequence of mapping
        Job records with ``t_train``, ``t_value``, ``t_sign``, ``t_verify``, ``t_settle``.

    Returns
    -------
    dict
        ``median_t_<step>`` (seconds), ``receipt_over_train`` ((sign + verify) / train),
        ``receipt_over_job`` ((sign + verify) / (train + value)), ``settle_over_job`` and
        ``n_jobs``.
    """
    t = {k: np.array([j[k] for j in jobs]) for k in ("t_train", "t_value", "t_sign", "t_verify", "t_settle")}
    receipt = t["t_sign"] + t["t_verify"]
    job = t["t_train"] + t["t_value"]
    return {**{f"median_{k}": float(np.median(v)) for k, v in t.items()},
            "receipt_over_train": float(np.median(receipt / t["t_train"])),
            "receipt_over_job": float(np.median(receipt / job)),
            "settle_over_job": float(np.median(t["t_settle"] / job)),
            "n_jobs": len(jobs)}


def valuation_only(images_u8, labels, *, label_noise, items, size_spread, n_copiers, jitter_levels, n_jobs,
                   val_per_job, price, provider_fee, K, seeds: DrawSeeds) -> dict:
    """The chain's valuation for another draw of the data, without the ledger (a robustness check).

    Draws new shards, label flips, copies and validation sets from ``seeds``, values every job
    exactly as :func:`repro.market.jobs.run_job` does and splits the dividends by each rule
    with the ledger's rule.

    Parameters
    ----------
    images_u8, labels : ndarray
        The images (uint8) and true labels.
    label_noise, items, size_spread, n_copiers, jitter_levels
        As :func:`repro.market.scenario.make_contributors`.
    n_jobs, val_per_job : int
        As :func:`repro.market.scenario.split_validation`.
    price : int
    provider_fee : float
    K : int
    seeds : DrawSeeds

    Returns
    -------
    dict
        ``seed`` (the contributors' seed), ``rho_<rule>`` (:func:`repro.market.payouts.rank_correlations`),
        ``dup_ratio_max`` and ``dup_same_market_mean`` (:func:`repro.market.payouts.duplicate_ratios`;
        NaN without copiers).
    """
    contributors, shards, rest = make_contributors(images_u8, labels, label_noise, items, size_spread=size_spread,
                                                   n_copiers=n_copiers, jitter_levels=jitter_levels,
                                                   seed=seeds.contributors)
    val_sets = split_validation(rest, n_jobs, val_per_job, seed=seeds.validation)
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
    return {"seed": seeds.contributors, **{f"rho_{k}": v for k, v in rank_correlations(df).items()},
            "dup_ratio_max": max((d["ratio_to_source_alone"] for d in dups), default=float("nan")),
            "dup_same_market_mean": float(np.mean([d["ratio_same_market"] for d in dups])) if dups else float("nan")}

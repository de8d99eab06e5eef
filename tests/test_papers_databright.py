"""repro.papers.databright: the chain's setup (seeds and rules unchanged) and its glue."""
import math

import numpy as np

from repro import params
from repro.market.ledger import MarketParams
from repro.market.scenario import provider_key
from repro.papers import databright as paper

from .market_fixtures import images, market  # noqa: F401  (fixture)


def test_setup_seeds_rules_members():
    P = params.load("databright", "full", {"seed": 5})
    S = paper.setup(P)
    assert (S.seeds.contributors, S.seeds.validation, S.seeds.exact_copy, S.seeds.provider, S.seeds.jobs) == (5, 6, 12, 5, 5)
    assert S.seeds.extra == tuple(paper.DrawSeeds(5 + s, 6 + s) for s in range(1, P.extra_seeds + 1))
    assert S.rules == MarketParams(quorum=P.quorum, debate_period=P.debate_period, shard_reward=P.shard_reward,
                                   provider_fee=P.provider_fee, job_ttl=10)
    assert S.members == {f"member{i}": P.member_tokens for i in range(1, P.n_members + 1)}
    assert S.buyers == [f"buyer{i}" for i in range(1, P.n_buyers + 1)] and S.threads == P.threads
    assert S.provider_key.public_hex == provider_key(5).public_hex


def test_contributors_and_shards_round_trip(market):  # noqa: F811
    cs = market["contributors"]
    assert paper.contributors_from_json(paper.contributors_to_json(cs)) == cs
    back = paper.shards_from_arrays(paper.shards_to_arrays(cs, market["shards"]), cs)
    for c in cs:
        for k in ("x", "y", "y_true", "index"):
            assert np.array_equal(back[c.name][k], market["shards"][c.name][k])


def test_jobs_and_timings(market):  # noqa: F811
    jobs = market["jobs"]
    assert [j["buyer"] for j in jobs] == ["buyer1", "buyer2", "buyer1"] and not any(k.startswith("_") for k in jobs[0])
    assert market["points"].shape == (sum(c.n_items for c in market["contributors"]),)
    t = paper.timing_summary(jobs)
    assert t["n_jobs"] == 3 and 0 < t["receipt_over_train"] < 1


def test_valuation_only_matches_the_ledgers_rule():
    x, y = images(900, seed=3)
    kw = dict(label_noise=[0.0, 0.0, 0.5], items=80, size_spread=0.2, n_copiers=1, jitter_levels=2, n_jobs=2,
              val_per_job=50, price=1000, provider_fee=0.1, K=3)
    r = paper.valuation_only(x, y, seeds=paper.DrawSeeds(4, 5), **kw)
    assert r["seed"] == 4 and set(r) >= {"rho_shapley", "rho_loo", "rho_uniform", "dup_ratio_max"}
    assert r == paper.valuation_only(x, y, seeds=paper.DrawSeeds(4, 5), **kw)
    none = paper.valuation_only(x, y, seeds=paper.DrawSeeds(4, 5), **{**kw, "n_copiers": 0})
    assert math.isnan(none["dup_ratio_max"])

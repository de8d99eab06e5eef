"""A small market shared by the tests of repro.market's scenario, jobs, payouts and attacks:
synthetic 6x6 'images' of three classes, four contributors and one copier, three jobs."""
import numpy as np
import pytest

from repro.market import scenario
from repro.market.ledger import Ledger, MarketParams
from repro.papers import databright as paper


def images(n=900, seed=0):
    """Blobs drawn as 6x6 uint8 'images' of three classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.integers(40, 215, size=(3, 36))
    x = np.clip(centres[y] + rng.normal(0, 30, (n, 36)), 0, 255).astype(np.uint8).reshape(n, 6, 6)
    return x, y


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """The market after the association's votes and three settled jobs (ledger ``market.sqlite``)."""
    d = tmp_path_factory.mktemp("market")
    x, y = images()
    contributors, shards, rest = scenario.make_contributors(x, y, [0.0, 0.0, 0.3, 0.7], 80, size_spread=0.2,
                                                            n_copiers=1, seed=1, n_classes=3)
    vals = scenario.split_validation(rest, 3, 60, seed=2)
    params = MarketParams(quorum=0.5, debate_period=2, shard_reward=10, provider_fee=0.1, job_ttl=10)
    members = {"member1": 100, "member2": 100, "member3": 100}
    key = scenario.provider_key(1)
    summary = scenario.open_market(d / "market.sqlite", contributors, shards, params=params, members=members,
                                   buyers=["buyer1", "buyer2"], key=key, exact_copy_of=contributors[0].name,
                                   copy_seed=8)
    store = scenario.ShardStore(shards, contributors)
    with Ledger.open(d / "market.sqlite") as L:
        jobs, analyses, points = paper.run_jobs(L, store, contributors, x, y, vals, buyers=["buyer1", "buyer2"],
                                                price=1000, K=3, model="knn", key=key, seed=1, progress=False)
        head = L.head()
    return dict(dir=d, x=x, y=y, contributors=contributors, shards=shards, summary=summary, jobs=jobs,
                analyses=analyses, points=points, head=head, members=members, params=params, key=key, vals=vals,
                store=store)

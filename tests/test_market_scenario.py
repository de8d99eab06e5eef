"""repro.market.scenario: contributors and shards, the shard store, opening the market."""
import numpy as np
import pytest

from repro.market import scenario
from repro.market.errors import LedgerError
from repro.market.ledger import Ledger
from repro.papers import databright as paper

from .conftest import needs_data
from .market_fixtures import images, market  # noqa: F401  (fixture)


def test_contributors_copiers_and_the_market(market):  # noqa: F811
    cs = market["contributors"]
    assert [c.kind for c in cs] == ["clean", "clean", "noisy", "noisy", "copier"]
    assert cs[4].source == "c0" and cs[4].clean_fraction == 1.0
    assert cs[3].clean_fraction == pytest.approx(0.3, abs=0.02)
    sh = market["shards"]
    assert not np.array_equal(sh["c4"]["x"], sh["c0"]["x"]) and np.abs(sh["c4"]["x"].astype(int) - sh["c0"]["x"]).max() <= 2
    assert np.array_equal(sh["c4"]["y"], sh["c0"]["y"])
    assert market["summary"]["refused_copy"]["refused"]
    assert set(market["summary"]["status"].values()) == {"accepted"}
    with Ledger.open(market["dir"] / "market.sqlite") as L:
        assert len(L.shards()) == 5 and L.verify().ok and L.check_invariants() == []
        assert L.providers()[0]["public_key"] == market["key"].public_hex


def test_validation_sets_are_disjoint_and_held_by_nobody(market):  # noqa: F811
    held = np.concatenate([s["index"] for s in market["shards"].values()])
    vals = market["vals"]
    assert all(len(v) == 60 for v in vals)
    assert len(np.unique(np.concatenate(vals))) == 180 and not np.isin(np.concatenate(vals), held).any()


def test_shard_store_checks_hashes(market):  # noqa: F811
    c = market["contributors"][0]
    x, y = market["store"].get(c.shard_hash)
    assert np.array_equal(x, market["shards"][c.name]["x"])
    with pytest.raises(LedgerError, match="not in the store"):
        market["store"].get("0" * 64)
    shards = {c.name: dict(market["shards"][c.name]) for c in market["contributors"]}
    shards["c0"]["x"] = shards["c0"]["x"].copy()
    shards["c0"]["x"][0, 0, 0] ^= 1
    with pytest.raises(LedgerError, match="do not match"):
        scenario.ShardStore(shards, market["contributors"]).get(c.shard_hash)


def test_scenario_input_errors():
    x, y = images(100)
    with pytest.raises(ValueError, match="uint8"):
        scenario.make_contributors(x.astype(float), y, [0.0], 10)
    with pytest.raises(ValueError, match="nothing left"):
        scenario.make_contributors(x, y, [0.0, 0.0], 60)
    with pytest.raises(ValueError, match="label noise"):
        scenario.make_contributors(x, y, [1.5], 10)
    with pytest.raises(ValueError, match="n_copiers"):
        scenario.make_contributors(x, y, [0.0], 10, n_copiers=2)
    with pytest.raises(ValueError, match="validation"):
        scenario.split_validation(np.arange(10), 3, 5)


@needs_data
def test_real_mnist_shards_and_hashes():
    images_u8, labels = paper.load_images()
    assert images_u8.dtype == np.uint8 and images_u8.shape == (10000, 28, 28) and images_u8.max() == 255
    cs, shards, rest = scenario.make_contributors(images_u8, labels, [0.0, 0.5], 50, n_copiers=1, seed=0)
    assert len(rest) == 10000 - sum(c.n_items for c in cs if c.kind != "copier")
    assert len({c.shard_hash for c in cs}) == 3
    assert cs[1].clean_fraction == pytest.approx(0.5, abs=0.03)

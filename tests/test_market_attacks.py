"""Attack tests: every attack of the chain's 04_attacks on a small market is stopped, and the
chain's scenario helpers work (synthetic images; one test on the real MNIST)."""
import numpy as np
import pytest

from repro.market import experiments as ex
from repro.market.ledger import Ledger, MarketParams

from .conftest import needs_data


def _images(n=900, seed=0):
    """Blobs drawn as 6x6 uint8 'images' of three classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.integers(40, 215, size=(3, 36))
    x = np.clip(centres[y] + rng.normal(0, 30, (n, 36)), 0, 255).astype(np.uint8).reshape(n, 6, 6)
    return x, y


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    d = tmp_path_factory.mktemp("market")
    x, y = _images()
    contributors, shards, rest = ex.make_contributors(x, y, [0.0, 0.0, 0.3, 0.7], 80, size_spread=0.2, n_copiers=1,
                                                      seed=1, n_classes=3)
    vals = ex.split_validation(rest, 3, 60, seed=1)
    params = MarketParams(quorum=0.5, debate_period=2, shard_reward=10, provider_fee=0.1, job_ttl=10)
    members = {"member1": 100, "member2": 100, "member3": 100}
    summary = ex.open_market(d / "market.sqlite", contributors, shards, params=params, members=members,
                             buyers=["buyer1", "buyer2"], seed=1, exact_copy_of=contributors[0].name)
    store = ex.ShardStore(shards, contributors)
    with Ledger.open(d / "market.sqlite") as L:
        jobs, analyses, points = ex.run_jobs(L, store, contributors, x, y, vals, buyers=["buyer1", "buyer2"], price=1000,
                                             K=3, model="knn", seed=1, progress=False)
        head = L.head()
    return dict(dir=d, x=x, y=y, contributors=contributors, shards=shards, summary=summary, jobs=jobs,
                analyses=analyses, points=points, head=head, members=members, params=params)


def test_scenario_contributors_and_market(market):
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
        paid = L.payments()
    assert sum(p["amount"] for p in paid) == 3 * 1000
    assert all(j["verified"] for j in market["jobs"])


def test_dividends_follow_quality_and_copies_dilute(market):
    df = ex.payouts_by_rule(market["jobs"], market["analyses"], market["contributors"], price=1000, provider_fee=0.1)
    assert (df.filter(like="pay_").drop(columns="pay_shapley_no_copies").sum() == 3 * 900).all()
    pay = df.set_index("contributor").pay_shapley
    assert pay["c0"] > pay["c2"] > pay["c3"]
    rho = ex.rank_correlations(df)
    assert rho["shapley"] > 0.7
    (d,) = ex.duplicate_ratios(df)
    assert d["copier"] == "c4" and d["source"] == "c0"
    assert d["ratio_to_source_alone"] < 0.95 and d["ratio_same_market"] == pytest.approx(1.0, abs=0.15)
    t = ex.timing_summary(market["jobs"])
    assert 0 < t["receipt_over_train"] < 1


def test_every_attack_is_stopped(market):
    cs = market["contributors"]
    ctx = {"buyer": "buyer1", "shards": [c.shard_hash for c in cs], "price": 1000, "key": ex.provider_key(1),
           "paid_receipt": market["jobs"][0]["receipt"], "copy_x": market["shards"]["c0"]["x"],
           "copy_y": market["shards"]["c0"]["y"], "members": list(market["members"]), "beneficiary": "c3",
           "anchor": market["head"]}
    path = market["dir"] / "market.sqlite"
    with Ledger.open(path) as L:
        digest = L.state_digest()
    results = ex.run_attacks(path, market["dir"] / "attacks", ctx)
    assert [r["attack"] for r in results] == list(ex.ATTACKS)
    for r in results:
        assert r["stopped"], r
        if r["how"].startswith("rejected"):
            assert r["ledger_unchanged"] and r["still_verifies"] and r["invariants_hold"], r
    rewrite = next(r for r in results if r["attack"] == "rewrite_history")
    assert rewrite["plain_verify_ok"]  # a consistent rewrite passes verify() alone: the anchor is needed
    with Ledger.open(path) as L:
        assert L.state_digest() == digest  # attacks ran on copies


def test_an_unprotected_ledger_would_fail_the_attacks(market, monkeypatch):
    """The attack tests can fail: with signature checks switched off, forged receipts pay."""
    import repro.market.ledger as ledger_mod
    monkeypatch.setattr(ledger_mod, "verify_receipt", lambda r, k: True)
    cs = market["contributors"]
    ctx = {"buyer": "buyer1", "shards": [c.shard_hash for c in cs], "price": 1000, "key": ex.provider_key(1)}
    (res,) = ex.run_attacks(market["dir"] / "market.sqlite", market["dir"] / "attacks2", ctx, names=["forged_receipt"])
    assert not res["stopped"]


def test_scenario_input_errors():
    x, y = _images(100)
    with pytest.raises(ValueError, match="uint8"):
        ex.make_contributors(x.astype(float), y, [0.0], 10)
    with pytest.raises(ValueError, match="nothing left"):
        ex.make_contributors(x, y, [0.0, 0.0], 60)
    with pytest.raises(ValueError, match="label noise"):
        ex.make_contributors(x, y, [1.5], 10)
    with pytest.raises(ValueError, match="n_copiers"):
        ex.make_contributors(x, y, [0.0], 10, n_copiers=2)
    with pytest.raises(ValueError, match="validation"):
        ex.split_validation(np.arange(10), 3, 5)


@needs_data
def test_real_mnist_shards_and_hashes():
    images, labels = ex.load_images()
    assert images.dtype == np.uint8 and images.shape == (10000, 28, 28) and images.max() == 255
    cs, shards, rest = ex.make_contributors(images, labels, [0.0, 0.5], 50, n_copiers=1, seed=0)
    assert len(rest) == 10000 - sum(c.n_items for c in cs if c.kind != "copier")
    assert len({c.shard_hash for c in cs}) == 3
    assert cs[1].clean_fraction == pytest.approx(0.5, abs=0.03)


def test_buyer_models_train_and_reject_unknown():
    x, y = _images(300, seed=2)
    X = x.reshape(300, -1) / 255.0
    for model in ex.BUYER_MODELS:
        acc, digest = ex.train_buyer_model(model, X[:200], y[:200], X[200:], y[200:], 3, 0)
        assert acc > 0.9 and len(digest) == 64
    with pytest.raises(ValueError, match="buyer model"):
        ex.train_buyer_model("svm", X, y, X, y, 3, 0)

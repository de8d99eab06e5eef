"""repro.market.attacks: every attack of the chain's 04_attacks on a small market is stopped."""
from repro.market import attacks
from repro.market.ledger import Ledger

from .market_fixtures import market  # noqa: F401  (fixture)


def test_every_attack_is_stopped(market):  # noqa: F811
    cs = market["contributors"]
    ctx = {"buyer": "buyer1", "shards": [c.shard_hash for c in cs], "price": 1000, "key": market["key"],
           "paid_receipt": market["jobs"][0]["receipt"], "copy_x": market["shards"]["c0"]["x"],
           "copy_y": market["shards"]["c0"]["y"], "members": list(market["members"]), "beneficiary": "c3",
           "anchor": market["head"]}
    path = market["dir"] / "market.sqlite"
    with Ledger.open(path) as L:
        digest = L.state_digest()
    results = attacks.run_attacks(path, market["dir"] / "attacks", ctx)
    assert [r["attack"] for r in results] == list(attacks.ATTACKS)
    for r in results:
        assert r["stopped"], r
        if r["how"].startswith("rejected"):
            assert r["ledger_unchanged"] and r["still_verifies"] and r["invariants_hold"], r
    rewrite = next(r for r in results if r["attack"] == "rewrite_history")
    assert rewrite["plain_verify_ok"]  # a consistent rewrite passes verify() alone: the anchor is needed
    with Ledger.open(path) as L:
        assert L.state_digest() == digest  # attacks ran on copies


def test_an_unprotected_ledger_would_fail_the_attacks(market, monkeypatch):  # noqa: F811
    """The attack tests can fail: with signature checks switched off, forged receipts pay."""
    import repro.market.settlement as settlement_mod
    monkeypatch.setattr(settlement_mod, "verify_receipt", lambda r, k: True)
    cs = market["contributors"]
    ctx = {"buyer": "buyer1", "shards": [c.shard_hash for c in cs], "price": 1000, "key": market["key"]}
    (res,) = attacks.run_attacks(market["dir"] / "market.sqlite", market["dir"] / "attacks2", ctx, names=["forged_receipt"])
    assert not res["stopped"]

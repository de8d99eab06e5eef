"""repro.market.jobs: the buyer's model, one job end to end, the other rules' values."""
import numpy as np
import pytest

from repro.market import jobs as jobs_mod
from repro.market.ledger import Ledger
from repro.market.receipts import Receipt, verify_receipt

from .market_fixtures import images, market  # noqa: F401  (fixture)


def test_buyer_models_train_and_reject_unknown():
    x, y = images(300, seed=2)
    X = x.reshape(300, -1) / 255.0
    for model in jobs_mod.BUYER_MODELS:
        acc, digest = jobs_mod.train_buyer_model(model, X[:200], y[:200], X[200:], y[200:], 3, 0)
        assert acc > 0.9 and len(digest) == 64
    with pytest.raises(ValueError, match="buyer model"):
        jobs_mod.train_buyer_model("svm", X, y, X, y, 3, 0)


def test_jobs_pay_their_price_by_signed_values(market):  # noqa: F811
    assert all(j["verified"] for j in market["jobs"])
    with Ledger.open(market["dir"] / "market.sqlite") as L:
        paid = L.payments()
    assert sum(p["amount"] for p in paid) == 3 * 1000
    for j in market["jobs"]:
        r = Receipt.from_json(j["receipt"])
        assert verify_receipt(r, market["key"].public_hex) and list(r.values) == j["shard_values"]
        assert sum(j["paid"].values()) == 1000 and j["paid"]["provider-1"] == 100


def test_analyse_job_rules(market):  # noqa: F811
    a = market["analyses"][0]
    sizes = [c.n_items for c in market["contributors"]]
    assert a["uniform"] == sizes
    assert np.isnan(a["shapley_no_copies"][4]) and np.all(np.isfinite(a["shapley_no_copies"][:4]))
    # without the copy its source's value grows (the copy shared it)
    assert a["shapley_no_copies"][0] > market["jobs"][0]["shard_values"][0]

"""repro.market.payouts: dividends by rule, rank correlations, what copies earn."""
import pytest

from repro.market import payouts

from .market_fixtures import market  # noqa: F401  (fixture)


def test_dividends_follow_quality_and_copies_dilute(market):  # noqa: F811
    df = payouts.payouts_by_rule(market["jobs"], market["analyses"], market["contributors"], price=1000, provider_fee=0.1)
    assert (df.filter(like="pay_").drop(columns="pay_shapley_no_copies").sum() == 3 * 900).all()
    assert df.pay_shapley_no_copies.sum() == 3 * 900 and df.set_index("contributor").pay_shapley_no_copies["c4"] == 0
    pay = df.set_index("contributor").pay_shapley
    assert pay["c0"] > pay["c2"] > pay["c3"]
    rho = payouts.rank_correlations(df)
    assert set(rho) == set(payouts.RULES) and rho["shapley"] > 0.7
    (d,) = payouts.duplicate_ratios(df)
    assert d["copier"] == "c4" and d["source"] == "c0"
    assert d["ratio_to_source_alone"] < 0.95 and d["ratio_same_market"] == pytest.approx(1.0, abs=0.15)

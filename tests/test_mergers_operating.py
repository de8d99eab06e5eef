"""Tests of repro.astro.mergers.operating: the shipped classifier's threshold, rates, epochs and card."""
import numpy as np
import pandas as pd
import pytest

from repro.astro.mergers import operating as O


def test_fpr_threshold_leaves_at_most_the_target_share_above():
    rng = np.random.default_rng(0)
    for n in (1, 7, 10, 100, 333):
        s = rng.random(n)
        for target in (0.0, 0.05, 0.1, 0.25, 0.5):
            t = O.fpr_threshold(s, target)
            assert np.mean(s > t) <= target + 1e-12
            # and it is the smallest such score: the next lower score lets one more through
            lower = s[s < t]
            if lower.size:
                assert np.mean(s > lower.max()) > target
    # ties at the threshold are not counted as positives
    assert O.fpr_threshold([0.2, 0.5, 0.5, 0.5], 0.25) == 0.5
    with pytest.raises(ValueError, match="no non-merger"):
        O.fpr_threshold([], 0.1)
    with pytest.raises(ValueError, match="target_fpr"):
        O.fpr_threshold([0.1], 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        O.fpr_threshold([0.1, np.nan], 0.1)


def _preds(shifts, n_neg=20, n_pos=5, seed=0):
    """Held-out predictions of models whose scores are shifted by different calibrations."""
    rng = np.random.default_rng(seed)
    rows = []
    for m, shift in enumerate(shifts):
        neg = np.clip(rng.random(n_neg) * 0.6 + shift, 0, 1)
        pos = np.clip(0.5 + rng.random(n_pos) * 0.5 + shift, 0, 1)
        rows.append(pd.DataFrame({"repeat": m // 5, "fold": m % 5, "y": np.r_[np.zeros(n_neg), np.ones(n_pos)].astype(int),
                                  "p_merger": np.r_[neg, pos]}))
    return pd.concat(rows, ignore_index=True)


def test_operating_point_measures_each_model_with_the_others_threshold():
    preds = _preds([0.0] * 10)
    thr, per = O.operating_point(preds, 0.1)
    assert len(per) == 10 and list(per.columns[:2]) == ["repeat", "fold"]
    assert thr == pytest.approx(np.median(per.own_threshold))
    for _, r in per.iterrows():
        others = per.own_threshold.drop(r.name)
        assert r.others_threshold == pytest.approx(np.median(others))
        g = preds[(preds["repeat"] == r["repeat"]) & (preds["fold"] == r["fold"])]
        assert r.fpr == pytest.approx(np.mean(g.p_merger[g.y == 0] > r.others_threshold))
        assert r.tpr == pytest.approx(np.mean(g.p_merger[g.y == 1] > r.others_threshold))
        assert (r.n_neg, r.n_pos) == (20, 5)


def test_miscalibrated_models_show_in_the_expected_rates():
    calm, _ = O.operating_point(_preds([0.0] * 10), 0.1)
    _, calm_per = O.operating_point(_preds([0.0] * 10), 0.1)
    _, wild_per = O.operating_point(_preds([0.0, 0.3] * 5), 0.1)
    spread = lambda per: per.fpr.max() - per.fpr.min()
    assert spread(wild_per) > spread(calm_per)
    assert wild_per.fpr.max() > 0.3       # a model scoring higher than the others pays in false positives


def test_operating_point_errors():
    one = _preds([0.0])
    with pytest.raises(ValueError, match="at least two"):
        O.operating_point(one, 0.1)
    bad = _preds([0.0, 0.0])
    bad = bad[~((bad.fold == 1) & (bad.y == 1))]
    with pytest.raises(ValueError, match="no held-out mergers"):
        O.operating_point(bad, 0.1)


def test_chosen_epochs_and_precision():
    assert O.chosen_epochs([{"head": 1, "finetune": 4}, {"head": 3, "finetune": 5}]) == {"head": 2, "finetune": 5}
    assert O.chosen_epochs([{"scratch": 0}]) == {"scratch": 1}
    assert O.precision(1.0, 0.0, 0.1) == 1.0
    assert O.precision(0.5, 0.5, 0.2) == pytest.approx(0.2)   # no skill: precision is the prevalence
    assert np.isnan(O.precision(0.0, 0.0, 0.2))
    with pytest.raises(ValueError, match="merger_fraction"):
        O.precision(0.5, 0.1, 0.0)


def test_model_card_holds_the_issue_keys_with_intervals():
    thr, per = O.operating_point(_preds([0.0, 0.1] * 5), 0.1)
    card = O.model_card(thr, per, 0.1, 0.0575, trained_on={"mergers": 115}, epochs={"head": 3, "finetune": 9})
    for k in ("threshold", "expected_false_positive_rate", "expected_true_positive_rate", "expected_precision",
              "trained_on", "epochs", "operating_point"):
        assert k in card
    f = card["expected_false_positive_rate"]
    assert f["interval"][0] <= f["value"] <= f["interval"][1]
    assert f["value"] == pytest.approx(per.fpr.mean(), abs=1e-4)
    p = card["expected_precision"]
    assert p["interval"][0] <= p["value"] <= p["interval"][1]
    assert p["merger_fraction"] == 0.0575

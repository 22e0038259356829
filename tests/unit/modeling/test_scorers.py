"""Candidate scorers: log-odds, contributions that add up, unseen levels, calibration of any of them."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.modeling.classifier import calibrate, training_categories
from supplierrisk.modeling.scorers import BlendScorer, LogisticScorer, TrailingRateScorer, logit


def frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    rate = np.clip(rng.beta(2, 8, size=n), 0.01, 0.99)
    mode = rng.choice(["Air", "Ocean", "Truck"], size=n)
    z = 1.2 * x + 2.0 * (rate - 0.2) + np.where(mode == "Ocean", 0.8, 0.0) - 1.5
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    features = pd.DataFrame({"x": x, "sup_late_rate_365d": rate, "ship_mode": mode})
    features.loc[features.sample(frac=0.1, random_state=seed).index, "x"] = np.nan
    return features, y


def test_logistic_contributions_add_up_to_the_log_odds_less_a_constant() -> None:
    features, y = frame(2000)
    categories = training_categories(features, ["ship_mode"])
    scorer = LogisticScorer(("ship_mode",), seed=0).fit(features, y, categories)
    test, _ = frame(50, seed=1)
    z = scorer.decision_function(test)
    contributions = scorer.contributions(test)
    offset = z - contributions.sum(axis=1).to_numpy()
    assert np.allclose(offset, offset[0])
    assert list(contributions.columns) == list(features.columns)
    # More x raises the log-odds, as generated.
    assert scorer.importance().iloc[0]["feature"] in {"x", "ship_mode"}


def test_logistic_unseen_and_missing_levels_share_the_other_column() -> None:
    features, y = frame(2000)
    scorer = LogisticScorer(("ship_mode",), seed=0).fit(
        features, y, training_categories(features, ["ship_mode"])
    )
    probe = features.iloc[[0, 0, 0]].reset_index(drop=True)
    probe["ship_mode"] = ["Rail", None, "Air"]
    z = scorer.decision_function(probe)
    assert np.isfinite(z).all()
    assert z[0] == pytest.approx(z[1])  # unseen and missing: the same "other" column
    assert z[0] != pytest.approx(z[2])


def test_logistic_design_is_standardised_numerics_then_one_hot_and_other_per_category() -> None:
    features, y = frame(2000)
    features.loc[:4, "ship_mode"] = "Rail"  # rare: below the level-row minimum, so "other"
    scorer = LogisticScorer(("ship_mode",), seed=0).fit(
        features, y, training_categories(features, ["ship_mode"])
    )
    probe, _ = frame(40, seed=2)
    probe.loc[0, "ship_mode"] = "Barge"  # unseen
    probe.loc[1, "ship_mode"] = None
    design, owners = scorer._design(scorer.encode(probe).matrix)
    x = probe["x"].to_numpy()
    known = features["x"].dropna()
    filled = np.where(np.isnan(features["x"]), known.median(), features["x"])
    expected_x = (np.where(np.isnan(x), known.median(), x) - filled.mean()) / filled.std()
    modes = probe["ship_mode"].to_numpy()
    expected = np.column_stack(
        [expected_x, probe["sup_late_rate_365d"].to_numpy()]
        + [modes == level for level in ("Air", "Ocean", "Truck")]
        + [~np.isin(modes, ["Air", "Ocean", "Truck"])]
    )
    rate = features["sup_late_rate_365d"]
    expected[:, 1] = (expected[:, 1] - rate.mean()) / rate.std(ddof=0)
    assert np.allclose(design, expected)
    assert list(design[:2, -1]) == [1, 1]  # unseen and missing: the "other" column only
    assert design[:2, 2:5].sum() == 0
    assert list(owners) == [0, 1, 2, 2, 2, 2]


def test_trailing_rate_raw_is_the_rate_and_fitted_is_monotone() -> None:
    features, y = frame(2000)
    categories = training_categories(features, ["ship_mode"])
    raw = TrailingRateScorer("sup_late_rate_365d", fitted=False).fit(features, y, categories)
    assert np.allclose(
        raw.predict_proba(features)[:, 1], np.clip(features["sup_late_rate_365d"], 1e-4, 1 - 1e-4)
    )
    fitted = TrailingRateScorer("sup_late_rate_365d", fitted=True).fit(features, y, categories)
    order = np.argsort(features["sup_late_rate_365d"].to_numpy())
    assert np.all(np.diff(fitted.decision_function(features)[order]) >= -1e-12)
    contributions = fitted.contributions(features.head(5))
    assert (contributions.drop(columns=["sup_late_rate_365d"]) == 0).all().all()


def test_blend_mixes_log_odds_and_contributions_with_one_weight() -> None:
    features, y = frame(2000)
    categories = training_categories(features, ["ship_mode"])
    logistic = LogisticScorer(("ship_mode",), seed=0).fit(features, y, categories)
    trailing = TrailingRateScorer("sup_late_rate_365d").fit(features, y, categories)
    blend = BlendScorer(weight=0.25).fitted_from(trailing, logistic)
    expected = 0.25 * trailing.decision_function(features) + 0.75 * logistic.decision_function(features)
    assert np.allclose(blend.decision_function(features), expected)
    mixed = 0.25 * trailing.contributions(features) + 0.75 * logistic.contributions(features)
    pd.testing.assert_frame_equal(blend.contributions(features), mixed)


def test_any_scorer_can_be_calibrated_by_sigmoid() -> None:
    features, y = frame(3000)
    scorer = LogisticScorer(("ship_mode",), seed=0).fit(
        features, y, training_categories(features, ["ship_mode"])
    )
    calibrator, method, _ = calibrate(scorer, features, y, ("offset_slope", "sigmoid"))
    assert method == "sigmoid"  # no offset: the offset-slope method does not apply
    p = calibrator.predict_proba(features)[:, 1]
    assert abs(p.mean() - y.mean()) < 0.01
    assert logit(np.array([0.5]))[0] == pytest.approx(0.0)

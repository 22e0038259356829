import numpy as np
import pandas as pd
import pytest

from supplierrisk.modeling.backtest import Examples, Fold
from supplierrisk.modeling.delay import (
    DelayQuantiles,
    backtest_delay,
    fit_delay,
    mixture_quantile,
    quantile_metrics,
    served_delay,
)

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
CONDITIONAL = np.array([[2.0, 4.0, 8.0, 16.0, 32.0]])


@pytest.mark.parametrize(
    ("p_late", "target", "expected"),
    [
        (0.05, 0.9, 0.0),  # P(on time) = .95 >= .9: the P90 is on time
        (0.2, 0.9, 8.0),  # needs the conditional (.9 - .8) / .2 = .5 level
        (0.4, 0.9, 16.0),  # (.9 - .6) / .4 = .75
        (1.0, 0.5, 8.0),  # certainly late: conditional median
        (0.5, 0.5, 0.0),  # exactly half on time
    ],
)
def test_mixture_quantile_by_hand(p_late: float, target: float, expected: float) -> None:
    got = mixture_quantile(np.array([p_late]), CONDITIONAL, LEVELS, target)
    assert got[0] == pytest.approx(expected)


def test_mixture_quantile_clamps_outside_fitted_levels() -> None:
    got = mixture_quantile(np.array([0.15]), CONDITIONAL, LEVELS, 0.9)
    assert got[0] == pytest.approx(4.0 + 4.0 / 3.0)  # needed level 1/3: a third of the way from 4 to 8
    got = mixture_quantile(np.array([0.11]), CONDITIONAL, LEVELS, 0.9)
    assert got[0] == pytest.approx(2.0)  # needed .09 is below the lowest level: clamp


def test_interpolate_levels_at_a_fixed_level() -> None:
    from supplierrisk.modeling.delay import interpolate_levels

    got = interpolate_levels(np.vstack([CONDITIONAL, CONDITIONAL * 2]), LEVELS, 0.625)
    np.testing.assert_allclose(got, [12.0, 24.0])  # half-way between the .5 and .75 levels
    np.testing.assert_allclose(interpolate_levels(CONDITIONAL, LEVELS, 0.99), [32.0])  # clamped


def _late_lines(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Late lines whose delay depends on the ship mode and the lead time, with multiplicative noise."""
    rng = np.random.default_rng(seed)
    mode = rng.choice(["Air", "Ocean"], rows)
    lead = rng.uniform(10, 90, rows)
    typical = np.where(mode == "Air", 3.0, 20.0) * (1 + lead / 90)
    delay = np.ceil(typical * rng.lognormal(0.0, 0.4, rows))
    return pd.DataFrame({"ship_mode": mode, "lead_time_days": lead}), delay


@pytest.mark.parametrize("method", ["residual", "per_level"])
def test_learned_delay_quantiles_follow_the_features_and_cover_new_lines(method: str) -> None:
    X, delay = _late_lines(4000, seed=1)
    model = DelayQuantiles(LEVELS, method=method).fit(X, delay, {"ship_mode": ["Air", "Ocean"]})
    X_new, delay_new = _late_lines(4000, seed=2)
    quantiles = model.predict(X_new)
    assert quantiles.shape == (4000, len(LEVELS))
    assert (np.diff(quantiles, axis=1) >= 0).all()
    air = (X_new["ship_mode"] == "Air").to_numpy()
    assert np.median(quantiles[air, 2]) < np.median(quantiles[~air, 2]) / 3  # Ocean is far later
    metrics = quantile_metrics(delay_new, quantiles, LEVELS)
    for level in LEVELS:
        assert metrics[f"coverage_q{round(level * 100):02d}"] == pytest.approx(level, abs=0.06)
    # Knowing the mode beats one set of quantiles for every line.
    empirical = quantile_metrics(delay_new, model.empirical().predict(X_new), LEVELS)
    assert metrics["pinball_mean"] < 0.8 * empirical["pinball_mean"]


def test_the_residual_method_uses_one_model_for_every_level() -> None:
    X, delay = _late_lines(1000, seed=3)
    model = DelayQuantiles(LEVELS, method="residual").fit(X, delay, {"ship_mode": ["Air", "Ocean"]})
    assert len(model.models_) == 1
    assert model.models_[0].booster_.num_trees() == 50


def test_too_few_late_lines_give_their_empirical_quantiles() -> None:
    X, delay = _late_lines(30, seed=4)
    model = DelayQuantiles(LEVELS).fit(X, delay, {"ship_mode": ["Air", "Ocean"]})
    assert model.models_ == []
    np.testing.assert_allclose(model.predict(X.head(2)), np.tile(np.quantile(delay, LEVELS), (2, 1)))


def test_a_model_pickled_before_the_method_existed_still_predicts_per_level() -> None:
    X, delay = _late_lines(500, seed=5)
    model = DelayQuantiles(LEVELS, method="per_level").fit(X, delay, {"ship_mode": ["Air", "Ocean"]})
    expected = model.predict(X.head(20))
    del model.method  # what an object unpickled from an earlier version lacks
    np.testing.assert_allclose(model.predict(X.head(20)), expected)


def test_quantile_metrics_by_hand() -> None:
    delays = np.array([1.0, 4.0, 10.0])
    predicted = np.array([[2.0, 5.0], [2.0, 5.0], [2.0, 5.0]])
    got = quantile_metrics(delays, predicted, (0.25, 0.75))
    assert got["coverage_q25"] == pytest.approx(1 / 3)  # only 1 <= 2
    assert got["coverage_q75"] == pytest.approx(2 / 3)  # 1 and 4 <= 5
    # q25 losses: (2-1)*.75, (4-2)*.25, (10-2)*.25 -> mean 3.25/3; q75: 4*.25, 1*.25, 5*.75 -> 5/3.
    assert got["pinball_q25"] == pytest.approx(3.25 / 3)
    assert got["pinball_q75"] == pytest.approx(5.0 / 3)
    assert got["pinball_mean"] == pytest.approx((3.25 / 3 + 5.0 / 3) / 2)
    assert got["coverage_abs_error_mean"] == pytest.approx((abs(1 / 3 - 0.25) + abs(2 / 3 - 0.75)) / 2)


def _examples(days: int, seed: int) -> Examples:
    """One late line a day; test-window delays (from day 300) ten times the earlier ones.

    Lines ordered on days 200-279 are 200 days late: known to be late 11 days after ordering,
    delivered after day 400.
    """
    rng = np.random.default_rng(seed)
    order = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(days), unit="D")
    delay = np.where(np.arange(days) >= 300, 50.0, 5.0) + rng.integers(0, 3, days)
    delay[200:280] = 200.0
    promised = order + pd.Timedelta(days=10)
    delivered = promised + pd.to_timedelta(delay, unit="D")
    features = pd.DataFrame({"lead_time_days": rng.uniform(5, 15, days)}, index=np.arange(days))
    aux = pd.DataFrame({"delay_days": delay, "delivered_date": delivered}, index=features.index)
    known = pd.Series(promised + pd.Timedelta(days=1), index=features.index)
    return Examples(features, np.ones(days, dtype=bool), pd.Series(order, index=features.index), known, aux)


def test_backtest_delay_fits_each_fold_on_delays_known_at_its_cutoff() -> None:
    examples = _examples(400, seed=6)
    cutoff = pd.Timestamp("2020-01-01") + pd.Timedelta(days=300)
    fold = Fold(0, cutoff, cutoff - pd.Timedelta(days=20), cutoff, cutoff + pd.Timedelta(days=60))
    table = backtest_delay(examples, [fold], [], LEVELS, "residual")
    assert set(table["method"]) == {"residual", "empirical"}
    # Test delays are ~50 days; trained only on ~5-day delays known at the cut-off, no quantile covers one.
    for level in LEVELS:
        assert (table[f"coverage_q{round(level * 100):02d}"] == 0).all()
    # The 200-day lines are training examples (late is known by the cut-off), but their delays are not.
    train = examples.known_at(cutoff, fold.train_end)
    assert set(range(200, 280)) <= set(train.features.index)
    model = fit_delay(train, cutoff, {}, LEVELS, "residual", 0)
    assert model.fallback_[-1] < 10
    assert model.min_delay_ >= 5
    assert model.predict(train.features).max() < 10


def test_served_delay_keeps_a_learned_model_only_when_it_beats_the_empirical_quantiles() -> None:
    X, delay = _late_lines(300, seed=7)
    model = DelayQuantiles(LEVELS).fit(X, delay, {"ship_mode": ["Air", "Ocean"]})
    better = pd.DataFrame({"method": ["residual", "empirical"], "pinball_mean": [1.0, 2.0]})
    served, note = served_delay(model, better)
    assert served is model
    assert "residual served" in note
    worse = pd.DataFrame({"method": ["residual", "empirical"], "pinball_mean": [2.5, 2.0]})
    served, note = served_delay(model, worse)
    assert served.method == "empirical"
    assert served.models_ == []
    assert "empirical quantiles served" in note
    np.testing.assert_allclose(served.predict(X.head(3)), np.tile(model.fallback_, (3, 1)))

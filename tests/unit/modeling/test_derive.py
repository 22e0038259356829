"""Settings derived from the history: each rule on hand-made cases, and the too-short floor."""

import pandas as pd
import pytest

from supplierrisk.modeling import derive
from supplierrisk.modeling.backtest import InsufficientHistoryError
from supplierrisk.modeling.config import TrainConfig, resolve_backtest, resolve_data_settings


def lines(delays: list[int]) -> pd.DataFrame:
    promised = pd.Timestamp("2024-01-10")
    return pd.DataFrame(
        {
            "supplier_id": "S1",
            "order_date": pd.Timestamp("2024-01-01"),
            "promised_date": promised,
            "delivered_date": [promised + pd.Timedelta(days=d) for d in delays],
        }
    )


@pytest.mark.parametrize(
    ("delays", "days"),
    [
        ([0, 0, 1, 2, 3, 4], 3),  # median 2.5 -> 3 (the floor)
        ([0, 5, 9, 12, 40], 11),  # median of 5, 9, 12, 40 is 10.5 -> 11
        ([60, 90, 120], 30),  # the cap
        ([0, -2, 0], 14),  # no late delivery: the default
    ],
)
def test_severe_delay_is_the_median_delay_of_late_deliveries(delays: list[int], days: int) -> None:
    assert derive.severe_delay_days(lines(delays)).value == days


def test_retail_history_with_short_delays_gets_an_event_that_can_fire() -> None:
    # Delays never above 4 days: a 14-day "severe" would never happen.
    assert derive.severe_delay_days(lines([1, 2, 2, 3, 4, 4])).value == 3


@pytest.mark.parametrize(("span", "horizon"), [(365, 30), (548, 60), (1095, 90), (3000, 90), (100, 30)])
def test_horizon_fits_eight_times_into_the_span(span: int, horizon: int) -> None:
    assert derive.horizon_days(span).value == horizon


def test_snapshots_are_weekly_when_monthly_ones_would_be_few() -> None:
    assert derive.snapshot_frequency(5, 365).value == "W-MON"
    assert derive.snapshot_frequency(500, 1095).value == "MS"


def times(days: int, per_day: int = 3) -> pd.Series:
    start = pd.Timestamp("2022-01-01")
    return pd.Series([start + pd.Timedelta(days=d) for d in range(days) for _ in range(per_day)])


def shape(derived: list[derive.Derived]) -> tuple[int, int, int]:
    values = {d.key: d.value for d in derived}
    return values["backtest.folds"], values["backtest.test_days"], values["backtest.min_train_days"]


def test_eighteen_months_get_three_folds_of_sixty_days() -> None:
    event_time = times(548)
    as_of = event_time.max()
    assert shape(derive.backtest_shape("otd", event_time, as_of, 40, {})) == (3, 60, 253)


def test_long_histories_keep_the_usual_shape_and_given_values_stay() -> None:
    event_time = times(3000)
    as_of = event_time.max()
    assert shape(derive.backtest_shape("otd", event_time, as_of, 60, {})) == (3, 180, 365)
    given = derive.backtest_shape("disruption", event_time, as_of, 104, {"folds": 2, "test_days": 90})
    assert shape(given)[:2] == (2, 90)


def test_sparse_windows_take_fewer_longer_folds_when_that_makes_them_dense() -> None:
    # 0.8 examples a day: 3 folds of 90 days would hold 72 each; 2 folds of 150 days hold 120.
    event_time = times(700, per_day=4)[::5]
    derived = derive.backtest_shape("otd", event_time, event_time.max(), 30, {})
    assert shape(derived)[:2] == (2, 150)
    # Sparser still, no option is dense: the most folds are kept, and the rule says so.
    sparse = times(700, per_day=1)[::3]
    derived = derive.backtest_shape("otd", sparse, sparse.max(), 30, {})
    assert shape(derived)[:2] == (3, 90)
    assert "windows hold only about 30 examples" in derived[0].rule


def test_too_short_a_history_names_the_floor_and_the_keys() -> None:
    event_time = times(100)
    with pytest.raises(InsufficientHistoryError, match="history too short to backtest") as info:
        derive.backtest_shape("otd", event_time, event_time.max(), 30, {})
    assert "backtest.folds" in str(info.value)
    assert "backtest.min_train_days" in str(info.value)


def test_resolved_config_fills_only_what_the_yaml_left_open() -> None:
    history = lines([0, 5, 9, 12, 40])
    config = TrainConfig.model_validate({"model": "disruption", "event": {"horizon_days": 60}})
    resolved, derived = resolve_data_settings(config, history, pd.Timestamp("2024-03-01"))
    assert resolved.severe_delay_days == 11
    assert resolved.event.severe_delay_days == 11  # one threshold for features and event
    assert resolved.horizon_days == 60  # given, not derived
    assert {d.key for d in derived} == {"severe_delay_days", "event.snapshot_frequency"}
    with_gap = resolved.with_values([derive.Derived("backtest.gap_days", 74, "reach")])
    final, shape_derived = resolve_backtest(with_gap, times(900), times(900).max())
    assert final.backtest_shape() == (4, 90, 365) or final.backtest_shape()[0] >= 1
    assert len(shape_derived) == 3


def test_unresolved_settings_say_how_to_resolve_them() -> None:
    with pytest.raises(ValueError, match="not resolved yet"):
        _ = TrainConfig().severe_delay_days
    with pytest.raises(ValueError, match="differ: set one of them"):
        TrainConfig.model_validate({"features": {"severe_delay_days": 7}, "event": {"severe_delay_days": 14}})


def test_test_windows_between_two_snapshot_days_are_not_offered() -> None:
    # Monthly snapshots: a 30-day window from 2 October to 1 November (end excluded) holds none.
    event_time = pd.Series(pd.date_range("2019-01-01", "2021-11-01", freq="MS"))
    as_of = pd.Timestamp("2021-11-01") + pd.Timedelta(days=91)
    given = {"folds": 1, "test_days": 30, "min_train_days": 90}
    with pytest.raises(derive.InsufficientHistoryError, match="history too short to backtest"):
        derive.backtest_shape("disruption", event_time, as_of, 91, given)
    # Left to choose, it takes a window that holds snapshots.
    derived = {d.key: d.value for d in derive.backtest_shape("disruption", event_time, as_of, 91, {})}
    assert derived["backtest.test_days"] > 30

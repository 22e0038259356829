"""Calibration drift: the sequential test on known sequences, the forecasts it reads, its sentences."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.monitoring.alerts import batch_alerts, calibration_sentence, consequence
from supplierrisk.monitoring.calibration import (
    CalibrationSettings,
    calibration_drift,
    change_test,
    segment_test,
    settled_forecasts,
)

COUNTRIES = ["VN", "CN", "IN", "DE"]


def weekly_lines(
    seed: int, weeks: int = 40, shock_from: int | None = None, odds: float = 1.0, who: str = "VN"
):
    """Lines of 60 suppliers over ``weeks`` weeks, late as predicted, or with shocked odds from a week."""
    rng = np.random.default_rng(seed)
    rows = []
    monday = pd.Timestamp("2024-01-01")
    for week in range(weeks):
        n = 120
        supplier = rng.integers(0, 60, n)
        p = rng.uniform(0.05, 0.4, n)
        true = p
        if shock_from is not None and week >= shock_from:
            hit = np.array([COUNTRIES[s % 4] == who for s in supplier]) if who != "all" else np.ones(n, bool)
            shocked_odds = p / (1 - p) * odds
            true = np.where(hit, shocked_odds / (1 + shocked_odds), p)
        rows.append(
            pd.DataFrame(
                {
                    "supplier_id": [f"S{s}" for s in supplier],
                    "supplier_country": [COUNTRIES[s % 4] for s in supplier],
                    "p_late": p,
                    "late": (rng.random(n) < true).astype(float),
                    "week": monday + pd.Timedelta(days=7 * week),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_calibrated_sequences_rarely_alarm() -> None:
    alarms = [calibration_drift(weekly_lines(seed), CalibrationSettings())["alarm"] for seed in range(40)]
    # The family is controlled at 1%; over 40 seeds at most two alarms (a 95% bound of such a rate).
    assert sum(alarms) <= 2


def test_a_country_shock_is_named_with_its_direction_within_a_few_weeks() -> None:
    lines = weekly_lines(1, weeks=34, shock_from=29, odds=3.0)  # five shocked weeks settled
    result = calibration_drift(lines, CalibrationSettings())
    assert result["alarm"]
    top = next(r for r in result["segments"] if r["alarm"])
    assert (top["field"], top["value"], top["direction"]) == ("supplier_country", "VN", "above")
    assert top["test"] == "change"
    assert top["weeks"] <= 6
    sentence = calibration_sentence(top)
    assert sentence.startswith("late lines from suppliers in VN running above the predicted rate")


def test_a_fall_of_all_lines_says_below() -> None:
    lines = weekly_lines(2, weeks=34, shock_from=30, odds=0.25, who="all")
    result = calibration_drift(lines, CalibrationSettings())
    overall = next(r for r in result["segments"] if r["field"] == "all")
    assert overall["alarm"]
    assert overall["direction"] == "below"
    assert "late lines running below the predicted rate" in calibration_sentence(overall)


def test_a_model_off_by_its_usual_swing_is_not_alarmed_on_level() -> None:
    # Late twice as often as predicted from the start: a level, not a change.
    lines = weekly_lines(3, shock_from=0, odds=2.0, who="all")
    swing = segment_test(lines, sorted(lines["week"].unique()), CalibrationSettings(period_sigma=1.2))
    tight = segment_test(lines, sorted(lines["week"].unique()), CalibrationSettings(period_sigma=0.0))
    assert swing is not None
    assert tight is not None
    assert tight["test"] == "level"
    assert tight["p_value"] < 1e-6
    assert swing["p_value"] > 0.05


def test_change_z_by_hand() -> None:
    # Baseline: ten supplier-weeks, each 1 late of 1 expected (ratio 1; phi floored at 1).
    baseline = pd.DataFrame({"observed": [1.0] * 10, "expected": [1.0] * 10})
    recent = pd.DataFrame({"observed": [4.0, 5.0], "expected": [1.5, 1.5]})
    row = change_test(recent, baseline)
    assert row is not None
    # O = 9, E = 3, r = 1: z = (9 - 3) / sqrt(1 * 1 * 3 * (1 + 3/10)).
    assert row["z"] == pytest.approx(6 / np.sqrt(3 * 1.3))
    assert row["ratio"] == pytest.approx(3.0)
    assert row["baseline_ratio"] == pytest.approx(1.0)
    # Too thin a baseline is not judged.
    assert change_test(recent, baseline.head(3)) is None


def test_settled_forecasts_take_the_last_forecast_before_the_due_day() -> None:
    history = pd.DataFrame(
        {
            "po_id": ["A", "B", "C"],
            "line_id": ["1", "1", "1"],
            "supplier_id": ["S", "S", "T"],
            "order_date": pd.to_datetime(["2024-01-01"] * 3),
            "promised_date": pd.to_datetime(["2024-01-17", "2024-01-18", "2024-03-01"]),
            "delivered_date": pd.to_datetime(["2024-01-20", "2024-01-15", None]),
            "supplier_country": ["VN", "VN", "CN"],
        }
    )
    scored = pd.DataFrame(
        {
            "po_id": ["A", "A", "A", "B", "C"],
            "line_id": ["1"] * 5,
            "supplier_id": ["S", "S", "S", "S", "T"],
            "p_late": [0.2, 0.6, 0.9, 0.3, 0.5],
            # A's 2024-01-22 score came after its due day; C is not due yet.
            "as_of": ["2024-01-08", "2024-01-15", "2024-01-22", "2024-01-08", "2024-01-15"],
            "promised_date": pd.to_datetime(["2024-01-17"] * 3 + ["2024-01-18", "2024-03-01"]),
        }
    )
    lines = settled_forecasts(scored, history, pd.Timestamp("2024-02-01"), tolerance_days=0)
    got = lines.set_index("po_id")
    assert sorted(got.index) == ["A", "B"]
    assert got.loc["A", "p_late"] == 0.6
    assert got.loc["A", "late"] == 1.0
    assert got.loc["B", "late"] == 0.0
    assert got.loc["A", "supplier_country"] == "VN"
    assert got.loc["A", "week"] == pd.Timestamp("2024-01-15")


def test_alerts_put_calibration_first_and_recommend_a_retrain() -> None:
    row = {
        "field": "supplier_country",
        "value": "VN",
        "test": "change",
        "weeks": 5,
        "ratio": 2.3,
        "baseline_ratio": 1.0,
        "baseline_weeks": 26,
        "direction": "above",
        "p_value": 0.0004,
        "alarm": True,
    }
    feature = {
        "feature": "promised_lead_time_days",
        "unit": "line",
        "kind": "numerical",
        "drifted": True,
        "p_value": 0.002,
        "effective_sample": 140,
        "change": {
            "reference_median": 50.0,
            "current_median": 41.0,
            "reference_mean": 55.0,
            "current_mean": 44.0,
        },
    }
    summary = {
        "calibration": {"otd": {"segments": [row]}},
        "otd": {"alert": True, "features": [feature], "reference": {"label": "the last 8 batches"}},
    }
    alerts = batch_alerts(summary)
    assert [a["kind"] for a in alerts] == ["calibration", "feature"]
    assert alerts[0]["sentence"] == (
        "late lines from suppliers in VN running above the predicted rate: 2.30× for 5 weeks,"
        " up from 1.00× over the 26 weeks before (p < 0.001)"
    )
    assert alerts[1]["sentence"] == (
        "promised_lead_time_days: median down 18% (50 → 41), against the last 8 batches"
        " (p = 0.002, effective sample 140 lines)"
    )
    assert consequence(alerts) == "retrain recommended"
    assert consequence(alerts[1:]) == "watch"
    assert consequence([]) == "none"

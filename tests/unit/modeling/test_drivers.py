"""Driver sentences: the supplier's own numbers, peer medians, and the top contributions first."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.modeling.drivers import category_medians, describe, explain_rows, recent_change

ROW = pd.Series(
    {
        "main_category": "ARV",
        "supplier_country": "India",
        "sup_severe_lines_90d": 4.0,
        "sup_late_rate_90d": 0.25,
        "sup_late_rate_180d": 0.25,
        "sup_late_lines_90d": 12.0,
        "sup_known_lines_90d": 48.0,
        "sup_lead_time_std_change_90d_vs_365d": 0.6,
        "sup_open_lines": 32.0,
        "sup_overdue_lines": 9.0,
        "sup_days_since_severe": np.nan,
        "sup_main_category_spend_share_365d": 0.4,
        "category_severe_rate_365d": 0.05,
        "sup_delay_p90_days_365d": 14.0,
        "mystery_feature": 1.23456,
    }
)


@pytest.mark.parametrize(
    ("feature", "median", "expected"),
    [
        ("sup_severe_lines_90d", 0.0, "4 deliveries ≥14 days late in the last 90 days (category median: 0)"),
        (
            "sup_late_rate_90d",
            0.1,
            "on-time delivery 75% over the last 90 days (12 of 48 lines late)",
        ),
        ("sup_lead_time_std_change_90d_vs_365d", np.nan, "lead-time variability up 60% on its 1-year level"),
        (
            "sup_late_rate_180d",
            0.1,
            "estimated on-time delivery 75% over the last 180 days (category median: 90%)",
        ),
        ("sup_open_lines", np.nan, "32 open lines, 9 already overdue"),
        ("sup_overdue_lines", np.nan, "32 open lines, 9 already overdue"),
        ("sup_days_since_severe", np.nan, "no ≥14-day delay on record"),
        ("sup_main_category_spend_share_365d", np.nan, "40% of the last year's spend in ARV"),
        (
            "category_severe_rate_365d",
            np.nan,
            "ARV: 5% of lines ≥14 days late across suppliers over the last year",
        ),
        (
            "sup_delay_p90_days_365d",
            np.nan,
            "1 in 10 deliveries at least 14 days late over the last 365 days",
        ),
        ("supplier_country", np.nan, "country India"),
        ("mystery_feature", np.nan, "mystery feature = 1.23"),
    ],
)
def test_sentences(feature: str, median: float, expected: str) -> None:
    assert describe(feature, ROW, median) == expected


def test_recent_change_compares_the_recent_late_share_with_the_longest_window() -> None:
    # 12 of 48 lines late in 90 days; the longest late-rate window in the row (180 days) is the usual.
    row = ROW.copy()
    row["sup_late_rate_180d"] = 0.08
    expected = "late share 25% over the last 90 days (12 of 48 lines) against a usual 8%"
    assert recent_change(row, 90) == expected
    unknown = recent_change(row.drop("sup_known_lines_90d"), 90)
    assert unknown.startswith("no outcome known in the last 90 days")


def test_severe_threshold_follows_the_config() -> None:
    assert describe("sup_severe_lines_90d", ROW, severe_days=7).startswith("4 deliveries ≥7 days late")


def test_explain_rows_ranks_by_contribution_and_merges_shared_sentences() -> None:
    features = pd.DataFrame([ROW, ROW.copy()], index=["a", "b"])
    features.loc["b", "main_category"] = "HRDT"
    features.loc["b", "sup_severe_lines_90d"] = 0.0
    contributions = pd.DataFrame(
        {
            "sup_open_lines": [0.9, 0.1],
            "sup_overdue_lines": [0.8, 0.0],
            "sup_severe_lines_90d": [0.5, -0.4],
            "sup_late_rate_90d": [0.1, 0.2],
            "supplier_country": [-0.2, 0.05],
        },
        index=["a", "b"],
    )
    medians = category_medians(features)
    out = explain_rows(contributions, features, medians)
    # Open and overdue lines make one sentence, so the third driver is the next fact.
    assert out.loc["a", "driver_1"] == "32 open lines, 9 already overdue"
    assert out.loc["a", "driver_2"].startswith("4 deliveries ≥14 days late")
    assert out.loc["a", "driver_2"].endswith("(category median: 4)")
    assert out.loc["a", "driver_3"].startswith("on-time delivery 75%")
    assert [d["feature"] for d in out.loc["b", "drivers"]] == [
        "sup_late_rate_90d",
        "sup_open_lines",
        "supplier_country",
    ]
    assert out.loc["a", "drivers"][0]["contribution"] == pytest.approx(0.9)
    assert out.loc["a", "drivers"][0]["value"] == 32.0


LINE = pd.Series(
    {
        "promised_lead_time_days": 30.0,
        "promised_vs_usual_lead_time_ratio": 0.5,
        "promised_vs_usual_promise_ratio": np.nan,
        "log_quantity_vs_usual": np.log(3.0),
        "days_to_quarter_end": 1.0,
        "promised_month": 12.0,
        "global_late_rate_365d": 0.2,
        "sup_lead_time_mean_days_365d": 41.6,
        "ship_mode": "Air",
        "incoterm": None,
        "category": "ARV",
        "mode_late_rate_365d": 0.3,
    }
)


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ("promised_lead_time_days", "promised 30 days after the order"),
        (
            "promised_vs_usual_lead_time_ratio",
            "promised lead time is 0.5× the supplier's usual actual lead time on this lane",
        ),
        ("promised_vs_usual_promise_ratio", "no usual promised lead time to compare the promise with"),
        ("log_quantity_vs_usual", "order quantity is 3× the supplier's usual"),
        ("days_to_quarter_end", "promised 1 day before the quarter ends"),
        ("promised_month", "promised in December"),
        ("global_late_rate_365d", "all suppliers: on-time delivery 80% over the last 365 days"),
        ("sup_lead_time_mean_days_365d", "mean actual lead time 42 days over the last 365 days"),
        ("ship_mode", "ship mode Air"),
        ("incoterm", "incoterm not given"),
        ("mode_late_rate_365d", "Air: on-time delivery 70% across suppliers over the last year"),
    ],
)
def test_line_feature_sentences(feature: str, expected: str) -> None:
    assert describe(feature, LINE) == expected

"""Performance monitoring by hand: which predictions have outcomes, realised rates and degradation."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.labels import DisruptionEvent
from supplierrisk.monitoring.performance import (
    calibration_by_decile,
    check_lines,
    check_suppliers,
    degradation,
)


def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "po_id": ["P1", "P2", "P3", "P4"],
            "line_id": ["1", "1", "1", "1"],
            "supplier_id": ["A", "A", "B", "B"],
            "order_date": pd.to_datetime(["2024-01-01"] * 4),
            "promised_date": pd.to_datetime(["2024-02-01", "2024-02-01", "2024-02-01", "2024-05-01"]),
            "delivered_date": pd.to_datetime(["2024-01-30", "2024-02-20", None, None]),
        }
    )


def test_lines_with_known_outcomes_are_checked() -> None:
    scored = pd.DataFrame(
        {"po_id": ["P1", "P2", "P3", "P4"], "line_id": ["1"] * 4, "p_late": [0.1, 0.8, 0.6, 0.3]}
    )
    out = check_lines(scored, history(), pd.Timestamp("2024-03-01"), 0)
    # P1 on time, P2 late (delivered), P3 late (open past due); P4 not due yet: unknown.
    assert out["scored"] == 4
    assert out["outcome_known"] == 3
    assert out["realised_rate"] == pytest.approx(2 / 3)
    assert out["predicted_mean"] == pytest.approx(0.5)
    assert out["roc_auc"] == 1.0
    assert out["brier"] == pytest.approx((0.1**2 + 0.2**2 + 0.4**2) / 3)
    before = check_lines(scored, history(), pd.Timestamp("2024-01-15"), 0)
    assert before["outcome_known"] == 0


def test_supplier_events_wait_for_the_horizon_to_settle() -> None:
    scored = pd.DataFrame({"supplier_id": ["A", "B"], "p_disruption": [0.2, 0.9]})
    as_of = pd.Timestamp("2024-01-15")
    event = DisruptionEvent(kind="any_severe")
    early = check_suppliers(scored, history(), pd.Timestamp("2024-03-01"), as_of, event)
    assert early["n"] == 0
    assert early["settles_on"] == "2024-04-28"
    settled = check_suppliers(scored, history(), pd.Timestamp("2024-06-01"), as_of, event)
    # A: P2 19 days late (severe). B: P3 never delivered (severe). Both disrupted: a single class.
    assert settled["positives"] == 2
    assert "single class" in settled["note"]


def test_degradation_margins() -> None:
    backtest = {"roc_auc": 0.80, "brier": 0.10}
    assert degradation({"roc_auc": 0.76, "brier": 0.11}, backtest, 0.05, 0.02) == []
    reasons = degradation({"roc_auc": 0.70, "brier": 0.13}, backtest, 0.05, 0.02)
    assert len(reasons) == 2
    assert reasons[0].startswith("AUC 0.700 below")


def test_calibration_by_decile_counts_every_row() -> None:
    p = np.linspace(0, 1, 50)
    table = calibration_by_decile((p > 0.5).astype(int), p)
    assert table["count"].sum() == 50
    assert len(table) == 10
    assert table["observed"].is_monotonic_increasing

"""The retrain policy: when a drift alert, degraded past batches or an old champion call for retraining."""

from __future__ import annotations

from typing import Any

import pandas as pd

from supplierrisk.settings import Settings


def retrain_policy(
    settings: Settings,
    drift: dict[str, Any],
    performance: dict[str, Any] | None,
    trained_as_of: dict[str, str],
    as_of: pd.Timestamp,
) -> dict[str, Any]:
    """Recommend a retrain on a calibration alarm, degraded past performance, or an old champion.

    Feature drift alone is a reason to watch, not to retrain: it explains a calibration alarm.
    """
    reasons = []
    calibration = [a for a in drift.get("alerts", []) if a.get("kind") == "calibration"]
    if calibration:
        reasons.append(f"calibration alarm: {calibration[0]['sentence']}")
    if performance and performance.get("degraded"):
        reasons.append("past batches degraded beyond the margins")
    for name, trained in trained_as_of.items():
        if trained:
            age = (as_of - pd.Timestamp(trained)).days
            if age > settings.retrain_max_model_age_days:
                reasons.append(f"{name} champion trained {age} days before the batch")
    return {
        "recommended": bool(reasons),
        "reasons": reasons,
        "max_model_age_days": settings.retrain_max_model_age_days,
    }

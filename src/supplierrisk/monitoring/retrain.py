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
    """Recommend a retrain on a drift alert, degraded past performance, or a champion older than the limit."""
    reasons = []
    if drift.get("alert"):
        reasons.append("drift alert")
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

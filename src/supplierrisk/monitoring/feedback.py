"""Performance feedback: every published batch against the outcomes the store knows now."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from supplierrisk.batch import folders
from supplierrisk.labels import DisruptionEvent
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.monitoring.performance import check_lines, check_suppliers, degradation
from supplierrisk.settings import Settings
from supplierrisk.storage import write_text
from supplierrisk.tracking import run_config, run_metrics

MONITOR_REPORT = "monitor.json"


def _backtest(client: Any, run_id: str) -> dict[str, float]:
    metrics = run_metrics(client, run_id)
    return {
        # The served candidate's backtest (runs before candidates existed logged the model's only).
        "roc_auc": metrics.get("served_mean_roc_auc", metrics.get("mean_roc_auc", float("nan"))),
        "brier": metrics.get("served_mean_brier", metrics.get("mean_brier", float("nan"))),
    }


def _event_of(client: Any, run_id: str, on_time_tolerance_days: int) -> DisruptionEvent:
    """The disruption event a run was trained on (its logged, resolved config)."""
    logged = run_config(client, run_id) or {"model": "disruption"}
    return TrainConfig.model_validate(logged).event_definition(on_time_tolerance_days)


def check_published_batches(
    settings: Settings, history: pd.DataFrame, now: pd.Timestamp, client: Any
) -> dict[str, Any]:
    """Check every published batch against the outcomes ``history`` knows at ``now``; write the report."""
    rows = []
    for m in folders.list_batches(settings.batches_dir):
        folder = settings.batches_dir / m["batch_id"]
        as_of = pd.Timestamp(m["as_of"])
        if as_of >= now:
            continue
        otd, disruption = m["models"]["otd"], m["models"]["disruption"]
        lines = check_lines(
            pd.read_parquet(folder / "open_lines.parquet"), history, now, settings.on_time_tolerance_days
        )
        event = _event_of(client, disruption["run_id"], settings.on_time_tolerance_days)
        suppliers = check_suppliers(pd.read_parquet(folder / "suppliers.parquet"), history, now, as_of, event)
        for model, info, observed in (("otd", otd, lines), ("disruption", disruption, suppliers)):
            backtest = _backtest(client, info["run_id"])
            reasons = degradation(
                observed, backtest, settings.monitor_auc_margin, settings.monitor_brier_margin
            )
            rows.append(
                {
                    "batch_id": m["batch_id"],
                    "as_of": m["as_of"],
                    "model": model,
                    "version": info["version"],
                    **{k: v for k, v in observed.items() if k != "calibration"},
                    "calibration": observed.get("calibration", []),
                    "backtest_roc_auc": backtest["roc_auc"],
                    "backtest_brier": backtest["brier"],
                    "degraded": bool(reasons),
                    "reasons": reasons,
                }
            )
    report = {
        "checked_at": now.date().isoformat(),
        "margins": {"auc": settings.monitor_auc_margin, "brier": settings.monitor_brier_margin},
        "degraded": any(r["degraded"] for r in rows),
        "batches": rows,
    }
    write_text(json.dumps(report, indent=2, default=str), settings.reports_dir / MONITOR_REPORT)
    return report

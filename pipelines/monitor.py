"""Monitoring jobs: past batches against realised outcomes, and the drift summary, in words."""

from __future__ import annotations

from typing import Any

import pandas as pd

from supplierrisk.features import latest_day
from supplierrisk.monitoring.feedback import check_published_batches
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store
from supplierrisk.tracking import connect


def run_monitor(
    settings: Settings,
    history: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    client: Any | None = None,
) -> dict[str, Any]:
    """Check every published batch against the outcomes the store knows now; write and return the report."""
    history = load_store(settings.store_path) if history is None else history
    now = latest_day(history) if now is None else pd.Timestamp(now).normalize()
    return check_published_batches(settings, history, now, connect(settings) if client is None else client)


def format_monitor(report: dict[str, Any]) -> str:
    """One line per batch and model: what was predicted, what happened, against the backtest."""
    if not report["batches"]:
        return "no published batch is older than the data yet: run 'supplierrisk score' first"
    frame = pd.DataFrame(report["batches"])
    columns = [
        c
        for c in (
            "as_of",
            "model",
            "version",
            "scored",
            "n",
            "predicted_mean",
            "realised_rate",
            "roc_auc",
            "backtest_roc_auc",
            "brier",
            "backtest_brier",
            "degraded",
        )
        if c in frame
    ]
    text = frame[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}")
    flagged = [
        f"{r['as_of']} {r['model']}: {'; '.join(r['reasons'])}" for r in report["batches"] if r["reasons"]
    ]
    return "\n".join([f"checked against outcomes known on {report['checked_at']}", text, *flagged])


def format_drift(summary: dict[str, Any]) -> str:
    """The drift summary in words: the alerts first, then a few lines per model."""
    verdict = "ALERT" if summary["alert"] else "no alert"
    lines = [
        f"drift of the batch as of {summary['batch_as_of']}: {verdict} ({summary.get('consequence', '-')})"
    ]
    lines += [
        f"  - [{a['model']}, {a['kind']}; {a['consequence']}] {a['sentence']}"
        for a in summary.get("alerts", [])
    ]
    calibration = summary.get("calibration", {}).get("otd")
    if calibration:
        lines.append(
            f"  calibration: {calibration.get('segments_tested', 0)} segments tested over"
            f" {calibration.get('settled_lines', 0)} settled lines"
            + (
                f" (up to the week of {calibration['last_settled_week']})"
                if "last_settled_week" in calibration
                else ""
            )
            + (f"; {calibration['note']}" if calibration.get("note") else "")
        )
    for name in ("otd", "disruption"):
        section = summary.get(name, {})
        if "features_compared" not in section:
            lines.append(f"  {name}: {section.get('skipped', 'not computed')}")
            continue
        prediction = section["prediction"]
        beside = section.get("against_training") or {}
        lines += [
            f"  {name}: {section['features_drifted']} of {section['features_compared']} features drifted"
            f" against {section['reference']['label']} (false-alarm rate {section['false_alarm_rate']:.0%})"
            + (
                f"; against training {beside['features_drifted']} of {beside['features_compared']}"
                if beside
                else ""
            ),
            f"    scores: PSI {prediction['psi']:.3f}, mean {prediction['reference_mean']:.3f} ->"
            f" {prediction['batch_mean']:.3f}",
            f"    new suppliers since training: {section['unseen']['new_suppliers']};"
            f" unseen categorical values: "
            + (
                ", ".join(f"{k} {v:.1%}" for k, v in section["unseen"]["unseen_share"].items() if v > 0)
                or "none"
            ),
        ]
    performance = summary.get("performance")
    if performance:
        lines.append(
            f"  performance of past batches: {'DEGRADED' if performance['degraded'] else 'within margins'}"
        )
    policy = summary.get("retrain")
    if policy:
        verdict = "recommended" if policy["recommended"] else "not needed"
        lines.append(f"  retrain: {verdict} ({'; '.join(policy['reasons']) or 'no trigger'})")
    return "\n".join(lines)

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
    """The drift summary in a few lines per model."""
    lines = [
        f"drift of the batch as of {summary['batch_as_of']}: {'ALERT' if summary['alert'] else 'no alert'}"
    ]
    for name in ("otd", "disruption"):
        section = summary.get(name, {})
        if "share_drifted" not in section:
            lines.append(f"  {name}: {section.get('skipped', 'not computed')}")
            continue
        drifted = [f["feature"] for f in section["features"] if f["drifted"]]
        prediction = section["prediction"]
        lines += [
            f"  {name}: {section['features_drifted']} of {section['features_compared']} features drifted"
            f" ({section['share_drifted']:.0%}; alert from {section['alert_share']:.0%})",
            f"    scores: PSI {prediction['psi']:.3f} (drift from {prediction['threshold']}),"
            f" mean {prediction['reference_mean']:.3f} -> {prediction['batch_mean']:.3f}",
            f"    new suppliers since training: {section['unseen']['new_suppliers']};"
            f" unseen categorical values: "
            + (
                ", ".join(f"{k} {v:.1%}" for k, v in section["unseen"]["unseen_share"].items() if v > 0)
                or "none"
            ),
            "    drifted: "
            + (", ".join(drifted[:15]) + (" ..." if len(drifted) > 15 else "") if drifted else "none"),
        ]
        if section.get("note"):
            lines.append(f"    note: {section['note']}")
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

"""Monitoring jobs: past batches against realised outcomes, the drift summary, and the retrain policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from supplierrisk import batchstore
from supplierrisk.features import latest_day
from supplierrisk.labels import DisruptionEvent
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.monitor import check_lines, check_suppliers, degradation
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store, write_text
from supplierrisk.tracking import connect, run_config, run_metrics

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


def run_monitor(
    settings: Settings,
    history: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    client: Any | None = None,
) -> dict[str, Any]:
    """Check every published batch against the outcomes the store knows now; write and return the report."""
    history = load_store(settings.store_path) if history is None else history
    now = latest_day(history) if now is None else pd.Timestamp(now).normalize()
    client = connect(settings) if client is None else client
    rows = []
    for m in batchstore.list_batches(settings.batches_dir):
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


def latest_drift(settings: Settings, as_of: pd.Timestamp | None = None) -> dict[str, Any]:
    """The drift summary of the latest batch, or of the latest batch for ``as_of``."""
    root = settings.batches_dir
    if as_of is None:
        folder = batchstore.latest_batch(root)
    else:
        matching = [m for m in batchstore.list_batches(root) if m["as_of"] == as_of.date().isoformat()]
        folder = root / matching[-1]["batch_id"] if matching else None
    if folder is None:
        when = "" if as_of is None else f" for {as_of.date()}"
        raise FileNotFoundError(f"no published batch{when}: run 'supplierrisk score' first")
    return dict(json.loads((folder / batchstore.DRIFT_JSON).read_text(encoding="utf-8")))


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


def monitor_path(settings: Settings) -> Path:
    """Where the latest monitoring report is written."""
    return settings.reports_dir / MONITOR_REPORT

"""Batch scoring job: champions in, an immutable versioned batch out (folder, database, MLflow run).

Wires the library: the store and the as-of, the champions from the registry, the
checks (``supplierrisk.monitoring.checks``), the publish sequence
(``supplierrisk.batch.publish``) and the MLflow run (``supplierrisk.tracking``).
Each failure the scheduler must tell apart has its own exception and exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from supplierrisk.batch import folders
from supplierrisk.batch.compute import BatchTables
from supplierrisk.batch.publish import BatchReport, Champions, Pause, Progress, publish_batch
from supplierrisk.features import resolve_as_of
from supplierrisk.monitoring.checks import check_batch, drift_headline
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store_fingerprinted
from supplierrisk.tracking import (
    CHAMPION,
    DISRUPTION_MODEL_NAME,
    OTD_MODEL_NAME,
    connect,
    load_model,
    log_batch_run,
)


def _model_info(version: Any) -> dict[str, str]:
    return {"name": str(version.name), "version": str(version.version), "run_id": str(version.run_id)}


def run_score(
    settings: Settings,
    as_of: pd.Timestamp | None,
    keep: int | None = None,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
    pause: Pause | None = None,
) -> BatchReport:
    """Score everything at ``as_of`` (default: the store's last day) with the champions and publish."""
    say = progress or (lambda stage, fields: None)
    history, fingerprint = load_store_fingerprinted(settings.store_path)
    resolved = resolve_as_of(history, as_of, settings.batch_max_days_after_data)
    if announce is not None and resolved.defaulted:
        announce(resolved.note())
    client = connect(settings)
    otd_model, otd_version = load_model(client, OTD_MODEL_NAME, CHAMPION)
    disruption_model, disruption_version = load_model(client, DISRUPTION_MODEL_NAME, CHAMPION)
    models = {"otd": _model_info(otd_version), "disruption": _model_info(disruption_version)}
    say("models", {"otd": models["otd"]["version"], "disruption": models["disruption"]["version"]})

    def check(tables: BatchTables, folder: Path) -> tuple[dict[str, Any], dict[str, float]]:
        summary = check_batch(settings, client, tables, history, models, otd_model, disruption_model, folder)
        return summary, drift_headline(summary)

    champions = Champions(otd_model, disruption_model, models)
    report = publish_batch(
        settings, history, resolved.day, champions, check, keep, progress, pause, fingerprint=fingerprint
    )
    final = report.folder
    artifacts = [final / folders.MANIFEST, final / folders.DRIFT_JSON, final / folders.DRIFT_HTML]
    drift = json.loads((final / folders.DRIFT_JSON).read_text(encoding="utf-8"))
    log_batch_run(
        settings,
        client,
        report.manifest,
        report.published,
        report.warnings,
        artifacts,
        drift.get("alerts", []),
    )
    return report

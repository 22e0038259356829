"""Batch scoring job: champions in, an immutable versioned batch out (folder, database, MLflow run).

Stages: check inputs, take the lock, score and roll up (library), write the
files into a temporary folder, publish it with a rename, store the tables in the
results database, point LATEST at it, log the MLflow run, apply retention.
Each failure the scheduler must tell apart has its own exception and exit code.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from pipelines.monitor import retrain_policy, run_monitor
from supplierrisk import batchstore, results
from supplierrisk.batch import TABLES, BatchTables, batch_id, compute_batch, manifest
from supplierrisk.drift import drift_section, unseen_values
from supplierrisk.features import resolve_as_of
from supplierrisk.kpis import kpi_params
from supplierrisk.logs import collected_warnings
from supplierrisk.settings import Settings
from supplierrisk.storage import data_fingerprint, load_store, write_parquet, write_text
from supplierrisk.tracking import (
    CHAMPION,
    DISRUPTION_MODEL_NAME,
    OTD_MODEL_NAME,
    connect,
    ensure_experiment,
    load_model,
)

BATCH_EXPERIMENT = "batch-scoring"
Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class ScoreReport:
    """What a batch run did."""

    batch_id: str
    folder: Path
    published: bool
    manifest: dict[str, Any]
    pruned: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    retrain: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def format_text(self) -> str:
        """A short summary for the terminal and logs."""
        m = self.manifest
        state = "published" if self.published else "identical to the batch already published (kept)"
        lines = [
            f"batch {self.batch_id} as of {m['as_of']}: {state}",
            f"  folder:   {self.folder}",
            f"  models:   otd v{m['models']['otd']['version']},"
            f" disruption v{m['models']['disruption']['version']}",
            f"  rows:     {m['rows_read']} read; scored {m['rows_scored']['open_lines']} open lines and"
            f" {m['rows_scored']['suppliers']} suppliers",
            "  skipped:  " + "; ".join(f"{n} {reason}" for reason, n in m["rows_skipped"].items()),
            "  seconds:  " + ", ".join(f"{k} {v:.1f}" for k, v in m["durations_seconds"].items()),
        ]
        if self.pruned:
            lines.append(f"  removed old batches: {', '.join(self.pruned)}")
        lines.extend(f"  note:     {note}" for note in m.get("notes", []))
        return "\n".join(lines)


def _pause_for_tests(stage: str) -> None:
    # A chaos hook for the crash tests: stop here long enough to be killed (never set in production).
    if os.environ.get("SUPPLIERRISK_BATCH_PAUSE_AFTER") == stage:
        marker = os.environ.get("SUPPLIERRISK_BATCH_PAUSE_MARKER")
        if marker:
            Path(marker).write_text(stage, encoding="utf-8")
        time.sleep(600)


def _model_info(version: Any) -> dict[str, str]:
    return {"name": str(version.name), "version": str(version.version), "run_id": str(version.run_id)}


def _write_files(folder: Path, tables: BatchTables) -> list[str]:
    names = []
    for name in TABLES:
        write_parquet(tables.tables[name], folder / f"{name}.parquet")
        names.append(f"{name}.parquet")
    return names


def _trained_as_of(client: Any, info: dict[str, str]) -> str:
    return str(client.get_run(info["run_id"]).data.tags.get("training_as_of", ""))


def _reference(client: Any, run_id: str) -> pd.DataFrame:
    return pd.read_parquet(client.download_artifacts(run_id, "reference.parquet"))


def _drift(
    settings: Settings,
    client: Any,
    tables: BatchTables,
    history: pd.DataFrame,
    otd: tuple[Any, dict[str, str]],
    disruption: tuple[Any, dict[str, str]],
    folder: Path,
) -> dict[str, Any]:
    """Drift of both models' scoring features and scores against their champions' references."""
    first_order = history.groupby("supplier_id", observed=True)["order_date"].min()
    sections: dict[str, Any] = {}
    for name, (model, info), batch_features, scores, html in (
        ("otd", otd, tables.features["otd"], tables.tables["open_lines"]["p_late"], batchstore.DRIFT_HTML),
        (
            "disruption",
            disruption,
            tables.features["disruption"],
            tables.tables["suppliers"]["p_disruption"],
            batchstore.DRIFT_SUPPLIERS_HTML,
        ),
    ):
        if len(batch_features) == 0:
            sections[name] = {"skipped": "nothing scored in this batch"}
            continue
        suppliers = tables.tables["open_lines" if name == "otd" else "suppliers"]["supplier_id"]
        if suppliers.nunique() < settings.drift_min_suppliers:
            # The effective sample of a batch is its number of suppliers: a handful cannot show drift.
            sections[name] = {
                "skipped": f"only {suppliers.nunique()} suppliers in this batch, too few to judge drift"
                f" (SUPPLIERRISK_DRIFT_MIN_SUPPLIERS={settings.drift_min_suppliers})"
            }
            continue
        reference = _reference(client, info["run_id"])
        unseen = unseen_values(batch_features, model.categories, suppliers, first_order, model.training_as_of)
        section, report = drift_section(
            reference,
            batch_features,
            list(model.categories),
            model.feature_names,
            model.predict_proba(reference),
            scores.to_numpy(dtype=float),
            unseen,
            int(suppliers.nunique()),
            settings.drift_alert_share,
            settings.drift_threshold,
            settings.drift_sample_rows,
        )
        report.save_html(folder / html)
        sections[name] = section
    alert = any(bool(s.get("alert")) for s in sections.values())
    return {"batch_as_of": tables.as_of.date().isoformat(), "alert": alert, **sections}


def _drift_and_policy(
    settings: Settings,
    client: Any,
    tables: BatchTables,
    history: pd.DataFrame,
    models: dict[str, dict[str, str]],
    otd_model: Any,
    disruption_model: Any,
    folder: Path,
) -> dict[str, Any]:
    """Drift, the feedback loop on earlier batches, and the retrain policy; written as drift.json."""
    clock = time.perf_counter()
    drift = _drift(
        settings,
        client,
        tables,
        history,
        (otd_model, models["otd"]),
        (disruption_model, models["disruption"]),
        folder,
    )
    tables.durations["drift"] = round(time.perf_counter() - clock, 3)
    drift["performance"] = run_monitor(settings, history, tables.as_of, client)
    trained = {name: _trained_as_of(client, info) for name, info in models.items()}
    drift["retrain"] = retrain_policy(settings, drift, drift["performance"], trained, tables.as_of)
    write_text(json.dumps(drift, indent=2, sort_keys=True, default=str), folder / batchstore.DRIFT_JSON)
    return drift


def drift_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The drift summary's headline numbers (for the manifest and the MLflow run)."""
    out: dict[str, float] = {
        "drift_alert": float(bool(summary.get("alert"))),
        "retrain_recommended": float(bool(summary.get("retrain", {}).get("recommended"))),
        "past_batches_degraded": float(bool(summary.get("performance", {}).get("degraded"))),
    }
    for name in ("otd", "disruption"):
        section = summary.get(name, {})
        if "share_drifted" in section:
            out[f"drift_{name}_share_drifted"] = float(section["share_drifted"])
            out[f"drift_{name}_prediction_psi"] = float(section["prediction"]["psi"])
            out[f"drift_{name}_new_supplier_share"] = float(section["unseen"]["new_supplier_share"])
    return out


def _log_run(settings: Settings, client: Any, report: ScoreReport, extra_artifacts: list[Path]) -> None:
    experiment = ensure_experiment(client, BATCH_EXPERIMENT, settings)
    m = report.manifest
    with mlflow.start_run(experiment_id=experiment, run_name=f"batch-{m['as_of']}"):
        mlflow.set_tags(
            {"batch_id": report.batch_id, "as_of": m["as_of"], "published": str(report.published)}
        )
        mlflow.log_params(
            {
                "as_of": m["as_of"],
                "otd_version": m["models"]["otd"]["version"],
                "disruption_version": m["models"]["disruption"]["version"],
                "data_sha256": m["data"]["sha256"],
            }
        )
        metrics = {
            "rows_read": m["rows_read"],
            "open_lines_scored": m["rows_scored"]["open_lines"],
            "suppliers_scored": m["rows_scored"]["suppliers"],
        }
        metrics.update({f"seconds_{k}": v for k, v in m["durations_seconds"].items()})
        metrics.update({k: v for k, v in m.get("drift", {}).items() if isinstance(v, int | float)})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_dict(m, "manifest.json")
        if report.warnings:
            mlflow.log_text("\n".join(report.warnings) + "\n", "warnings.txt")
        for path in extra_artifacts:
            if path.exists():
                mlflow.log_artifact(str(path))


def run_score(
    settings: Settings,
    as_of: pd.Timestamp | None,
    keep: int | None = None,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
) -> ScoreReport:
    """Score everything at ``as_of`` (default: the store's last day) with the champions and publish."""
    say = progress or (lambda stage, fields: None)
    started = pd.Timestamp.now(tz="UTC")
    history = load_store(settings.store_path)
    resolved = resolve_as_of(history, as_of, settings.batch_max_days_after_data)
    if announce is not None and resolved.defaulted:
        announce(resolved.note())
    as_of = resolved.day
    client = connect(settings)
    otd_model, otd_version = load_model(client, OTD_MODEL_NAME, CHAMPION)
    disruption_model, disruption_version = load_model(client, DISRUPTION_MODEL_NAME, CHAMPION)
    models = {"otd": _model_info(otd_version), "disruption": _model_info(disruption_version)}
    say("models", {"otd": models["otd"]["version"], "disruption": models["disruption"]["version"]})
    root = settings.batches_dir
    with batchstore.batch_lock(root):
        cleaned = batchstore.clean_temporary(root)
        params = kpi_params(settings)
        fingerprint = data_fingerprint(history)
        identifier = batch_id(as_of, models, str(fingerprint["sha256"]), params)
        say("start", {"batch_id": identifier, "as_of": as_of.date().isoformat(), "rows": len(history)})
        with collected_warnings() as caught:
            tables = compute_batch(history, as_of, otd_model, disruption_model, params)
        say(
            "scored",
            {"open_lines": len(tables.tables["open_lines"]), "suppliers": len(tables.tables["suppliers"])},
        )
        folder = batchstore.temporary_folder(root, identifier)
        data_files = _write_files(folder, tables)
        final = root / identifier
        if batchstore.same_data(final, folder, data_files):
            # The same batch is already published (a re-run): its files are identical, so its drift and
            # manifest stand; only the database and LATEST are (re)written below, in case a crash
            # interrupted the earlier run after publishing.
            shutil.rmtree(folder)
            published = False
            drift = json.loads((final / batchstore.DRIFT_JSON).read_text(encoding="utf-8"))
        else:
            with collected_warnings() as drift_caught:
                drift = _drift_and_policy(
                    settings, client, tables, history, models, otd_model, disruption_model, folder
                )
            caught += drift_caught
            say("drift", {"alert": drift["alert"], **drift_metrics(drift)})
            _pause_for_tests("files")
            finished = pd.Timestamp.now(tz="UTC")
            files = batchstore.file_hashes(folder, data_files)
            content = manifest(tables, identifier, models, fingerprint, started, finished, files)
            content["drift"] = drift_metrics(drift)
            write_text(
                json.dumps(content, indent=2, sort_keys=True, default=str), folder / batchstore.MANIFEST
            )
            published = batchstore.publish(root, identifier, folder, data_files)
            _pause_for_tests("publish")
        content = batchstore.read_manifest(final)
        results.write_batch(settings.results_url, identifier, tables.tables, content)
        _pause_for_tests("database")
        results.set_latest(settings.results_url, identifier)
        batchstore.set_latest(root, identifier)
        say("published", {"batch_id": identifier, "folder": str(final), "new": published})
        pruned = batchstore.prune(root, keep) if keep is not None else []
    report = ScoreReport(identifier, final, published, content, pruned, cleaned, drift["retrain"], caught)
    _log_run(
        settings,
        client,
        report,
        [final / batchstore.MANIFEST, final / batchstore.DRIFT_JSON, final / batchstore.DRIFT_HTML],
    )
    return report

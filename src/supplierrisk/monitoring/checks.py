"""A batch's checks: drift of both models' features and scores, past batches' performance, the retrain policy.

``check_batch`` is the step the publish sequence runs before the manifest is
written (see ``supplierrisk.batch.publish``); its summary is the batch's
``drift.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from supplierrisk.batch import folders
from supplierrisk.batch.compute import BatchTables
from supplierrisk.monitoring.drift import drift_section, unseen_values
from supplierrisk.monitoring.feedback import check_published_batches
from supplierrisk.monitoring.retrain import retrain_policy
from supplierrisk.settings import Settings
from supplierrisk.storage import write_text


def _trained_as_of(client: Any, info: dict[str, str]) -> str:
    return str(client.get_run(info["run_id"]).data.tags.get("training_as_of", ""))


def _reference(client: Any, run_id: str) -> pd.DataFrame:
    return pd.read_parquet(client.download_artifacts(run_id, "reference.parquet"))


def batch_drift(
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
        ("otd", otd, tables.features["otd"], tables.tables["open_lines"]["p_late"], folders.DRIFT_HTML),
        (
            "disruption",
            disruption,
            tables.features["disruption"],
            tables.tables["suppliers"]["p_disruption"],
            folders.DRIFT_SUPPLIERS_HTML,
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


def check_batch(
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
    drift = batch_drift(
        settings,
        client,
        tables,
        history,
        (otd_model, models["otd"]),
        (disruption_model, models["disruption"]),
        folder,
    )
    tables.durations["drift"] = round(time.perf_counter() - clock, 3)
    drift["performance"] = check_published_batches(settings, history, tables.as_of, client)
    trained = {name: _trained_as_of(client, info) for name, info in models.items()}
    drift["retrain"] = retrain_policy(settings, drift, drift["performance"], trained, tables.as_of)
    write_text(json.dumps(drift, indent=2, sort_keys=True, default=str), folder / folders.DRIFT_JSON)
    return drift


def drift_headline(summary: dict[str, Any]) -> dict[str, float]:
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


def latest_drift_summary(settings: Settings, as_of: pd.Timestamp | None = None) -> dict[str, Any]:
    """The drift summary of the latest batch, or of the latest batch for ``as_of``."""
    root = settings.batches_dir
    if as_of is None:
        folder = folders.latest_batch(root)
    else:
        matching = [m for m in folders.list_batches(root) if m["as_of"] == as_of.date().isoformat()]
        folder = root / matching[-1]["batch_id"] if matching else None
    if folder is None:
        when = "" if as_of is None else f" for {as_of.date()}"
        raise FileNotFoundError(f"no published batch{when}: run 'supplierrisk score' first")
    return dict(json.loads((folder / folders.DRIFT_JSON).read_text(encoding="utf-8")))

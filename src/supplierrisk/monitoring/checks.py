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

import numpy as np
import pandas as pd

from supplierrisk.batch import folders
from supplierrisk.batch.compute import BatchTables
from supplierrisk.monitoring.alerts import batch_alerts, consequence
from supplierrisk.monitoring.calibration import CalibrationSettings, calibration_drift, settled_forecasts
from supplierrisk.monitoring.drift import unseen_values
from supplierrisk.monitoring.feedback import check_published_batches
from supplierrisk.monitoring.retrain import retrain_policy
from supplierrisk.monitoring.verdicts import BATCH_KEY, Reference, Verdicts, VerdictSettings, drift_section
from supplierrisk.settings import Settings
from supplierrisk.storage import write_text

# Batches whose forecasts the calibration test reads: those of the last year.
CALIBRATION_LOOKBACK_DAYS = 365
_FORECAST_COLUMNS = ["po_id", "line_id", "supplier_id", "p_late", "promised_date", "as_of"]


def _trained_as_of(client: Any, info: dict[str, str]) -> str:
    return str(client.get_run(info["run_id"]).data.tags.get("training_as_of", ""))


def _training_reference(client: Any, run_id: str) -> pd.DataFrame:
    return pd.read_parquet(client.download_artifacts(run_id, "reference.parquet"))


def _earlier_batches(settings: Settings, as_of: pd.Timestamp) -> list[dict[str, Any]]:
    """Published batches scored before ``as_of``, oldest first (one per day: the latest of that day)."""
    by_day = {
        m["as_of"]: m for m in folders.list_batches(settings.batches_dir) if pd.Timestamp(m["as_of"]) < as_of
    }
    return [by_day[day] for day in sorted(by_day)]


def _batch_features(settings: Settings, batch_id: str, name: str, rows: int) -> pd.DataFrame | None:
    """One earlier batch's scoring rows, sampled to ``rows`` rows (whole suppliers kept together)."""
    path = settings.batches_dir / batch_id / folders.FEATURES_FILES[name]
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    if len(frame) > rows:
        suppliers = frame["supplier_id"].drop_duplicates().sample(frac=1.0, random_state=0)
        sizes = frame["supplier_id"].value_counts().reindex(suppliers)
        frame = frame[frame["supplier_id"].isin(suppliers[(sizes.cumsum() <= rows).to_numpy()])]
    return frame.assign(**{BATCH_KEY: batch_id})


def moving_reference(
    settings: Settings, name: str, earlier_batches: list[dict[str, Any]], training: pd.DataFrame
) -> Reference:
    """The scoring rows of the last N earlier batches, or the training reference while there are too few.

    The thresholds are calibrated on a longer run (``drift_null_batches``), so that the null holds
    how much a batch usually moves against the ones before it, bursts included.
    """
    rows_each = max(1, settings.drift_sample_rows // settings.drift_reference_batches)
    earlier = earlier_batches[-max(settings.drift_null_batches, settings.drift_reference_batches) :]
    loaded = [(m["batch_id"], _batch_features(settings, m["batch_id"], name, rows_each)) for m in earlier]
    frames = [(batch, frame) for batch, frame in loaded if frame is not None]
    recent = frames[-settings.drift_reference_batches :]
    ids = [batch for batch, _ in recent]
    if len(recent) >= settings.drift_min_reference_batches:
        return Reference(
            pd.concat([f for _, f in recent], ignore_index=True),
            f"the last {len(recent)} batches",
            True,
            ids,
            pd.concat([f for _, f in frames], ignore_index=True),
        )
    return Reference(
        training,
        f"the training reference ({len(recent)} earlier batches;"
        f" alerts from {settings.drift_min_reference_batches})",
        False,
        ids,
    )


def _model_drift(
    settings: Settings,
    name: str,
    model: Any,
    training: pd.DataFrame,
    features: pd.DataFrame,
    scores: np.ndarray,
    unseen: dict[str, Any],
    earlier_batches: list[dict[str, Any]],
) -> tuple[dict[str, Any], Verdicts]:
    reference = moving_reference(settings, name, earlier_batches, training)
    verdict_settings = VerdictSettings(
        settings.drift_false_alarm_rate, settings.drift_null_draws, settings.drift_sample_rows
    )
    return drift_section(
        reference,
        training if reference.judged else None,
        features,
        (list(model.categories), model.feature_names),
        (model.predict_proba(training), scores),
        unseen,
        name == "disruption",
        verdict_settings,
        settings.drift_evidently,
    )


def batch_drift(
    settings: Settings,
    client: Any,
    tables: BatchTables,
    history: pd.DataFrame,
    otd: tuple[Any, dict[str, str]],
    disruption: tuple[Any, dict[str, str]],
    folder: Path,
    earlier_batches: list[dict[str, Any]],
) -> dict[str, Any]:
    """Drift of both models' scoring features (by unit, calibrated) and scores against earlier batches."""
    first_order = history.groupby("supplier_id", observed=True)["order_date"].min()
    lines, suppliers_table = tables.tables["open_lines"], tables.tables["suppliers"]
    sections: dict[str, Any] = {}
    for name, (model, info), scores in (
        ("otd", otd, lines["p_late"]),
        ("disruption", disruption, suppliers_table["p_disruption"]),
    ):
        features = tables.features[name]
        if len(features) == 0:
            sections[name] = {"skipped": "nothing scored in this batch"}
            continue
        suppliers = features["supplier_id"]
        if suppliers.nunique() < settings.drift_min_suppliers:
            # The effective sample of a batch is its number of suppliers: a handful cannot show drift.
            sections[name] = {
                "skipped": f"only {suppliers.nunique()} suppliers in this batch, too few to judge drift"
                f" (SUPPLIERRISK_DRIFT_MIN_SUPPLIERS={settings.drift_min_suppliers})"
            }
            continue
        training = _training_reference(client, info["run_id"])
        unseen = unseen_values(features, model.categories, suppliers, first_order, model.training_as_of)
        section, verdicts = _model_drift(
            settings, name, model, training, features, scores.to_numpy(dtype=float), unseen, earlier_batches
        )
        for unit, snapshot in verdicts.snapshots.items():
            snapshot.save_html(str(folder / folders.drift_html_name(name, unit)))
        sections[name] = section
    return {"batch_as_of": tables.as_of.date().isoformat(), **sections}


def batch_calibration(
    settings: Settings,
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    otd_model: Any,
    earlier_batches: list[dict[str, Any]],
) -> dict[str, Any]:
    """The calibration alarm over the earlier batches' forecasts whose due weeks have settled."""
    since = as_of - pd.Timedelta(days=CALIBRATION_LOOKBACK_DAYS)
    frames = [
        pd.read_parquet(
            settings.batches_dir / m["batch_id"] / "open_lines.parquet", columns=_FORECAST_COLUMNS
        )
        for m in earlier_batches
        if pd.Timestamp(m["as_of"]) >= since
    ]
    tolerance = otd_model.feature_config.on_time_tolerance_days
    if not frames:
        return {
            "alarm": False,
            "segments": [],
            "settled_lines": 0,
            "note": "no earlier batch has forecast lines yet",
        }
    lines = settled_forecasts(pd.concat(frames, ignore_index=True), history, as_of, tolerance)
    dispersion = getattr(otd_model, "late_dispersion", None)
    config = CalibrationSettings(
        false_alarm_rate=settings.drift_calibration_false_alarm_rate,
        period_sigma=float(dispersion.period) if dispersion is not None else 0.0,
    )
    return calibration_drift(lines, config)


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
    # Listed once: the feature reference and the calibration test read the same earlier batches.
    earlier = _earlier_batches(settings, tables.as_of)
    drift = batch_drift(
        settings,
        client,
        tables,
        history,
        (otd_model, models["otd"]),
        (disruption_model, models["disruption"]),
        folder,
        earlier,
    )
    drift["calibration"] = {"otd": batch_calibration(settings, history, tables.as_of, otd_model, earlier)}
    drift["alerts"] = batch_alerts(drift)
    drift["alert"] = bool(drift["alerts"])
    drift["consequence"] = consequence(drift["alerts"])
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
        "calibration_alarm": float(bool(summary.get("calibration", {}).get("otd", {}).get("alarm"))),
        "alerts": float(len(summary.get("alerts", []))),
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

"""Feature drift verdicts in the right unit, with calibrated thresholds, judged by Evidently.

- **Units.** A supplier's history features (``sup_*``, its country, its main category)
  are the same on all its lines of a day, so they are compared one row per supplier;
  the line's own fields (lead time, quantity, mode, destination, extras) one row per
  line. Batch-wide constants (``global_*``) are left out: a day has one value.
- **Thresholds.** Per feature from a supplier-clustered bootstrap of the reference
  (``supplierrisk.monitoring.thresholds``), Benjamini-Hochberg over the model's features.
- **Engine.** Evidently runs the per-column tests with those methods and thresholds
  and writes the HTML; its verdict is the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from supplierrisk.monitoring.drift import (
    CALENDAR_FEATURES,
    feature_drift,
    prediction_drift,
    prepared,
    sample_rows_of,
    testable,
)
from supplierrisk.monitoring.thresholds import (
    CATEGORICAL_METHOD,
    NUMERICAL_METHOD,
    NullDistances,
    benjamini_hochberg,
    categorical_distance,
    effective_sample,
    null_distances,
    numerical_distance,
)

SUPPLIER_LEVEL_PREFIXES: Final = ("sup_",)
SUPPLIER_LEVEL_FIELDS: Final = ("supplier_country", "main_category")
BATCH_LEVEL_PREFIXES: Final = ("global_",)
# Reference frames may carry the batch each row came from: supplier rows are then one per batch.
BATCH_KEY: Final = "drift_batch"


@dataclass(frozen=True)
class VerdictSettings:
    """The family's false-alarm rate, the bootstrap's size, the rows sampled per side."""

    false_alarm_rate: float = 0.05
    draws: int = 100
    sample_rows: int = 20_000
    seed: int = 0


@dataclass
class Verdicts:
    """Per-feature verdicts, the summary and Evidently's snapshots (one per unit, for the HTML)."""

    table: pd.DataFrame
    summary: dict[str, Any]
    snapshots: dict[str, Any] = field(default_factory=dict)


def feature_unit(name: str, rows_are_suppliers: bool) -> str:
    """``supplier``, ``line`` or ``batch`` (not compared) for one feature."""
    if name.startswith(BATCH_LEVEL_PREFIXES):
        return "batch"
    if rows_are_suppliers or name.startswith(SUPPLIER_LEVEL_PREFIXES) or name in SUPPLIER_LEVEL_FIELDS:
        return "supplier"
    return "line"


def supplier_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per supplier (per reference batch when the frame says which)."""
    if "supplier_id" not in frame:
        return frame
    keys = [k for k in (BATCH_KEY, "supplier_id") if k in frame]
    return frame.drop_duplicates(keys)


def _suppliers(frame: pd.DataFrame) -> pd.Series:
    # A reference without supplier ids (from an older training run) is resampled row by row.
    if "supplier_id" in frame:
        return frame["supplier_id"].astype(str).reset_index(drop=True)
    return pd.Series(np.arange(len(frame)).astype(str))


def change_of(reference: pd.Series, current: pd.Series, categorical: bool) -> dict[str, Any]:
    """What moved, for the sentence: medians and means, or the category whose share moved most."""
    if not categorical:
        return {
            "reference_median": float(reference.median()),
            "current_median": float(current.median()),
            "reference_mean": float(reference.mean()),
            "current_mean": float(current.mean()),
        }
    ref = reference.value_counts(normalize=True)
    cur = current.value_counts(normalize=True)
    shift = cur.subtract(ref, fill_value=0.0)
    top = str(shift.abs().idxmax())
    return {
        "value": top,
        "reference_share": float(ref.get(top, 0.0)),
        "current_share": float(cur.get(top, 0.0)),
    }


def _score(
    reference: pd.DataFrame,
    null_reference: pd.DataFrame,
    current: pd.DataFrame,
    column: str,
    categorical: bool,
    settings: VerdictSettings,
) -> tuple[dict[str, Any], NullDistances]:
    ref, cur = reference[column], current[column]
    keep_ref, keep_cur = ref.notna().to_numpy(), cur.notna().to_numpy()
    r, c = ref[keep_ref], cur[keep_cur]
    if categorical:
        observed = categorical_distance(r, c)
    else:
        observed = numerical_distance(r.to_numpy(dtype=float), c.to_numpy(dtype=float))
    batch_suppliers = int(_suppliers(current)[keep_cur].nunique())
    batches = null_reference[BATCH_KEY].reset_index(drop=True) if BATCH_KEY in null_reference else None
    window = int(reference[BATCH_KEY].nunique()) if BATCH_KEY in reference else 1
    null = null_distances(
        null_reference[column].reset_index(drop=True),
        _suppliers(null_reference),
        batch_suppliers,
        categorical,
        settings.draws,
        settings.seed,
        batches,
        window,
    )
    row = {
        "distance": observed,
        "p_value": null.p_value(observed),
        "design_effect": null.design_effect,
        "rows": int(keep_cur.sum()),
        "suppliers": batch_suppliers,
        "change": change_of(r, c, categorical),
    }
    return row, null


Frames = dict[str, tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]]


def _unit_frames(
    reference: pd.DataFrame,
    null_source: pd.DataFrame,
    current: pd.DataFrame,
    unit: str,
    columns: tuple[list[str], list[str]],
    settings: VerdictSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reference, null and batch rows of one unit, prepared as Evidently compares them."""
    nums, cats = columns

    def rows_of(frame: pd.DataFrame) -> pd.DataFrame:
        return frame if unit == "line" else supplier_rows(frame)

    ref = sample_rows_of(rows_of(reference), settings.sample_rows, settings.seed)
    cur = sample_rows_of(rows_of(current), settings.sample_rows, settings.seed)
    keys = [k for k in ("supplier_id", BATCH_KEY) if k in reference]
    ref_p = pd.concat([prepared(ref, nums, cats), ref[keys]], axis=1)
    cur_p = pd.concat([prepared(cur, nums, cats), cur.reindex(columns=["supplier_id"])], axis=1)
    null_rows = rows_of(null_source)
    null_p = pd.concat([prepared(null_rows, nums, cats), null_rows[keys]], axis=1)
    return ref_p, null_p, cur_p


def _engine_verdicts(
    table: pd.DataFrame, frames: Frames, thresholds: dict[str, float], settings: VerdictSettings, engine: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Evidently's per-column verdicts with the calibrated methods and thresholds (or the same test)."""
    methods = {
        f: CATEGORICAL_METHOD if k == "categorical" else NUMERICAL_METHOD
        for f, k in zip(table["feature"], table["kind"], strict=True)
    }
    snapshots, verdicts = {}, []
    for unit, (ref_p, cur_p, nums, cats) in frames.items() if engine else ():
        report = feature_drift(
            ref_p,
            cur_p,
            nums,
            cats,
            1.0,
            settings.sample_rows,
            settings.seed,
            None,
            None,
            methods,
            thresholds,
        )
        snapshots[unit] = report.snapshot
        verdicts.append(report.table.set_index("feature")[["method", "threshold", "score", "drifted"]])
    if verdicts:
        return table.join(pd.concat(verdicts), on="feature"), snapshots
    # No report wanted (a comparison shown beside): the same test, without Evidently's page.
    return table.assign(
        method=table["feature"].map(methods),
        threshold=table["feature"].map(thresholds),
        score=table["distance"],
        drifted=table["bh_rejected"],
    ), snapshots


def calibrated_verdicts(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numerical: list[str],
    categorical: list[str],
    rows_are_suppliers: bool,
    settings: VerdictSettings,
    engine: bool = True,
    null_reference: pd.DataFrame | None = None,
) -> Verdicts:
    """Each feature in its unit against the reference: p-value, BH verdict (Evidently), effective sample.

    ``null_reference`` (default: the reference) is what the thresholds are calibrated on: a
    longer run of earlier batches than the ones compared with.
    """
    null_source = reference if null_reference is None else null_reference
    numerical, skipped_num = testable(reference, current, numerical)
    categorical, skipped_cat = testable(reference, current, categorical)
    units = {c: feature_unit(c, rows_are_suppliers) for c in numerical + categorical}
    rows: list[dict[str, Any]] = []
    nulls: dict[str, NullDistances] = {}
    frames: Frames = {}
    for unit in ("line", "supplier"):
        nums = [c for c in numerical if units[c] == unit]
        cats = [c for c in categorical if units[c] == unit]
        if not nums + cats:
            continue
        ref_p, null_p, cur_p = _unit_frames(reference, null_source, current, unit, (nums, cats), settings)
        frames[unit] = (ref_p, cur_p, nums, cats)
        for column in nums + cats:
            row, nulls[column] = _score(ref_p, null_p, cur_p, column, column in cats, settings)
            kind = "categorical" if column in cats else "numerical"
            rows.append({"feature": column, "unit": unit, "kind": kind, **row})
    if not rows:
        raise ValueError(
            "no feature can be compared: " + "; ".join(f"{k}: {v}" for k, v in skipped_num.items())
        )
    rejected, cutoff = benjamini_hochberg(np.array([r["p_value"] for r in rows]), settings.false_alarm_rate)
    thresholds = {r["feature"]: nulls[r["feature"]].quantile(cutoff) for r in rows}
    table, snapshots = _engine_verdicts(
        pd.DataFrame(rows).assign(bh_rejected=rejected), frames, thresholds, settings, engine
    )
    table["effective_sample"] = [
        effective_sample(r["rows"], r["suppliers"], r["design_effect"], r["unit"] == "supplier")
        for r in table.to_dict(orient="records")
    ]
    table = table.sort_values(
        ["drifted", "p_value", "feature"], ascending=[False, True, True], ignore_index=True
    )
    summary = {
        "features_compared": len(table),
        "features_drifted": int(table["drifted"].sum()),
        "share_drifted": float(table["drifted"].mean()),
        "false_alarm_rate": settings.false_alarm_rate,
        "p_cutoff": cutoff,
        "null_draws": settings.draws,
        "skipped": {**skipped_num, **skipped_cat},
        "clustered_by_supplier": "supplier_id" in reference,
    }
    return Verdicts(table, summary, snapshots)


@dataclass(frozen=True)
class Reference:
    """What a batch is compared with: rows, their description, and whether they may raise an alert."""

    rows: pd.DataFrame
    label: str
    judged: bool
    batches: list[str]
    null_rows: pd.DataFrame | None = None


def against_training(
    training: pd.DataFrame | None, current: pd.DataFrame, table: pd.DataFrame, settings: VerdictSettings
) -> dict[str, Any]:
    """The batch's distance to the training reference, feature by feature, beside this batch's thresholds.

    Shown, never alarmed: the thresholds were calibrated on earlier batches, not on training.
    """
    if training is None or not len(training):
        return {}
    beyond = []
    for row in table.to_dict(orient="records"):
        if row["feature"] not in training:
            continue
        ref = sample_rows_of(
            training if row["unit"] == "line" else supplier_rows(training), settings.sample_rows, 0
        )
        cur = current if row["unit"] == "line" else supplier_rows(current)
        kind = [row["feature"]]
        nums, cats = ([], kind) if row["kind"] == "categorical" else (kind, [])
        r, c = (
            prepared(ref, nums, cats)[row["feature"]].dropna(),
            prepared(cur, nums, cats)[row["feature"]].dropna(),
        )
        if r.empty or c.empty:
            continue
        if row["kind"] == "categorical":
            distance = categorical_distance(r, c)
        else:
            distance = numerical_distance(r.to_numpy(dtype=float), c.to_numpy(dtype=float))
        if distance >= row["threshold"]:
            beyond.append(row["feature"])
    return {"features_compared": len(table), "features_drifted": len(beyond), "drifted": beyond}


def drift_section(
    reference: Reference,
    training_reference: pd.DataFrame | None,
    current: pd.DataFrame,
    model: tuple[list[str], list[str]],
    scores: tuple[np.ndarray, np.ndarray],
    unseen: dict[str, Any],
    rows_are_suppliers: bool,
    settings: VerdictSettings,
    engine: bool = True,
) -> tuple[dict[str, Any], Verdicts]:
    """Feature drift (calibrated, by unit), prediction drift and unseen values of one model, JSON-ready.

    ``model`` is the model's (categorical columns, feature names); ``scores`` the
    reference's and the batch's predictions.
    """
    categorical, feature_names = model
    categorical = [c for c in categorical if c in feature_names]
    compared = [c for c in feature_names if c not in CALENDAR_FEATURES]
    numerical = [c for c in compared if c not in categorical]
    verdicts = calibrated_verdicts(
        reference.rows,
        current,
        numerical,
        categorical,
        rows_are_suppliers,
        settings,
        engine,
        reference.null_rows,
    )
    beside = against_training(training_reference, current, verdicts.table, settings)
    suppliers = int(current["supplier_id"].nunique()) if "supplier_id" in current else len(current)
    section = {
        **verdicts.summary,
        "reference": {"label": reference.label, "judged": reference.judged, "batches": reference.batches},
        "against_training": beside,
        "excluded": [c for c in feature_names if c in CALENDAR_FEATURES or feature_unit(c, False) == "batch"],
        "prediction": prediction_drift(*scores),
        "unseen": unseen,
        "suppliers_in_batch": suppliers,
        # Feature drift explains; it alerts only against earlier scoring populations (see Reference).
        "alert": bool(reference.judged and verdicts.summary["features_drifted"] > 0),
        "features": verdicts.table.to_dict(orient="records"),
    }
    return section, verdicts

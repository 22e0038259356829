"""Evidently 0.7 feature drift, score PSI and unseen values: the pieces a batch's drift summary uses.

- ``feature_drift`` runs ``DataDriftPreset`` on declared numeric and categorical
  columns, with the methods and thresholds it is given per column (the calibrated ones
  of ``supplierrisk.monitoring.verdicts``); the per-column test of the snapshot is the
  verdict (``FAIL`` means drift). Both sides are sampled to ``sample_rows``.
- ``prediction_drift``: the batch's scores against the champion's scores on its
  reference (PSI, Laplace-smoothed deciles), shown, not alarmed.
- ``unseen_values``: the share of categorical values not seen in training (LightGBM
  routes them silently) and the scored suppliers with no history at the training as-of.

The calendar features (promised month, days to quarter end) are left out of feature
drift: one day's lines always sit at one point of the calendar.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from supplierrisk.modeling.classifier import unseen_share

_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
_DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"
PREDICTION_PSI_THRESHOLD = 0.2
# Features whose batch distribution is set by the calendar day, not by the process.
CALENDAR_FEATURES = ("promised_month", "days_to_quarter_end")


@dataclass
class FeatureDrift:
    """Per-feature drift results, the summary, and the Evidently snapshot (for its HTML)."""

    table: pd.DataFrame
    summary: dict[str, Any]
    snapshot: Any


def testable(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The columns both sides can compare, and why the others are skipped."""
    keep, skipped = [], {}
    for column in columns:
        if column not in reference or column not in current:
            skipped[column] = "missing in the reference or the batch"
        elif reference[column].isna().all():
            skipped[column] = "empty in the reference"
        elif current[column].isna().all():
            skipped[column] = "empty in the batch"
        else:
            keep.append(column)
    return keep, skipped


def sample_rows_of(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows, sampled with ``seed``."""
    return frame.sample(n=rows, random_state=seed) if len(frame) > rows else frame


def prepared(frame: pd.DataFrame, numerical: list[str], categorical: list[str]) -> pd.DataFrame:
    """Numbers as floats (infinities as missing), categories as strings or None: what Evidently compares."""
    out = frame[numerical + categorical].copy()
    for column in numerical:
        out[column] = (
            pd.to_numeric(out[column], errors="coerce").astype(float).replace([np.inf, -np.inf], np.nan)
        )
    for column in categorical:
        values = out[column].astype(object)
        out[column] = values.where(values.isna(), values.astype(str)).where(values.notna(), None)
    return out


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numerical: list[str],
    categorical: list[str],
    alert_share: float,
    sample_rows: int = 20_000,
    seed: int = 0,
    method: str | None = None,
    threshold: float | None = None,
    per_column_method: dict[str, str] | None = None,
    per_column_threshold: dict[str, float] | None = None,
) -> FeatureDrift:
    """Evidently data drift of ``current`` against ``reference`` over the given columns."""
    numerical, skipped_num = testable(reference, current, numerical)
    categorical, skipped_cat = testable(reference, current, categorical)
    columns = numerical + categorical
    if not columns:
        raise ValueError(
            "no feature can be compared: " + "; ".join(f"{k}: {v}" for k, v in skipped_num.items())
        )

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        return prepared(sample_rows_of(frame[columns], sample_rows, seed), numerical, categorical)

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    preset = DataDriftPreset(
        columns=columns,
        drift_share=alert_share,
        method=method,
        threshold=threshold,
        per_column_method={c: m for c, m in (per_column_method or {}).items() if c in columns} or None,
        per_column_threshold={c: t for c, t in (per_column_threshold or {}).items() if c in columns} or None,
    )
    with warnings.catch_warnings():
        # Constant columns make Evidently divide by zero once; the test result is still right.
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([preset], include_tests=True).run(
            current_data=Dataset.from_pandas(prepare(current), data_definition=definition),
            reference_data=Dataset.from_pandas(prepare(reference), data_definition=definition),
        )
    result = snapshot.dict()
    # Test statuses are a str enum: compare its value ("FAIL" means drift).
    status = {
        t["metric_config"]["metric_id"]: getattr(t["status"], "value", t["status"]) for t in result["tests"]
    }
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"] == _VALUE_DRIFT:
            verdict = status.get(metric["id"])
            rows.append(
                {
                    "feature": config["column"],
                    "kind": "categorical" if config["column"] in categorical else "numerical",
                    "method": str(config["method"]),
                    "threshold": float(config["threshold"]),
                    "score": float(metric["value"]),
                    "drifted": verdict == "FAIL",
                }
            )
        elif config["type"] == _DRIFTED_COUNT:
            summary = {
                "features_drifted": int(metric["value"]["count"]),
                "share_drifted": float(metric["value"]["share"]),
                "alert_share": float(alert_share),
                "alert": status.get(metric["id"]) == "FAIL",
            }
    table = pd.DataFrame(rows, columns=["feature", "kind", "method", "threshold", "score", "drifted"])
    table = table.sort_values(["drifted", "feature"], ascending=[False, True], ignore_index=True)
    summary.update(
        features_compared=len(table),
        skipped={**skipped_num, **skipped_cat},
        reference_rows=int(min(len(reference), sample_rows)),
        batch_rows=int(min(len(current), sample_rows)),
    )
    return FeatureDrift(table, summary, snapshot)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` over reference deciles (smoothed)."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return 0.0
    edges[0], edges[-1] = -np.inf, np.inf
    # Half a line added to every bin (Laplace smoothing): an empty bin in a small batch must not
    # dominate the index, as a tiny floor would.
    k = len(edges) - 1
    expected = (np.histogram(reference, edges)[0] + 0.5) / (len(reference) + 0.5 * k)
    actual = (np.histogram(current, edges)[0] + 0.5) / (len(current) + 0.5 * k)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def prediction_drift(reference_scores: np.ndarray, batch_scores: np.ndarray) -> dict[str, Any]:
    """PSI of the batch's scores against the backtest's, with both means."""
    value = (
        psi(reference_scores, batch_scores) if len(batch_scores) and len(reference_scores) else float("nan")
    )
    return {
        "psi": value,
        "threshold": PREDICTION_PSI_THRESHOLD,
        "drifted": bool(value >= PREDICTION_PSI_THRESHOLD),
        "reference_mean": float(np.mean(reference_scores)) if len(reference_scores) else float("nan"),
        "batch_mean": float(np.mean(batch_scores)) if len(batch_scores) else float("nan"),
    }


def unseen_values(
    features: pd.DataFrame,
    categories: dict[str, list[str]],
    suppliers: pd.Series,
    first_order: pd.Series,
    training_as_of: pd.Timestamp,
) -> dict[str, Any]:
    """Unseen categorical values per column, and suppliers whose history starts after training."""
    new = first_order.reindex(pd.Index(suppliers.unique())) > pd.Timestamp(training_as_of)
    return {
        "unseen_share": unseen_share(features, categories),
        "new_suppliers": int(new.sum()),
        "new_supplier_share": float(new.mean()) if len(new) else 0.0,
        "new_supplier_examples": sorted(map(str, new.index[new.to_numpy()]))[:10],
    }

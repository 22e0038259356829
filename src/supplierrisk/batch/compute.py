"""Batch scoring: every open line and every active supplier at an as-of, with the roll-ups the API serves.

``compute_batch`` is pure (frames and models in, tables out). It builds the
point-in-time index once and scores through the same functions as ``predict``
and the API. Tables (all sorted, so the same inputs give byte-identical files):

- ``open_lines``: open, not-yet-due lines with ``p_late``, band and delay quantiles;
- ``suppliers``: active suppliers with disruption risk, drivers, KPIs with 90%
  intervals, and the expected late share of their open lines;
- ``categories``: KPIs, concentration (HHI, single source), supplier risk and the
  expected late share of open lines per category;
- ``supplier_categories``: each supplier's KPIs and spend share within each
  category it served (for "categories served" and "alternatives").
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.kpis import KpiParams, compute_kpi_tables
from supplierrisk.modeling.disruption import DisruptionModel
from supplierrisk.modeling.otd import OtdModel
from supplierrisk.modeling.scoring import (
    history_at,
    line_scope,
    score_open_lines_with_features,
    score_supplier_risk_with_features,
)

TABLES = ("open_lines", "suppliers", "categories", "supplier_categories")
# The groupings of the KPI tables.
SUPPLIER, CATEGORY, PAIR = ("supplier_id",), ("category",), ("supplier_id", "category")
# The KPI window of the batch's supplier and category tables.
BATCH_WINDOW_DAYS = 365
# KPI columns carried into the supplier and category tables (their 90% intervals included).
# KPI columns of a supplier, overall and within each category (90% intervals and line counts included).
PAIR_KPIS = (
    "otd_lines",
    "otd_rate",
    "otd_rate_lo",
    "otd_rate_hi",
    "otif_lines",
    "otif_rate",
    "otif_rate_lo",
    "otif_rate_hi",
    "delivered_lines",
    "lead_time_mean_days",
    "lead_time_p90_days",
    "lead_time_std_days",
    "days_late_mean",
    "fill_lines",
    "fill_rate",
    "fill_rate_lo",
    "fill_rate_hi",
    "reject_lines",
    "reject_rate",
    "reject_rate_lo",
    "reject_rate_hi",
    "ipv_lines",
    "ipv_share",
    "ipv_share_lo",
    "ipv_share_hi",
    "spend_lines",
    "spend",
    "spend_share",
)
SUPPLIER_KPIS = (*PAIR_KPIS, "n_categories", "open_lines", "overdue_lines")
CATEGORY_KPIS = (
    "otd_lines",
    "otd_rate",
    "otd_rate_lo",
    "otd_rate_hi",
    "spend_lines",
    "spend",
    "spend_share",
    "n_suppliers",
    "hhi",
    "single_source",
    "open_lines",
    "overdue_lines",
)


@dataclass
class BatchTables:
    """The tables of one batch, with row counts, skip reasons and stage durations."""

    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame]
    rows_read: int
    skipped: dict[str, int]
    durations: dict[str, float] = field(default_factory=dict)
    features: dict[str, pd.DataFrame] = field(default_factory=dict)
    # What the batch could not compute from this history, and why (e.g. no categories).
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: len(frame) for name, frame in self.tables.items()}


def batch_id(
    as_of: pd.Timestamp, models: dict[str, dict[str, str]], data_sha256: str, params: KpiParams
) -> str:
    """A deterministic id: the as-of day plus a hash of the models, the data and the settings."""
    payload = json.dumps(
        {
            "as_of": pd.Timestamp(as_of).date().isoformat(),
            "models": models,
            "data": data_sha256,
            "params": [
                params.on_time_tolerance_days,
                params.in_full_tolerance,
                params.price_variance_tolerance,
            ],
        },
        sort_keys=True,
    )
    return f"{pd.Timestamp(as_of):%Y%m%d}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"


def _with_line_expectation(table: pd.DataFrame, lines: pd.DataFrame, key: str) -> pd.DataFrame:
    """Add the count, expected late count and expected late share of scored open lines per ``key``."""
    grouped = lines.groupby(key, sort=True)["p_late"].agg(["size", "sum"])
    out = table.copy()
    out["open_lines_scored"] = out[key].map(grouped["size"]).fillna(0).astype("int64")
    out["expected_late_open_lines"] = out[key].map(grouped["sum"]).fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["expected_late_share_open"] = np.where(
            out["open_lines_scored"] > 0, out["expected_late_open_lines"] / out["open_lines_scored"], np.nan
        )
    return out


def compute_batch(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    otd_model: OtdModel,
    disruption_model: DisruptionModel,
    params: KpiParams,
    window_days: int = BATCH_WINDOW_DAYS,
) -> BatchTables:
    """Score and roll up everything at ``as_of`` from the history known then."""
    as_of = pd.Timestamp(as_of).normalize()
    durations: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        durations[stage] = round(now - clock, 3)
        clock = now

    at = history_at(history, as_of, disruption_model.feature_config)
    lap("index")
    lines, line_features = score_open_lines_with_features(otd_model, at)
    line_features["supplier_id"] = lines["supplier_id"].to_numpy()  # the drift reference's clusters
    lap("open_lines")
    risk, supplier_features = score_supplier_risk_with_features(disruption_model, at, explain=True)
    risk["drivers_json"] = risk.pop("drivers").map(lambda d: json.dumps(d, sort_keys=True, default=str))
    lap("suppliers")
    kpis = compute_kpi_tables(at.known, as_of, window_days, [SUPPLIER, CATEGORY, PAIR], params)
    supplier_kpis, category_result, pair_kpis = kpis[SUPPLIER].table, kpis[CATEGORY], kpis[PAIR].table
    category_kpis = category_result.table
    notes = (
        [f"category roll-ups skipped: {category_result.skipped['category']}"]
        if ("category" in category_result.skipped)
        else []
    )
    lap("kpis")

    suppliers = risk.merge(
        supplier_kpis.reindex(columns=["supplier_id", *SUPPLIER_KPIS]), on="supplier_id", how="left"
    )
    suppliers = _with_line_expectation(suppliers, lines, "supplier_id")
    suppliers = suppliers.sort_values(
        ["p_disruption", "supplier_id"], ascending=[False, True], kind="mergesort"
    )

    categories = _with_line_expectation(
        category_kpis.reindex(columns=["category", *CATEGORY_KPIS]),
        lines.dropna(subset=["category"]),
        "category",
    )
    pairs = pair_kpis.reindex(columns=["supplier_id", "category", *PAIR_KPIS]).merge(
        risk[["supplier_id", "p_disruption", "risk_score", "risk_band"]], on="supplier_id", how="left"
    )
    risk_by_category = pairs.groupby("category", sort=True).agg(
        suppliers_high_risk=("risk_band", lambda b: int((b == "high").sum())),
        mean_p_disruption=("p_disruption", "mean"),
    )
    categories = categories.join(risk_by_category, on="category")
    lap("rollups")

    tables = {
        "open_lines": lines.assign(as_of=as_of.date().isoformat()),
        "suppliers": suppliers.reset_index(drop=True),
        "categories": categories.sort_values("category", kind="mergesort").reset_index(drop=True),
        "supplier_categories": pairs.sort_values(["category", "supplier_id"], kind="mergesort").reset_index(
            drop=True
        ),
    }
    tolerance = otd_model.feature_config.on_time_tolerance_days
    skipped = line_scope(at, tolerance, len(history))
    return BatchTables(
        as_of=as_of,
        tables=tables,
        rows_read=len(history),
        skipped=skipped,
        durations=durations,
        features={"otd": line_features, "disruption": supplier_features},
        notes=notes,
    )


def manifest(
    tables: BatchTables,
    identifier: str,
    models: dict[str, dict[str, str]],
    fingerprint: dict[str, Any],
    started: pd.Timestamp,
    finished: pd.Timestamp,
    files: dict[str, str],
) -> dict[str, Any]:
    """The batch manifest: what was scored, with what, from which data, how long it took."""
    scored = tables.counts
    return {
        "batch_id": identifier,
        "as_of": tables.as_of.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "models": models,
        "data": fingerprint,
        "rows_read": tables.rows_read,
        "rows_scored": {"open_lines": scored["open_lines"], "suppliers": scored["suppliers"]},
        "rows_skipped": tables.skipped,
        "table_rows": scored,
        "durations_seconds": tables.durations,
        "files_sha256": files,
        "notes": tables.notes,
    }

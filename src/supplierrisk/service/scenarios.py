"""Scenarios against what a deployment serves: its champions and its store, at the batch's as-of."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Final

import pandas as pd

from supplierrisk.features.suppliers import SupplierHistoryIndex
from supplierrisk.modeling.scoring import HistoryAt, history_at
from supplierrisk.scenarios import Models, ScenarioInputError, ScenarioRequest, ScenarioResult, run_scenario
from supplierrisk.scenarios.allocation import line_volume
from supplierrisk.scenarios.template import demand_template
from supplierrisk.service.deployment import Deployment
from supplierrisk.service.sourcing import category_members
from supplierrisk.service.workspace import SUPPLIER_LINK, Column, Table


class ScenarioUnavailableError(RuntimeError):
    """The deployment lacks what a scenario needs (an OTD champion or the store)."""


def scenario_models(current: Deployment) -> Models:
    """The deployment's OTD champion (needed) and disruption champion (if loaded)."""
    if "otd" not in current.models:
        raise ScenarioUnavailableError("no OTD champion is loaded: scenarios need one")
    disruption = current.models.get("disruption")
    return Models(
        current.models["otd"].model,
        disruption.model if disruption is not None else None,
        dict(current.versions),
    )


def scenario_as_of(current: Deployment, requested: pd.Timestamp | None) -> pd.Timestamp:
    """The requested as-of, else the batch's, else the store's last day; within the store's days.

    (The CLI resolves its ``--as-of`` as every command does, with exit code 5 outside the data.)
    """
    if current.store is None:
        raise ScenarioUnavailableError("no store is loaded: scenarios need the history")
    last = current.store.at.as_of
    history = current.store.history
    first = current.memo(("first-order-day",), lambda: pd.Timestamp(history["order_date"].min()).normalize())
    as_of = requested if requested is not None else (current.batch.as_of if current.batch else last)
    as_of = pd.Timestamp(as_of).normalize()
    if not first <= as_of <= last:
        raise ScenarioInputError(
            f"as_of {as_of.date()} is outside the store's days {first.date()} to {last.date()}"
        )
    return as_of


def history_for(current: Deployment, models: Models, as_of: pd.Timestamp) -> HistoryAt:
    """The store's point-in-time history at ``as_of``, built once per deployment and day."""
    assert current.store is not None  # noqa: S101 - checked by scenario_as_of
    store = current.store
    # The service's own index serves lines; disruption scores need the supplier snapshots too.
    if as_of == store.at.as_of and isinstance(store.at.index, SupplierHistoryIndex):
        return store.at
    config = models.otd.feature_config
    return current.memo(("scenario-history", as_of), lambda: history_at(store.history, as_of, config))


def run_for(current: Deployment, request: ScenarioRequest) -> ScenarioResult:
    """``request`` against the deployment (as of the batch unless it names a day)."""
    models = scenario_models(current)
    as_of = scenario_as_of(current, request.as_of)
    at = history_for(current, models, as_of)
    return run_scenario(request, at, models)


# Besides every supplier holding part of the demand, the page offers this many others of the category.
OTHER_SUPPLIERS = 20


def category_shares(
    current: Deployment, category: str, as_of: pd.Timestamp, horizon_days: int
) -> pd.DataFrame:
    """The category's suppliers with their share of the last period's volume (the baseline), largest first.

    Up to ``OTHER_SUPPLIERS`` other suppliers that served the category in the batch follow
    with share 0, so the page can move volume to them.
    """
    models = scenario_models(current)
    at = history_for(current, models, as_of)
    template = demand_template(at.known, category, as_of, horizon_days)
    volume = pd.Series(line_volume(template)).groupby(template["supplier_id"].to_numpy()).sum()
    shares = (volume / volume.sum()).rename("share")
    frame = shares.rename_axis("supplier_id").reset_index()
    if current.batch is not None:
        members = category_members(current.batch.tables["supplier_categories"], category)
        others = sorted(set(members) - set(frame["supplier_id"]))[:OTHER_SUPPLIERS]
        frame = pd.concat([frame, pd.DataFrame({"supplier_id": others, "share": 0.0})], ignore_index=True)
    frame = frame.sort_values(["share", "supplier_id"], ascending=[False, True], kind="mergesort")
    return frame.reset_index(drop=True)


def _fmt(kind: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "pct":
        return f"{float(value):.1%}"
    if kind == "pts":
        return f"{float(value) * 100:+.1f} pts"
    if kind == "flag":
        return "yes" if value else "no"
    if kind == "signed":
        return f"{float(value):+,.1f}"
    return f"{float(value):,.1f}"


# (key, label, how the arms show, how the difference shows)
COMPARISON_ROWS: Final = (
    ("expected_late_lines", "Late lines, expected", "number", "signed"),
    ("late_lines_p10", "Late lines, P10", "number", "signed"),
    ("late_lines_p50", "Late lines, P50", "number", "signed"),
    ("late_lines_p90", "Late lines, P90", "number", "signed"),
    ("otd", "OTD, expected", "pct", "pts"),
    ("otd_p10", "OTD, P10", "pct", "pts"),
    ("otd_p90", "OTD, P90", "pct", "pts"),
    ("expected_late_value", "Late value, expected", "number", "signed"),
    ("cvar95_late_value", "Late value, CVaR95", "number", "signed"),
    ("expected_days_late", "Days late, expected (all lines)", "number", "signed"),
    ("spend", "Spend (recent prices)", "number", "signed"),
    ("hhi", "HHI (0-10,000)", "number", "signed"),
    ("top_share", "Top supplier's share", "pct", "pts"),
    ("single_source", "Single source", "flag", "flag"),
)
COMPARISON_COLUMNS: Final = (
    Column("measure", "Measure", sortable=False),
    Column("baseline", "Baseline (current allocation)", sortable=False),
    Column("scenario", "Scenario", sortable=False),
    Column("difference", "Difference", sortable=False),
)


def _difference_text(key: str, kind: str, value: Any) -> str:
    if key == "single_source":
        return "changed" if value else "same"
    return _fmt(kind, value)


def comparison_table(result: dict[str, Any]) -> Table:
    """Baseline, scenario and difference, measure by measure (a result's ``to_dict``)."""
    rows = []
    for key, label, kind, diff_kind in COMPARISON_ROWS:
        difference = result["difference"].get(key)
        rows.append(
            {
                "measure": label,
                "baseline": _fmt(kind, result["baseline"].get(key)),
                "scenario": _fmt(kind, result["scenario"].get(key)),
                "difference": _difference_text(key, diff_kind, difference),
            }
        )
    return Table("comparison", "Baseline against scenario", COMPARISON_COLUMNS, pd.DataFrame(rows))


SUPPLIER_COLUMNS: Final = (
    Column("supplier_id", "Supplier", "link", link=SUPPLIER_LINK),
    Column("share_baseline", "Share now", "pct"),
    Column("share_scenario", "Share in scenario", "pct"),
    Column("lines_scenario", "Lines in scenario", "number"),
    Column("expected_late_lines_baseline", "Expected late lines now", "number"),
    Column("expected_late_lines_scenario", "Expected late lines in scenario", "number"),
    Column("late_share_scenario", "Share of late lines in scenario", "pct"),
    Column("p_disruption_horizon", "P(disruption) over the horizon", "pct"),
    Column("delivered_lines_365d", "Lines delivered, last year", "number"),
)


def scenario_supplier_table(result: dict[str, Any]) -> Table:
    """Each supplier's share, expected late lines and disruption chance, now and in the scenario."""
    rows = pd.DataFrame(result["suppliers"]).reindex(columns=[c.key for c in SUPPLIER_COLUMNS])
    rows = rows.sort_values(["share_scenario", "supplier_id"], ascending=[False, True], kind="mergesort")
    table = Table(
        "scenario_suppliers", "Suppliers: their part in late lines and risk", SUPPLIER_COLUMNS, rows
    )
    return replace(table, rows=table.rows.reset_index(drop=True))

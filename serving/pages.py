"""What each workspace page shows, from one deployment: the tables, charts and facts its template renders.

The library builds the tables (``supplierrisk.service.workspace``) and chart specs
(``supplierrisk.service.charts``); this module picks them for a page and its query,
and the export route calls the same functions, so a download holds the page's rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import pandas as pd
from fastapi import HTTPException

from supplierrisk.batch.compute import BATCH_WINDOW_DAYS
from supplierrisk.kpis import kpi_params, quarterly_kpis
from supplierrisk.monitoring.feedback import MONITOR_REPORT
from supplierrisk.service import charts, workspace
from supplierrisk.service.deployment import Deployment
from supplierrisk.service.sourcing import CategoryView, NotFoundError, category_view, supplier_view
from supplierrisk.service.workspace import LineFilter, Table
from supplierrisk.settings import Settings
from supplierrisk.tracking import CHALLENGER, CHAMPION

PAGE_ROWS: Final = 50
# Ranked alternatives listed on a category page (the export has them all).
ALTERNATIVES_SHOWN: Final = 10
TREND_SUPPLIERS: Final = 5


@dataclass(frozen=True)
class Query:
    """A page's sort, paging and filters, as given in its URL."""

    sort: str | None = None
    order: str | None = None
    offset: int = 0

    @property
    def descending(self) -> bool | None:
        """The direction asked for, or None for the column's default."""
        return None if self.order is None else self.order == "desc"


def tables_of(current: Deployment) -> dict[str, pd.DataFrame]:
    """The batch tables, or 503 before the first batch."""
    if current.batch is None:
        raise HTTPException(503, "no batch published yet: run 'supplierrisk score' (the nightly job)")
    return current.batch.tables


def as_of_of(current: Deployment) -> pd.Timestamp:
    """The batch's as-of."""
    assert current.batch is not None  # noqa: S101 - callers took tables_of first
    return current.batch.as_of


def _sorted(table: Table, query: Query) -> Table:
    try:
        return table.sorted_by(query.sort, query.descending) if query.sort else table
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _page_rows(table: Table, query: Query) -> pd.DataFrame:
    return table.page(PAGE_ROWS, query.offset)


def export_query(page: str, table: str, **params: Any) -> str:
    """The export link's query: the page, the table and the page's own parameters."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return urlencode({"page": page, "table": table, **kept})


def home(current: Deployment, query: Query) -> dict[str, Any]:
    """The categories with their KPIs, concentration, risk-band counts and open lines at risk."""
    tables = tables_of(current)
    table = _sorted(workspace.home_table(tables), query)
    return {
        "categories": table,
        "categories_page": _page_rows(table, query),
        "window_days": BATCH_WINDOW_DAYS,
        "notes": current.batch.notes if current.batch else [],
        "export_categories": export_query("home", "categories", sort=query.sort, order=query.order),
        "limit": PAGE_ROWS,
        "offset": query.offset,
    }


def parse_window(window: str | None, days: str | None) -> int:
    """The KPI window: 90, 180 or 365 days, or ``custom`` with ``days``; 400 otherwise."""
    try:
        if window in (None, ""):
            return BATCH_WINDOW_DAYS
        if window == "custom":
            return workspace.check_window(int(days or ""))
        value = int(window)
        if value not in workspace.WINDOWS:
            raise ValueError(f"window must be one of {', '.join(map(str, workspace.WINDOWS))} or custom")
        return value
    except ValueError as exc:
        raise HTTPException(400, f"bad window: {exc}") from None


def _category_kpis(
    current: Deployment, settings: Settings, category: str, window_days: int
) -> pd.DataFrame | None:
    if window_days == BATCH_WINDOW_DAYS:
        return None  # the batch's own figures, as the API serves them
    if current.store is None:
        raise HTTPException(
            503,
            f"a {window_days}-day window needs the history, which is not loaded;"
            f" the batch has {BATCH_WINDOW_DAYS} days",
        )
    lines = current.store.lines_of(category)
    return workspace.category_kpis(lines, category, as_of_of(current), window_days, kpi_params(settings))


def _category_base(
    current: Deployment, settings: Settings, category: str, window_days: int
) -> tuple[CategoryView, Table]:
    """The category's view and its suppliers over the window, kept with the deployment."""
    tables = tables_of(current)

    def build() -> tuple[CategoryView, Table]:
        view = category_view(tables, category)
        kpis = _category_kpis(current, settings, category, window_days)
        return view, workspace.category_suppliers(tables, view, kpis)

    try:
        return current.memo(("category", category, window_days), build)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None


def category_tables(
    current: Deployment, settings: Settings, category: str, window_days: int, band: str | None, query: Query
) -> dict[str, Table]:
    """The category's suppliers (filtered, sorted) and the alternatives to its largest supplier."""
    view, suppliers = _category_base(current, settings, category, window_days)
    try:
        chosen = workspace.with_band(suppliers, band)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"suppliers": _sorted(chosen, query), "alternatives": workspace.alternatives(view)}


def _otd_trend(current: Deployment, settings: Settings, category: str, suppliers: Table) -> charts.Chart:
    top = suppliers.rows.sort_values("spend_share", ascending=False, kind="mergesort")["supplier_id"]
    top = list(top.head(TREND_SUPPLIERS))
    frame = pd.DataFrame(columns=["quarter", "supplier_id", "value", "lo", "hi", "lines"])
    store = current.store
    if store is not None and top:

        def trend() -> pd.DataFrame:
            lines = store.lines_of(category, top)
            table = quarterly_kpis(lines, as_of_of(current), ["supplier_id"], 4, kpi_params(settings))
            return charts.supplier_otd_frame(table)

        frame = current.memo(("category_otd_trend", category, tuple(top)), trend)
    return charts.interval_trend(
        frame,
        "supplier_id",
        "Supplier",
        "otd-trend",
        f"Quarterly OTD of the top suppliers: {category}",
        f"OTD per calendar quarter of the {TREND_SUPPLIERS} largest suppliers of the category, each"
        " with its 90% interval as a shaded band.",
    )


def category(
    current: Deployment, settings: Settings, category: str, window_days: int, band: str | None, query: Query
) -> dict[str, Any]:
    """The category page: suppliers side by side, concentration, alternatives and two charts."""
    parts = category_tables(current, settings, category, window_days, band, query)
    view, everyone = _category_base(current, settings, category, window_days)
    params = {"category": category, "window": window_days, "band": band}
    return {
        "category": category,
        "as_of": as_of_of(current).date().isoformat(),
        "window_days": window_days,
        "batch_window": BATCH_WINDOW_DAYS,
        "windows": workspace.WINDOWS,
        "band": band,
        "concentration": workspace.concentration(view),
        "suppliers": parts["suppliers"],
        "suppliers_page": _page_rows(parts["suppliers"], query),
        "alternatives": parts["alternatives"],
        "alternatives_shown": parts["alternatives"].rows.head(ALTERNATIVES_SHOWN),
        "risk_chart": charts.risk_against_spend(everyone.rows, category),
        "trend_chart": _otd_trend(current, settings, category, everyone),
        "export_suppliers": export_query(
            "category", "suppliers", sort=query.sort, order=query.order, **_window_params(params)
        ),
        "export_alternatives": export_query("category", "alternatives", category=category),
        "limit": PAGE_ROWS,
        "offset": query.offset,
    }


def _window_params(params: dict[str, Any]) -> dict[str, Any]:
    days = params["window"]
    window = {"window": days} if days in workspace.WINDOWS else {"window": "custom", "days": days}
    return {**params, **window}


def supplier_tables(current: Deployment, supplier_id: str, query: Query) -> dict[str, Table]:
    """The supplier's open lines (sorted), the categories it serves and the alternatives in them."""
    tables = tables_of(current)
    try:
        workspace.supplier_row(tables, supplier_id)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    lines = workspace.open_lines(tables, as_of_of(current), LineFilter(supplier_id=supplier_id))
    served = _served(tables, supplier_id)
    return {
        "open_lines": _sorted(lines, query),
        "categories_served": served,
        "alternatives": workspace.supplier_alternatives(tables, supplier_id),
    }


def _served(tables: dict[str, pd.DataFrame], supplier_id: str) -> Table:
    view = supplier_view(tables, supplier_id)
    return Table("categories_served", "Categories served", workspace.SERVED_COLUMNS, view.categories)


def _event_text(current: Deployment) -> str:
    loaded = current.models.get("disruption")
    event = getattr(loaded.model, "event", None) if loaded else None
    return event.describe() if event is not None else "the disruption event of the served model"


def supplier(current: Deployment, supplier_id: str, query: Query) -> dict[str, Any]:
    """The supplier page: risk and drivers, KPIs, history, trend chart, open lines, alternatives."""
    parts = supplier_tables(current, supplier_id, query)
    tables = tables_of(current)
    risk = workspace.supplier_row(tables, supplier_id)
    store = current.store
    rows = store.rows_by_supplier.get(supplier_id) if store is not None else None
    trend = charts.kpi_trend_frame(current.kpi_trend.get(supplier_id, pd.DataFrame()))
    return {
        "supplier_id": supplier_id,
        "as_of": as_of_of(current).date().isoformat(),
        "window_days": BATCH_WINDOW_DAYS,
        "risk": risk,
        "event_text": _event_text(current),
        "drivers": json.loads(risk.get("drivers_json") or "[]"),
        "kpi_columns": workspace.SUPPLIER_KPI_COLUMNS,
        "history": workspace.history_summary(store.history if store else None, rows),
        "trend_chart": charts.interval_trend(
            trend,
            "kpi",
            "KPI",
            "kpi-trend",
            f"Quarterly KPIs: {supplier_id}",
            "OTD, OTIF and fill rate per calendar quarter, each with its 90% interval as a shaded band.",
        ),
        "lines": parts["open_lines"],
        "lines_page": _page_rows(parts["open_lines"], query),
        "served": parts["categories_served"],
        "export_served": export_query("supplier", "categories_served", supplier=supplier_id),
        "alternatives": parts["alternatives"],
        "export_lines": export_query(
            "supplier", "open_lines", supplier=supplier_id, sort=query.sort, order=query.order
        ),
        "export_alternatives": export_query("supplier", "alternatives", supplier=supplier_id),
        "limit": PAGE_ROWS,
        "offset": query.offset,
    }


def parse_line_filter(
    category: str | None, band: str | None, due: str | None, supplier: str | None
) -> LineFilter:
    """The open-lines filter from the form's fields (empty fields: no filter); 400 when malformed."""
    try:
        due_days = int(due) if due not in (None, "") else None
        chosen = LineFilter(category or None, band or None, due_days, supplier or None)
        workspace.check_band(chosen.min_band)
    except ValueError as exc:
        raise HTTPException(400, f"bad filter: {exc}") from None
    return chosen


def lines_table(current: Deployment, chosen: LineFilter, query: Query) -> Table:
    """Open lines across categories, filtered and sorted."""
    try:
        table = workspace.open_lines(tables_of(current), as_of_of(current), chosen)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return _sorted(table, query)


def lines(current: Deployment, chosen: LineFilter, query: Query) -> dict[str, Any]:
    """The open-lines page."""
    table = lines_table(current, chosen, query)
    categories = tables_of(current)["categories"]["category"]
    return {
        "as_of": as_of_of(current).date().isoformat(),
        "chosen": chosen,
        "category_options": sorted(map(str, categories)),
        "lines": table,
        "lines_page": _page_rows(table, query),
        "export_lines": export_query(
            "lines",
            "open_lines",
            category=chosen.category,
            band=chosen.min_band,
            due=chosen.due_within_days,
            supplier=chosen.supplier_id,
            sort=query.sort,
            order=query.order,
        ),
        "limit": PAGE_ROWS,
        "offset": query.offset,
    }


def _feedback(settings: Settings, current: Deployment) -> dict[str, Any] | None:
    """The latest ``supplierrisk monitor`` report, else the batch's own feedback section."""
    path = settings.reports_dir / MONITOR_REPORT
    if path.exists():
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return report
    drift = current.batch.drift if current.batch else None
    return drift.get("performance") if drift else None


def _promotable(current: Deployment) -> dict[str, bool]:
    out = {}
    for kind, cards in current.cards.items():
        challenger, champion = cards.get(CHALLENGER), cards.get(CHAMPION)
        out[kind] = challenger is not None and (champion is None or champion.version != challenger.version)
    return out


def monitoring(current: Deployment, settings: Settings) -> dict[str, Any]:
    """Champion and challenger per model with their backtests, drift and performance feedback."""
    backtests = {
        (kind, alias): workspace.backtest_table(card)
        for kind, cards in current.cards.items()
        for alias, card in cards.items()
    }
    drift = current.batch.drift if current.batch else None
    feedback = _feedback(settings, current)
    tables = {
        **{table.name: table for table in backtests.values()},
        "drift": workspace.drift_table(drift),
        "feedback": workspace.feedback_table(feedback),
    }
    return {
        "models": current.cards,
        "backtests": backtests,
        "promotable": _promotable(current),
        "drift": drift,
        "feedback": feedback,
        "tables": tables,
        "exports": {name: export_query("monitoring", name) for name in tables},
    }

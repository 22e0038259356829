"""What the category manager's workspace shows: its tables, as column lists over frames of one batch.

Every table on a page is a ``Table``: which columns, how each is shown, and the rows
after filtering and sorting. The page, its CSV and its XLSX export are all drawn
from the same ``Table``, so an export holds exactly the rows the page lists (all
pages of them), in the page's order. The figures come from the batch tables and
``kpis.compute_kpis``, the same definitions the API and ``supplierrisk kpis`` use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from supplierrisk.batch.compute import PAIR_KPIS
from supplierrisk.kpis import KpiParams, compute_kpis
from supplierrisk.modeling.metrics import METRIC_NAMES
from supplierrisk.service.deployment import ModelCard
from supplierrisk.service.sourcing import (
    BAND_RANK,
    CategoryView,
    NotFoundError,
    category_members,
    category_view,
    sort_frame,
)

Kind = Literal[
    "text",
    "link",
    "pct",
    "interval",
    "number",
    "index",
    "metric",
    "money",
    "days",
    "band",
    "score",
    "date",
    "flag",
]
# Open lines "at risk": those the OTD model puts in the medium or high band.
AT_RISK_BANDS: Final = ("medium", "high")
WINDOWS: Final = (90, 180, 365)
MIN_WINDOW_DAYS: Final = 7
MAX_WINDOW_DAYS: Final = 3650


@dataclass(frozen=True)
class Column:
    """One column: the frame column it shows, its header, and how a value is shown.

    ``count`` names the column holding how many lines the value rests on, so an empty
    value reads "insufficient data (n lines)"; ``link`` is a URL template filled from the row.
    """

    key: str
    label: str
    kind: Kind = "text"
    count: str | None = None
    link: str | None = None
    sortable: bool = True


@dataclass(frozen=True)
class Table:
    """A table of a page: its columns and all its rows, filtered and sorted (paging is the view's)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: pd.DataFrame
    sort: str | None = None
    descending: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        missing = [c.key for c in self.columns if c.key not in self.rows]
        if missing:
            # A batch published before a column existed: the column shows as empty, and says why.
            object.__setattr__(self, "rows", self.rows.reindex(columns=[*self.rows.columns, *missing]))
            labels = ", ".join(
                c.label.replace(" [90% interval]", "") for c in self.columns if c.key in missing
            )
            note = f"{labels}: not in this batch (published by an earlier version); run 'supplierrisk score'."
            object.__setattr__(self, "notes", (*self.notes, note))
        # A KPI no row has data for says so once, above the table, rather than only cell by cell.
        if not self.notes and len(self.rows):
            empty = [
                c.label.replace(" [90% interval]", "")
                for c in self.columns
                if c.count is not None
                and c.count in self.rows
                and not (self.rows[c.count].fillna(0) > 0).any()
            ]
            if empty:
                note = (
                    f"{', '.join(empty)}: insufficient data on every row (no line in the window"
                    " carries the fields needed)."
                )
                object.__setattr__(self, "notes", (note,))

    def column(self, key: str) -> Column:
        """The column showing ``key``."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def sorted_by(self, key: str | None, descending: bool | None = None) -> Table:
        """The table sorted by the column ``key`` (missing values last); ValueError for other keys."""
        if key is None:
            return self
        sortable = [c.key for c in self.columns if c.sortable]
        if key not in sortable:
            raise ValueError(f"sort must be one of {', '.join(sortable)}, not {key!r}")
        kind = self.column(key).kind
        descending = (kind not in ("text", "link", "date")) if descending is None else descending
        if kind == "band":
            # Bands sort by rank (high, medium, low), not by name.
            ranked = self.rows.assign(_band_rank=self.rows[key].map(BAND_RANK))
            rows = sort_frame(ranked, "_band_rank", descending).drop(columns="_band_rank")
        else:
            rows = sort_frame(self.rows, key, descending)
        return replace(self, rows=rows, sort=key, descending=descending)

    def page(self, limit: int, offset: int) -> pd.DataFrame:
        """Rows ``offset`` to ``offset + limit``."""
        return self.rows.iloc[offset : offset + limit]


SUPPLIER_LINK: Final = "/ui/suppliers/{supplier_id}"
CATEGORY_LINK: Final = "/ui/categories/{category}"


def check_window(window_days: int) -> int:
    """A KPI window in days, within what the workspace offers."""
    if not MIN_WINDOW_DAYS <= window_days <= MAX_WINDOW_DAYS:
        raise ValueError(f"window must be {MIN_WINDOW_DAYS} to {MAX_WINDOW_DAYS} days, not {window_days}")
    return window_days


def check_band(band: str | None) -> str | None:
    """A risk band or None; ValueError names the bands."""
    if band is not None and band not in BAND_RANK:
        raise ValueError(f"band must be one of {', '.join(BAND_RANK)}, not {band!r}")
    return band


def _at_risk_counts(open_lines: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    at_risk = open_lines.loc[open_lines["risk_band"].isin(AT_RISK_BANDS)]
    return at_risk.groupby(by, sort=False).size().rename("open_lines_at_risk").reset_index()


def _band_counts(pairs: pd.DataFrame) -> pd.DataFrame:
    counts = pd.crosstab(pairs["category"], pairs["risk_band"]).reindex(columns=list(BAND_RANK), fill_value=0)
    return counts.add_prefix("suppliers_").reset_index()


def category_rows(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every category of the batch with its KPIs, concentration, band counts and open lines at risk."""
    categories = tables["categories"]
    pairs = tables["supplier_categories"]
    active = pairs.loc[(pairs["spend"].fillna(0) > 0) | (pairs["otd_lines"].fillna(0) > 0)]
    rows = categories.merge(_band_counts(active), on="category", how="left")
    rows = rows.merge(_at_risk_counts(tables["open_lines"], ["category"]), on="category", how="left")
    for column in ("suppliers_low", "suppliers_medium", "suppliers_high", "open_lines_at_risk"):
        rows[column] = rows[column].fillna(0).astype("int64")
    return rows


HOME_COLUMNS: Final = (
    Column("category", "Category", "link", link=CATEGORY_LINK),
    Column("spend", "Spend", "money", count="spend_lines"),
    Column("otd_rate", "OTD [90% interval]", "interval", count="otd_lines"),
    Column("n_suppliers", "Suppliers", "number"),
    Column("hhi", "HHI", "index"),
    Column("single_source", "Single source", "flag"),
    Column("suppliers_high", "High risk", "number"),
    Column("suppliers_medium", "Medium risk", "number"),
    Column("suppliers_low", "Low risk", "number"),
    Column("open_lines_at_risk", "Open lines at risk", "number"),
)


def home_table(
    tables: dict[str, pd.DataFrame], sort: str | None = "spend", descending: bool | None = None
) -> Table:
    """The home page's categories."""
    table = Table("categories", "Categories", HOME_COLUMNS, category_rows(tables))
    return table.sorted_by(sort, descending)


# A supplier's KPIs, as the supplier table, the category comparison and the supplier page show them.
KPI_COLUMNS: Final = (
    Column("otd_rate", "OTD [90% interval]", "interval", count="otd_lines"),
    Column("otif_rate", "OTIF [90% interval]", "interval", count="otif_lines"),
    Column("lead_time_mean_days", "Lead time, mean (days)", "days", count="delivered_lines"),
    Column("lead_time_std_days", "Lead time, std (days)", "days", count="delivered_lines"),
    Column("fill_rate", "Fill [90% interval]", "interval", count="fill_lines"),
    Column("reject_rate", "Rejects [90% interval]", "interval", count="reject_lines"),
    Column("ipv_share", "Price variance lines [90% interval]", "interval", count="ipv_lines"),
)
CATEGORY_SUPPLIER_COLUMNS: Final = (
    Column("supplier_id", "Supplier", "link", link=SUPPLIER_LINK),
    Column("risk_score", "Risk score", "score"),
    Column("risk_band", "Risk band", "band"),
    *KPI_COLUMNS,
    Column("spend_share", "Spend share", "pct"),
    Column("open_lines_at_risk", "Open lines at risk", "number"),
)
SUPPLIER_KPI_COLUMNS: Final = (
    *KPI_COLUMNS,
    Column("lead_time_p90_days", "Lead time, P90 (days)", "days", count="delivered_lines"),
    Column("spend", "Spend", "money", count="spend_lines"),
    Column("spend_share", "Share of all spend", "pct"),
    Column("open_lines", "Open lines", "number"),
    Column("overdue_lines", "Overdue lines", "number"),
)


def category_kpis(
    lines: pd.DataFrame, category: str, as_of: pd.Timestamp, window_days: int, params: KpiParams
) -> pd.DataFrame:
    """Each supplier's KPIs within ``category`` over ``window_days`` to ``as_of`` (``compute_kpis``).

    ``lines`` may be the whole history or already only the category's lines.
    """
    in_category = (lines["category"] == category).to_numpy()
    if not in_category.all():  # no copy of lines that are the category's already
        lines = lines.loc[in_category]
    table = compute_kpis(lines, as_of, check_window(window_days), ["supplier_id", "category"], params).table
    return table.reindex(columns=["supplier_id", *PAIR_KPIS])


def category_suppliers(
    tables: dict[str, pd.DataFrame], view: CategoryView, kpis: pd.DataFrame | None = None
) -> Table:
    """The category's active suppliers side by side, largest spend share first: risk from the batch.

    ``kpis`` (from ``category_kpis``, for a window other than the batch's) replaces the
    batch's own per-category KPIs; without it the batch's are shown, as the API shows them.
    """
    rows = view.suppliers
    if kpis is not None:
        rows = rows.drop(columns=[c for c in PAIR_KPIS if c in rows]).merge(
            kpis, on="supplier_id", how="left"
        )
    category = str(view.summary["category"])
    lines = tables["open_lines"]
    at_risk = _at_risk_counts(lines.loc[lines["category"] == category], ["supplier_id"])
    rows = rows.merge(at_risk, on="supplier_id", how="left")
    rows["open_lines_at_risk"] = rows["open_lines_at_risk"].fillna(0).astype("int64")
    table = Table(
        "suppliers", f"Suppliers of {category}", CATEGORY_SUPPLIER_COLUMNS, rows.reset_index(drop=True)
    )
    return table.sorted_by("spend_share")


def with_band(table: Table, band: str | None) -> Table:
    """The table's rows in risk band ``band`` (all rows when None)."""
    if check_band(band) is None:
        return table
    return replace(table, rows=table.rows.loc[table.rows["risk_band"] == band].reset_index(drop=True))


ALTERNATIVE_COLUMNS: Final = (
    Column("supplier_id", "Supplier", "link", link=SUPPLIER_LINK, sortable=False),
    Column("risk_score", "Risk score", "score", sortable=False),
    Column("risk_band", "Risk band", "band", sortable=False),
    Column("otd_rate", "OTD in category [90% interval]", "interval", count="otd_lines", sortable=False),
    Column("spend_share", "Spend share", "pct", sortable=False),
)


def alternatives(view: CategoryView) -> Table:
    """Other suppliers of the category, lowest disruption risk first, then best OTD (``category_view``)."""
    title = f"Alternatives to {view.replacing}" if view.replacing else "Alternatives"
    return Table("alternatives", title, ALTERNATIVE_COLUMNS, view.alternatives)


def concentration(view: CategoryView) -> dict[str, object]:
    """HHI, single source and the top supplier with its spend share."""
    top = view.suppliers.iloc[0] if len(view.suppliers) else None
    return {
        "hhi": view.summary.get("hhi"),
        "single_source": bool(view.summary.get("single_source")),
        "n_suppliers": int(view.summary.get("n_suppliers") or 0),
        "top_supplier": None if top is None else str(top["supplier_id"]),
        "top_share": None if top is None else top.get("spend_share"),
    }


LINE_COLUMNS: Final = (
    Column("supplier_id", "Supplier", "link", link=SUPPLIER_LINK),
    Column("category", "Category", "text"),
    Column("po_id", "PO", "text"),
    Column("line_id", "Line", "text"),
    Column("promised_date", "Due", "date"),
    Column("p_late", "P(late)", "pct"),
    Column("risk_band", "Band", "band"),
    Column("delay_p50_days", "Delay P50 (days)", "days"),
    Column("delay_p90_days", "Delay P90 (days)", "days"),
    Column("open_value", "Open value", "money"),
)


@dataclass(frozen=True)
class LineFilter:
    """Which open lines to list: by category, band (or higher), due within N days, supplier."""

    category: str | None = None
    min_band: str | None = None
    due_within_days: int | None = None
    supplier_id: str | None = None


def open_lines(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, chosen: LineFilter) -> Table:
    """Open lines of the batch matching ``chosen``, highest ``p_late`` first."""
    lines = tables["open_lines"]
    keep = np.ones(len(lines), dtype=bool)
    if chosen.category is not None:
        keep &= (lines["category"] == chosen.category).to_numpy()
    if check_band(chosen.min_band) is not None:
        keep &= lines["risk_band"].map(BAND_RANK).fillna(-1).to_numpy() >= BAND_RANK[str(chosen.min_band)]
    if chosen.due_within_days is not None:
        if chosen.due_within_days < 0:
            raise ValueError(f"due within must be 0 days or more, not {chosen.due_within_days}")
        last = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=chosen.due_within_days)
        keep &= (pd.to_datetime(lines["promised_date"]) <= last).to_numpy()
    if chosen.supplier_id is not None:
        keep &= (lines["supplier_id"] == chosen.supplier_id).to_numpy()
    rows = lines.loc[keep].reset_index(drop=True)
    return Table("open_lines", "Open lines at risk", LINE_COLUMNS, rows).sorted_by("p_late")


SERVED_COLUMNS: Final = (
    Column("category", "Category", "link", link=CATEGORY_LINK, sortable=False),
    Column("spend", "Spend", "money", sortable=False),
    Column("share_of_category_spend", "Share of category", "pct", sortable=False),
    Column("share_of_supplier_spend", "Share of supplier", "pct", sortable=False),
    Column("otd_rate", "OTD [90% interval]", "interval", count="otd_lines", sortable=False),
)


def supplier_row(tables: dict[str, pd.DataFrame], supplier_id: str) -> pd.Series:
    """The supplier's row of the batch; NotFoundError when it is not active in it."""
    suppliers = tables["suppliers"]
    found = suppliers.loc[suppliers["supplier_id"] == supplier_id]
    if found.empty:
        raise NotFoundError(f"supplier {supplier_id!r} is not active in the latest batch")
    return found.iloc[0]


def supplier_alternatives(tables: dict[str, pd.DataFrame], supplier_id: str) -> Table:
    """For each category the supplier serves, the others ranked as ``alternatives`` ranks them."""
    pairs = tables["supplier_categories"]
    served = pairs.loc[pairs["supplier_id"] == supplier_id, "category"]
    frames = []
    for category in served:
        if supplier_id not in set(category_members(pairs, category)):
            continue
        rows = alternatives(category_view(tables, category, supplier_id)).rows
        frames.append(rows.assign(category=category).head(5))
    rows = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["category", "supplier_id"])
    )
    columns = (
        Column("category", "Category", "link", link=CATEGORY_LINK, sortable=False),
        *ALTERNATIVE_COLUMNS,
    )
    return Table("alternatives", "Alternatives in its categories", columns, rows)


def history_summary(history: pd.DataFrame | None, rows: np.ndarray | None) -> dict[str, object] | None:
    """First and last order, lines and spend of a supplier's whole history (None when not loaded)."""
    if history is None or rows is None:
        return None
    own = history.iloc[rows]
    value = own["quantity_ordered"] * own["unit_price"] if "unit_price" in own else pd.Series(dtype=float)
    currencies = own["currency"].dropna().unique() if "currency" in own else []
    return {
        "first_order": own["order_date"].min(),
        "last_order": own["order_date"].max(),
        "lines": len(own),
        "spend": float(value.sum()) if value.notna().any() and len(currencies) <= 1 else None,
        "spend_note": "mixed currencies" if len(currencies) > 1 else "",
    }


def _metric_columns() -> tuple[Column, ...]:
    return tuple(Column(name, name, "metric", sortable=False) for name in METRIC_NAMES)


def backtest_table(card: ModelCard) -> Table:
    """A registered version's mean backtest: the model and every baseline, the served one marked."""
    rows = pd.DataFrame(
        [
            {"candidate": name, "served": name == card.served_candidate, **values}
            for name, values in card.backtest.items()
        ],
        columns=["candidate", "served", *METRIC_NAMES],
    )
    columns = (
        Column("candidate", "Candidate", sortable=False),
        Column("served", "Served", "flag", sortable=False),
        *_metric_columns(),
    )
    title = f"Backtest of {card.kind} version {card.version} ({card.alias}), mean over folds"
    return Table(f"backtest_{card.kind}_{card.alias}", title, columns, rows)


DRIFT_COLUMNS: Final = (
    Column("model", "Model", sortable=False),
    Column("features_drifted", "Features drifted", "number", sortable=False),
    Column("features_compared", "Features compared", "number", sortable=False),
    Column("share_drifted", "Share drifted", "pct", sortable=False),
    Column("psi", "Prediction PSI", "metric", sortable=False),
    Column("alert", "Alert", "flag", sortable=False),
    Column("note", "Reference", sortable=False),
)


def drift_table(drift: dict[str, Any] | None) -> Table:
    """The batch's drift summary, a row per model (no rows before the first batch)."""
    rows = [
        {
            "model": kind,
            "features_drifted": section.get("features_drifted"),
            "features_compared": section.get("features_compared"),
            "share_drifted": section.get("share_drifted"),
            "psi": (section.get("prediction") or {}).get("psi"),
            "alert": bool(section.get("alert")),
            "note": (section.get("reference") or {}).get("label") or section.get("skipped") or "",
        }
        for kind in ("otd", "disruption")
        if isinstance(section := (drift or {}).get(kind), dict)
    ]
    return Table(
        "drift",
        "Drift of the latest batch",
        DRIFT_COLUMNS,
        pd.DataFrame(rows, columns=[c.key for c in DRIFT_COLUMNS]),
    )


FEEDBACK_COLUMNS: Final = (
    Column("as_of", "Batch as of", "text", sortable=False),
    Column("model", "Model", sortable=False),
    Column("version", "Version", sortable=False),
    Column("n", "Lines or suppliers settled", "number", sortable=False),
    Column("roc_auc", "Realised AUC", "metric", sortable=False),
    Column("backtest_roc_auc", "Backtest AUC", "metric", sortable=False),
    Column("brier", "Realised Brier", "metric", sortable=False),
    Column("backtest_brier", "Backtest Brier", "metric", sortable=False),
    Column("degraded", "Degraded", "flag", sortable=False),
    Column("reasons", "Why", sortable=False),
)


def feedback_table(report: dict[str, Any] | None) -> Table:
    """Past batches' predictions against the outcomes known since (``supplierrisk monitor``'s report)."""
    rows = [
        {
            **{c.key: batch.get(c.key) for c in FEEDBACK_COLUMNS},
            "reasons": "; ".join(batch.get("reasons") or []),
        }
        for batch in (report or {}).get("batches", [])
    ]
    frame = pd.DataFrame(rows, columns=[c.key for c in FEEDBACK_COLUMNS])
    return Table("feedback", "Performance feedback", FEEDBACK_COLUMNS, frame)

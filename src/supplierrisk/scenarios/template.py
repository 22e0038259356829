"""The demand a scenario allocates, and what the history says of each supplier at the as-of.

The template is the category's lines ordered in the horizon-length window up to the
as-of, moved forward by the horizon: next period's orders, placed like the last
period's (same items, quantities, lanes and promised lead times). Planned
quantities replace it when a user gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from supplierrisk.scenarios.inputs import ScenarioInputError

# How many of a supplier's latest lines of an item set its recent unit price (their median).
RECENT_PRICE_LINES = 5
TEMPLATE_KEYS = ("po_id", "line_id")


def demand_template(
    known: pd.DataFrame,
    category: str,
    as_of: pd.Timestamp,
    horizon_days: int,
    planned: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Next horizon's lines of ``category``: the last horizon's, moved forward, or ``planned`` ones.

    Rows are in a canonical order (po and line id), so results never depend on input order.
    """
    in_category = (known["category"] == category).to_numpy()
    if not in_category.any():
        names = ", ".join(sorted(map(str, known["category"].dropna().unique())))
        raise ScenarioInputError(f"unknown category {category!r}; known categories: {names}")
    if planned is not None:
        return planned_template(known.loc[in_category], planned, as_of, horizon_days)
    start = as_of - pd.Timedelta(days=horizon_days)
    recent = known.loc[in_category & (known["order_date"] > start).to_numpy()]
    if recent.empty:
        raise ScenarioInputError(
            f"category {category!r} has no line ordered in the {horizon_days} days to {as_of.date()}:"
            " give planned quantities, a longer --horizon-days or an earlier --as-of"
        )
    shift = pd.Timedelta(days=horizon_days)
    template = recent.assign(
        order_date=recent["order_date"] + shift, promised_date=recent["promised_date"] + shift
    )
    return _canonical(template)


def planned_template(
    category_lines: pd.DataFrame, planned: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int
) -> pd.DataFrame:
    """Lines for planned ``item_id`` x ``quantity`` rows, each like the item's latest line.

    A planned row may name its ``supplier_id``; else the item's latest supplier takes it.
    Orders are spread evenly over the horizon, each with the item's latest promised lead time.
    """
    missing = {"item_id", "quantity"} - set(planned.columns)
    if missing:
        raise ScenarioInputError(
            f"planned quantities need columns item_id and quantity; missing {sorted(missing)}"
        )
    latest = category_lines.sort_values(["order_date", "po_id", "line_id"], kind="mergesort")
    latest = latest.drop_duplicates("item_id", keep="last").set_index("item_id")
    unknown = sorted(set(planned["item_id"].astype(str)) - set(latest.index.astype(str)))
    if unknown:
        raise ScenarioInputError(f"planned items never ordered in this category: {', '.join(unknown[:5])}")
    plan = planned.sort_values(
        [c for c in ("item_id", "supplier_id", "quantity") if c in planned], kind="mergesort"
    )
    rows = latest.loc[plan["item_id"].astype(str)].reset_index()
    quantity = pd.to_numeric(plan["quantity"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(quantity) & (quantity > 0)).all():
        raise ScenarioInputError("planned quantities must be positive numbers")
    lead = rows["promised_date"] - rows["order_date"]
    offsets = np.linspace(1, horizon_days, num=len(rows)).round().astype(int)
    rows["order_date"] = as_of + pd.to_timedelta(offsets, unit="D")
    rows["promised_date"] = rows["order_date"] + lead.to_numpy()
    rows["quantity_ordered"] = quantity
    if "supplier_id" in plan:
        named = plan["supplier_id"].astype(object).to_numpy()
        rows["supplier_id"] = np.where(pd.isna(named), rows["supplier_id"], named)
    rows["po_id"] = "PLANNED"
    rows["line_id"] = [f"{i + 1:06d}" for i in range(len(rows))]
    for column in ("delivered_date", "quantity_received", "quantity_rejected", "invoice_unit_price"):
        if column in rows:
            rows[column] = pd.NaT if column == "delivered_date" else np.nan
    return rows.reset_index(drop=True)


def _canonical(lines: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in (*TEMPLATE_KEYS, "item_id", "supplier_id") if c in lines]
    ordered = lines.sort_values(keys, kind="mergesort")
    return ordered.reset_index(drop=True)


@dataclass(frozen=True)
class SupplierFacts:
    """What the history knew at the as-of of each supplier: identity, prices, items served, volume."""

    known_ids: frozenset[str]  # every supplier with a line by the as-of
    attributes: pd.DataFrame  # index supplier_id: supplier_name, supplier_country
    recent_price: pd.Series  # index (supplier_id, item_id)
    served_items: set[tuple[str, str]]
    served_categories: set[tuple[str, str]]
    peak_weekly_lines: pd.Series  # index supplier_id
    recent_delivered_lines: pd.Series  # index supplier_id: delivered in the year to the as-of

    def knows(self, supplier: str) -> bool:
        """Whether the history holds any line of ``supplier`` by the as-of."""
        return supplier in self.known_ids


def supplier_facts(
    known: pd.DataFrame, as_of: pd.Timestamp, suppliers: set[str] | None = None
) -> SupplierFacts:
    """Facts per supplier from the lines known at ``as_of`` (of ``suppliers`` only, when given)."""
    known_ids = frozenset(known["supplier_id"].dropna().unique())
    if suppliers is not None:
        known = known.loc[known["supplier_id"].isin(suppliers).to_numpy()]
    ordered = known.sort_values(["order_date", "po_id", "line_id"], kind="mergesort")
    attributes = ordered.drop_duplicates("supplier_id", keep="last").set_index("supplier_id")
    attributes = attributes.reindex(columns=["supplier_name", "supplier_country"])
    priced = ordered.loc[ordered["unit_price"].notna() & ordered["item_id"].notna()]
    recent = priced.groupby(["supplier_id", "item_id"], sort=True).tail(RECENT_PRICE_LINES)
    recent_price = recent.groupby(["supplier_id", "item_id"], sort=True)["unit_price"].median()
    delivered = known.loc[known["delivered_date"].notna()]
    items = delivered[["supplier_id", "item_id"]].astype(str).drop_duplicates()
    categories = delivered[["supplier_id", "category"]].astype(str).drop_duplicates()
    served_items = set(zip(items["supplier_id"], items["item_id"], strict=True))
    served_categories = set(zip(categories["supplier_id"], categories["category"], strict=True))
    weeks = known["order_date"].dt.to_period("W")
    peak = known.groupby([known["supplier_id"], weeks]).size().groupby(level=0).max()
    year = delivered["delivered_date"] > as_of - pd.Timedelta(days=365)
    recent_lines = delivered.loc[year].groupby("supplier_id").size()
    return SupplierFacts(
        known_ids,
        attributes,
        recent_price,
        served_items,
        served_categories,
        peak.astype(float),
        recent_lines.reindex(attributes.index, fill_value=0),
    )

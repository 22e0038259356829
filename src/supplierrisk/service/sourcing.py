"""Sourcing views over a published batch: supplier lists, one supplier's page, category roll-ups.

Pure functions of the batch tables (``supplierrisk.batch.compute.TABLES``), so the API,
notebooks and reports select, rank and page suppliers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

BAND_RANK: Final = {"low": 0, "medium": 1, "high": 2}
# Sort key -> (column, default descending): riskiest, largest spend, worst on-time rate first.
SORT_COLUMNS: Final = {"risk": ("p_disruption", True), "spend": ("spend", True), "otd": ("otd_rate", False)}


class NotFoundError(LookupError):
    """An unknown supplier or category."""


def filter_suppliers(
    suppliers: pd.DataFrame,
    supplier_categories: pd.DataFrame,
    category: str | None = None,
    country: str | None = None,
    min_band: str | None = None,
) -> pd.DataFrame:
    """Suppliers serving ``category``, from ``country``, with a risk band of ``min_band`` or above.

    Serving a category means spend or deliveries in it over the batch window. Country matches
    ignore case; an unmatched filter gives an empty frame, not an error.
    """
    keep = np.ones(len(suppliers), dtype=bool)
    if category is not None:
        members = category_members(supplier_categories, category)
        keep &= suppliers["supplier_id"].isin(members).to_numpy()
    if country is not None:
        keep &= (suppliers["supplier_country"].astype(object).str.casefold() == country.casefold()).to_numpy()
    if min_band is not None:
        if min_band not in BAND_RANK:
            raise ValueError(f"min_band must be one of {', '.join(BAND_RANK)}, not {min_band!r}")
        rank = suppliers["risk_band"].map(BAND_RANK).fillna(-1).to_numpy()
        keep &= rank >= BAND_RANK[min_band]
    return suppliers.loc[keep]


def sort_suppliers(frame: pd.DataFrame, by: str, descending: bool | None = None) -> pd.DataFrame:
    """Rows sorted by ``risk``, ``spend`` or ``otd`` (missing values last, ties by supplier id)."""
    if by not in SORT_COLUMNS:
        raise ValueError(f"sort must be one of {', '.join(SORT_COLUMNS)}, not {by!r}")
    column, default = SORT_COLUMNS[by]
    return sort_frame(frame, column, default if descending is None else descending, tie="supplier_id")


def sort_frame(frame: pd.DataFrame, column: str, descending: bool, tie: str | None = None) -> pd.DataFrame:
    """Rows sorted by ``column`` (numbers or text), missing last, ties by ``tie`` (or the first column)."""
    values = frame[column]
    missing = values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        key = values.astype(float).to_numpy()
        key = -key if descending else key
    else:
        codes = pd.factorize(values.astype(object).map(lambda v: str(v).casefold()), sort=True)[0]
        key = -codes if descending else codes
    ties = (frame[tie] if tie is not None else frame.iloc[:, 0]).astype(str).to_numpy()
    order = np.lexsort((ties, key, missing))
    return frame.iloc[order]


def page(frame: pd.DataFrame, limit: int, offset: int) -> pd.DataFrame:
    """Rows ``offset`` to ``offset + limit``."""
    return frame.iloc[offset : offset + limit]


def category_members(supplier_categories: pd.DataFrame, category: str) -> pd.Series:
    """Supplier ids with spend or deliveries in ``category`` over the batch window."""
    rows = supplier_categories.loc[supplier_categories["category"] == category]
    active = (rows["spend"].fillna(0) > 0) | (rows["otd_lines"].fillna(0) > 0)
    return rows.loc[active, "supplier_id"]


@dataclass(frozen=True)
class SupplierView:
    """Everything the supplier page shows, from one batch."""

    risk: pd.Series
    categories: pd.DataFrame
    open_lines: pd.DataFrame


def supplier_view(
    tables: dict[str, pd.DataFrame], supplier_id: str, open_lines_limit: int = 100
) -> SupplierView:
    """One supplier's risk and KPIs, the categories it serves, and its open lines by ``p_late``.

    Each category served carries the supplier's share of the category's spend and of its own spend.
    """
    suppliers = tables["suppliers"]
    found = suppliers.loc[suppliers["supplier_id"] == supplier_id]
    if found.empty:
        raise NotFoundError(f"supplier {supplier_id!r} is not active in the latest batch")
    pairs = tables["supplier_categories"]
    served = pairs.loc[
        (pairs["supplier_id"] == supplier_id) & (pairs["spend"].fillna(0) + pairs["otd_lines"] > 0)
    ]
    served = served.rename(columns={"spend_share": "share_of_category_spend"})
    total = served["spend"].sum()
    served = served.assign(
        share_of_supplier_spend=served["spend"] / total if total > 0 else np.nan
    ).sort_values(["spend", "category"], ascending=[False, True], na_position="last", kind="mergesort")
    lines = tables["open_lines"]
    own = lines.loc[lines["supplier_id"] == supplier_id].sort_values(
        ["p_late", "po_id", "line_id"], ascending=[False, True, True], kind="mergesort"
    )
    return SupplierView(
        found.iloc[0], served.reset_index(drop=True), own.head(open_lines_limit).reset_index(drop=True)
    )


@dataclass(frozen=True)
class CategoryView:
    """A category's roll-up, its suppliers and the alternatives to one of them."""

    summary: pd.Series
    suppliers: pd.DataFrame
    replacing: str | None
    alternatives: pd.DataFrame


def category_view(
    tables: dict[str, pd.DataFrame], category: str, replacing: str | None = None
) -> CategoryView:
    """The roll-up of ``category``: its active suppliers by spend, and alternatives ranked by risk then OTD.

    Alternatives are the other active suppliers of the category, lowest disruption risk
    first, then best on-time rate in the category. They replace ``replacing`` if given,
    else the incumbent (the supplier with the largest spend share).
    """
    categories = tables["categories"]
    found = categories.loc[categories["category"] == category]
    if found.empty:
        raise NotFoundError(f"category {category!r} is not in the latest batch")
    pairs = tables["supplier_categories"]
    active_ids = set(tables["suppliers"]["supplier_id"])
    members = set(category_members(pairs, category))
    rows = pairs.loc[(pairs["category"] == category) & pairs["supplier_id"].isin(members & active_ids)]
    rows = rows.sort_values(
        ["spend", "supplier_id"], ascending=[False, True], na_position="last", kind="mergesort"
    )
    if replacing is not None and replacing not in members:
        raise NotFoundError(f"supplier {replacing!r} does not serve category {category!r}")
    incumbent = replacing if replacing is not None else (rows["supplier_id"].iloc[0] if len(rows) else None)
    others = rows.loc[rows["supplier_id"] != incumbent]
    alternatives = others.sort_values(
        ["p_disruption", "otd_rate", "supplier_id"],
        ascending=[True, False, True],
        na_position="last",
        kind="mergesort",
    )
    return CategoryView(
        found.iloc[0], rows.reset_index(drop=True), incumbent, alternatives.reset_index(drop=True)
    )

"""Features of PO lines as of a day: supplier history, group rates, the line's own fields.

``build_line_features`` is the one function behind training (as of each line's
order date), batch scoring and online scoring (as of the scoring day).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.features.events import day_numbers
from supplierrisk.features.history import HistoryIndex
from supplierrisk.schema import EXTRA_PREFIX

# Line fields used as categorical features when the history has them.
CATEGORICAL_LINE_FIELDS: Final = ("ship_mode", "incoterm", "category", "destination", "supplier_country")


def feature_schema(history: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The categorical and numeric line fields (incl. extras) that this history can feed."""
    categorical = [c for c in CATEGORICAL_LINE_FIELDS if c in history and history[c].notna().any()]
    numeric: list[str] = []
    for column in history.columns:
        if not column.startswith(EXTRA_PREFIX) or not history[column].notna().any():
            continue
        if pd.api.types.is_numeric_dtype(history[column]):
            numeric.append(column)
        else:
            categorical.append(column)
    return categorical, numeric


def _days_to_quarter_end(dates: pd.Series) -> np.ndarray:
    """Days from each date to the last day of its quarter (vectorised month arithmetic)."""
    days = dates.to_numpy(dtype="datetime64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    next_quarter = ((months // 3) + 1) * 3
    quarter_end = next_quarter.astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    out = (quarter_end - days).astype(np.int64).astype(float)
    out[np.isnat(days)] = np.nan
    return out


def build_line_features(
    index: HistoryIndex,
    lines: pd.DataFrame,
    as_of: pd.Series,
    categorical: list[str],
    numeric_extras: list[str],
) -> pd.DataFrame:
    """Features for ``lines`` (canonical rows), each as of its ``as_of`` day.

    Supplier history comes from ``index`` (events strictly before ``as_of``);
    the rest are the line's own order-time fields. Never reads outcome fields.
    """
    as_of = pd.to_datetime(as_of).astype("datetime64[ns]")
    as_of.index = lines.index
    # Work in (supplier, as-of) order: binary searches and gathers then walk memory in order,
    # several times faster at millions of rows. The result is put back in the caller's order.
    order = np.lexsort((day_numbers(as_of), index.supplier.codes(lines[["supplier_id"]])))
    if not np.all(order[1:] > order[:-1]):
        restore = np.empty_like(order)
        restore[order] = np.arange(len(order))
        ordered = _build(index, lines.iloc[order], as_of.iloc[order], categorical, numeric_extras)
        return ordered.iloc[restore]
    return _build(index, lines, as_of, categorical, numeric_extras)


def _build(
    index: HistoryIndex,
    lines: pd.DataFrame,
    as_of: pd.Series,
    categorical: list[str],
    numeric_extras: list[str],
) -> pd.DataFrame:
    # Arrays by name, one frame at the end: inserting columns one by one costs more than scoring a line.
    feats: dict[str, np.ndarray] = dict(index.supplier_feature_arrays(lines, as_of))
    usual = index.usual_order(lines, as_of)
    promised_lead = (lines["promised_date"] - lines["order_date"]).dt.days.to_numpy(dtype=float)
    feats["promised_lead_time_days"] = promised_lead
    lane_lead = index.lane_lead_time(lines, as_of)
    usual_lead = np.where(np.isnan(lane_lead), feats["sup_lead_time_mean_days_365d"], lane_lead)
    with np.errstate(invalid="ignore", divide="ignore"):
        feats["promised_vs_usual_lead_time_ratio"] = (promised_lead + 1.0) / (usual_lead + 1.0)
        feats["promised_vs_usual_promise_ratio"] = (promised_lead + 1.0) / (usual["promised_lead_mean"] + 1.0)
        quantity = lines["quantity_ordered"].to_numpy(dtype=float)
        value = quantity * lines["unit_price"].to_numpy(dtype=float)
        feats["log_quantity_vs_usual"] = np.log1p(np.clip(quantity, 0, None)) - usual["log_quantity_mean"]
        if index.has_value:
            feats["log_value_vs_usual"] = np.log1p(np.clip(value, 0, None)) - usual["log_value_mean"]
    feats["promised_month"] = lines["promised_date"].dt.month.to_numpy(dtype=float)
    feats["days_to_quarter_end"] = _days_to_quarter_end(lines["promised_date"])
    for column in numeric_extras:
        feats[column] = (
            pd.to_numeric(lines[column], errors="coerce").to_numpy(dtype=float)
            if column in lines
            else np.full(len(lines), np.nan)
        )
    # One float32 block for the numbers (column-major, so each column is contiguous), then the text
    # columns: pandas then never has to consolidate dozens of separate arrays.
    block = np.empty((len(lines), len(feats)), dtype=np.float32, order="F")
    for j, values in enumerate(feats.values()):
        block[:, j] = values
    numeric = pd.DataFrame(block, index=lines.index, columns=list(feats), copy=False)
    if not categorical:
        return numeric
    text = pd.DataFrame(
        {
            column: lines[column].astype(object).to_numpy()
            if column in lines
            else np.full(len(lines), None, dtype=object)
            for column in categorical
        },
        index=lines.index,
    )
    return pd.concat([numeric, text], axis=1)

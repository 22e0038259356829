"""Features of PO lines as of a day: supplier history, group rates, the line's own fields.

``build_line_features`` is the one function behind training (as of each line's
order date), batch scoring and online scoring (as of the scoring day).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.features.events import day_numbers
from supplierrisk.features.history import HistoryArrays, HistoryCache, HistoryIndex, Queries, history_arrays
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


def _days_to_quarter_end(days: np.ndarray) -> np.ndarray:
    """Days from each date (``datetime64[D]``) to the last day of its quarter (month arithmetic)."""
    months = days.astype("datetime64[M]").astype(np.int64)
    next_quarter = ((months // 3) + 1) * 3
    quarter_end = next_quarter.astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    out = (quarter_end - days).astype(np.int64).astype(float)
    out[np.isnat(days)] = np.nan
    return out


def _days_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Whole days from ``earlier`` to ``later`` (``datetime64[D]``); NaN where either is missing."""
    days = (later - earlier).astype(np.int64).astype(float)
    days[np.isnat(later) | np.isnat(earlier)] = np.nan
    return days


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
    order = np.lexsort((day_numbers(as_of), index.supplier.codes(lines)))
    if not np.all(order[1:] > order[:-1]):
        restore = np.empty_like(order)
        restore[order] = np.arange(len(order))
        ordered = lines.iloc[order]
        numeric = _numeric_arrays(index, ordered, as_of.to_numpy()[order], numeric_extras)
        return _frame(numeric, ordered, categorical).iloc[restore]
    return _frame(_numeric_arrays(index, lines, as_of.to_numpy(), numeric_extras), lines, categorical)


def line_feature_arrays(
    index: HistoryIndex,
    lines: Queries,
    as_of: np.ndarray,
    categorical: list[str],
    numeric_extras: list[str],
    cache: HistoryCache | None = None,
) -> dict[str, np.ndarray]:
    """``build_line_features`` as arrays by name, in the lines' order, without building a frame.

    ``lines`` is a frame or its columns as arrays by name. The same features from the
    same code: numbers as float32 (as in the frame), text columns as objects, so encoding
    either gives the same matrix. For a few lines (online scoring), where assembling
    frames costs more than the features themselves. A ``cache`` (of ``index`` at the
    lines' one as-of day) answers the history side from keys seen before.
    """
    as_of = np.asarray(as_of, dtype="datetime64[ns]")
    past = None
    if cache is not None:
        if cache.index is not index or (as_of != cache.as_of.to_datetime64()).any():
            raise ValueError("the history cache holds another index or as-of day than these lines")
        past = cache.arrays(lines)
    numeric = _numeric_arrays(index, lines, as_of, numeric_extras, past)
    arrays = {name: np.asarray(values, dtype=np.float32) for name, values in numeric.items()}
    return arrays | _text_arrays(lines, categorical, len(as_of))


def _numeric_arrays(
    index: HistoryIndex,
    lines: Queries,
    as_of: np.ndarray,
    numeric_extras: list[str],
    past: HistoryArrays | None = None,
) -> dict[str, np.ndarray]:
    rows = len(as_of)
    past = history_arrays(index, lines, as_of) if past is None else past
    feats: dict[str, np.ndarray] = dict(past.supplier)
    usual = past.usual
    # numpy date arithmetic, not the .dt accessor: the same days, without pandas' cost per call.
    promised = np.asarray(lines["promised_date"], dtype="datetime64[D]")
    promised_lead = _days_between(promised, np.asarray(lines["order_date"], dtype="datetime64[D]"))
    feats["promised_lead_time_days"] = promised_lead
    lane_lead = past.lane_lead_time
    usual_lead = np.where(np.isnan(lane_lead), feats["sup_lead_time_mean_days_365d"], lane_lead)
    with np.errstate(invalid="ignore", divide="ignore"):
        feats["promised_vs_usual_lead_time_ratio"] = (promised_lead + 1.0) / (usual_lead + 1.0)
        feats["promised_vs_usual_promise_ratio"] = (promised_lead + 1.0) / (usual["promised_lead_mean"] + 1.0)
        quantity = np.asarray(lines["quantity_ordered"], dtype=float)
        value = quantity * np.asarray(lines["unit_price"], dtype=float)
        feats["log_quantity_vs_usual"] = np.log1p(np.clip(quantity, 0, None)) - usual["log_quantity_mean"]
        if index.has_value:
            feats["log_value_vs_usual"] = np.log1p(np.clip(value, 0, None)) - usual["log_value_mean"]
    month = (promised.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(float)
    feats["promised_month"] = np.where(np.isnat(promised), np.nan, month)
    feats["days_to_quarter_end"] = _days_to_quarter_end(promised)
    for column in numeric_extras:
        feats[column] = (
            np.asarray(pd.to_numeric(np.asarray(lines[column]), errors="coerce"), dtype=float)
            if column in lines
            else np.full(rows, np.nan)
        )
    return feats


def _text_arrays(lines: Queries, categorical: list[str], rows: int) -> dict[str, np.ndarray]:
    return {
        column: np.asarray(lines[column], dtype=object)
        if column in lines
        else np.full(rows, None, dtype=object)
        for column in categorical
    }


def _frame(numeric: dict[str, np.ndarray], lines: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    # One float32 block for the numbers (column-major, so each column is contiguous), then the text
    # columns: pandas then never has to consolidate dozens of separate arrays.
    block = np.empty((len(lines), len(numeric)), dtype=np.float32, order="F")
    for j, values in enumerate(numeric.values()):
        block[:, j] = values
    frame = pd.DataFrame(block, index=lines.index, columns=list(numeric), copy=False)
    if not categorical:
        return frame
    text = pd.DataFrame(_text_arrays(lines, categorical, len(lines)), index=lines.index)
    return pd.concat([frame, text], axis=1)

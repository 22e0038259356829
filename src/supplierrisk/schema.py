"""The canonical procurement history: one row per purchase-order line.

Every other module reads this shape. Strings are pandas ``object`` columns with
``None`` for missing, dates are ``datetime64[ns]`` at midnight (dates only), and
numbers are ``float64`` with ``NaN`` for missing. Extra columns carried from a
source for modelling are prefixed ``extra_``.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

STRING_FIELDS: Final = (
    "po_id",
    "line_id",
    "supplier_id",
    "supplier_name",
    "supplier_country",
    "category",
    "item_id",
    "currency",
    "ship_mode",
    "incoterm",
    "destination",
)
DATE_FIELDS: Final = ("order_date", "promised_date", "delivered_date")
NUMERIC_FIELDS: Final = (
    "quantity_ordered",
    "quantity_received",
    "quantity_rejected",
    "unit_price",
    "invoice_unit_price",
)
CANONICAL_FIELDS: Final = (
    "po_id",
    "line_id",
    "supplier_id",
    "supplier_name",
    "supplier_country",
    "category",
    "item_id",
    "order_date",
    "promised_date",
    "delivered_date",
    "quantity_ordered",
    "quantity_received",
    "quantity_rejected",
    "unit_price",
    "invoice_unit_price",
    "currency",
    "ship_mode",
    "incoterm",
    "destination",
)
REQUIRED_FIELDS: Final = ("po_id", "supplier_id", "order_date", "promised_date")
KEY_FIELDS: Final = ("po_id", "line_id")

# Where the order date came from ("source" when mapped directly; presets may say more).
ORDER_DATE_SOURCE: Final = "order_date_source"
# The first promised date ever stored for a line (ingest keeps it when a newer export moves the promise).
PROMISED_DATE_FIRST: Final = "promised_date_first"
EXTRA_PREFIX: Final = "extra_"

# Outcomes and facts known only after shipment: never model features.
POST_OUTCOME_FIELDS: Final = (
    "delivered_date",
    "quantity_received",
    "quantity_rejected",
    "invoice_unit_price",
)


def extra_columns(history: pd.DataFrame) -> list[str]:
    """Names of the extra (mapped, non-canonical) columns carried in ``history``."""
    return [c for c in history.columns if c.startswith(EXTRA_PREFIX)]


def empty_history() -> pd.DataFrame:
    """An empty canonical history with every field and its dtype."""
    return conform(pd.DataFrame({name: [] for name in CANONICAL_FIELDS}))


def conform(frame: pd.DataFrame, text_columns: Collection[str] = (), owned: bool = False) -> pd.DataFrame:
    """Return ``frame`` with every canonical column present, in order, with canonical dtypes.

    Absent optional fields become all-missing columns; they are never filled with
    invented values. Extra and metadata columns are kept after the canonical ones.
    ``text_columns`` are known to hold only ``str`` and ``None`` (as pyarrow reads text),
    so they skip the pass that looks for other missing values. The result shares no
    data with ``frame`` unless the caller hands it over (``owned``): then columns that
    are already canonical are taken as they are, without a copy.
    """
    columns: dict[str, pd.Series] = {}
    for name in CANONICAL_FIELDS:
        if name in DATE_FIELDS:
            col = frame[name] if name in frame else pd.Series(pd.NaT, index=frame.index)
            # normalize makes a new array, so the cast before it need not copy.
            columns[name] = pd.to_datetime(col).astype("datetime64[ns]", copy=False).dt.normalize()
        elif name in NUMERIC_FIELDS:
            col = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
            columns[name] = pd.to_numeric(col).astype("float64", copy=not owned)
        elif name in frame:
            col = frame[name]
            columns[name] = _own(_as_text(col, name in text_columns), col, owned)
        else:
            columns[name] = pd.Series(np.full(len(frame), None, dtype=object), index=frame.index)
    for name in frame.columns:
        if name not in columns:
            col = frame[name]
            columns[name] = _own(col, col, owned)
    if ORDER_DATE_SOURCE in columns:
        columns[ORDER_DATE_SOURCE] = _as_text(columns[ORDER_DATE_SOURCE], ORDER_DATE_SOURCE in text_columns)
    if PROMISED_DATE_FIRST in columns:
        columns[PROMISED_DATE_FIRST] = pd.to_datetime(columns[PROMISED_DATE_FIRST]).astype("datetime64[ns]")
    # Dates above are new arrays, numbers too unless owned; ``_own`` copies what may be the caller's.
    return pd.DataFrame(columns, index=frame.index, copy=False)


def _own(col: pd.Series, source: pd.Series, owned: bool) -> pd.Series:
    """``col``, copied when it is still the caller's ``source`` column and the caller keeps ``source``."""
    return col.copy() if col is source and not owned else col


def from_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A canonical frame from already-typed records (``date`` or ``None`` dates, numbers, strings).

    The same result as ``conform`` on such records, built column by column without
    per-value parsing. Keys other than canonical fields are kept after them, in first-seen order.
    """
    return pd.DataFrame(record_columns(records))


def record_columns(
    records: Sequence[Mapping[str, Any]], absent: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """``from_records``'s columns as arrays by name: what online scoring reads, without a frame.

    Fields in ``absent`` read as missing on every record, whatever the records hold.
    """
    rows = len(records)
    # Every key of every record in first-seen order, in one pass at C speed: fields no record
    # holds are filled without a pass of their own (at 1,000 lines each pass costs more than a row).
    held = dict.fromkeys(itertools.chain.from_iterable(records))
    columns: dict[str, np.ndarray] = {}
    for name in CANONICAL_FIELDS:
        if name in absent or name not in held:
            columns[name] = _missing_column(name, rows)
            continue
        values = [r.get(name) for r in records]
        if name in DATE_FIELDS:
            columns[name] = _days(values).astype("datetime64[ns]")
        elif name in NUMERIC_FIELDS:
            columns[name] = np.array(values, dtype=np.float64)  # None becomes NaN
        else:
            columns[name] = np.array([None if v is None else str(v) for v in values], dtype=object)
    for name in held:
        if name not in columns and name not in absent:
            columns[name] = _inferred([r.get(name) for r in records])
    return columns


def _missing_column(name: str, rows: int) -> np.ndarray:
    """A canonical field missing on every record, as ``record_columns`` gives it."""
    if name in DATE_FIELDS:
        return np.full(rows, np.datetime64("NaT"), dtype="datetime64[ns]")
    if name in NUMERIC_FIELDS:
        return np.full(rows, np.nan)
    return np.full(rows, None, dtype=object)


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_NAT: Final = np.iinfo(np.int64).min


def _days(values: list[Any]) -> np.ndarray:
    """Dates (or None) as ``datetime64[D]``."""
    if all(v is None or isinstance(v, date) for v in values):
        # Day ordinals are one C call each; numpy converts date objects about ten times slower.
        ordinals = [_NAT if v is None or v is pd.NaT else v.toordinal() - _EPOCH_ORDINAL for v in values]
        return np.array(ordinals, dtype=np.int64).astype("datetime64[D]")
    return np.array(values, dtype="datetime64[D]")


def _inferred(values: list[Any]) -> np.ndarray:
    """Numbers as a numeric column, as ``conform`` would give; the rest as objects (pandas' inference)."""
    # The usual cases answered directly: pandas' inference costs more than scoring a line.
    if all(v is None or isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    if all(type(v) is float for v in values):
        return np.array(values, dtype=np.float64)
    return pd.Series(np.array(values, dtype=object)).infer_objects().to_numpy()


def has_values(history: pd.DataFrame, field: str) -> bool:
    """True when ``field`` exists and holds at least one non-missing value."""
    return field in history.columns and bool(history[field].notna().any())


def _as_text(col: pd.Series, known_text: bool) -> pd.Series:
    return col if known_text and col.dtype == object else _as_object_strings(col)


def _as_object_strings(col: pd.Series) -> pd.Series:
    if col.dtype == object:
        # A stored history is already objects: only its missing values need a pass, and often none.
        present = col.notna()
        return col if bool(present.all()) else col.where(present, None)
    values = col.astype(object)
    return values.where(values.notna(), None)

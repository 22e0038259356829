"""CSV and XLSX exports of a workspace ``Table``: its rows in its order, with plain values.

An interval column becomes three (value, 90% low, 90% high) and a value resting on a
line count gets that count beside it, so a spreadsheet keeps what the page shows.
Rates stay fractions (0.923, not "92.3%"); text cells that a spreadsheet would run
as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any, Final

import numpy as np
import pandas as pd
from openpyxl import Workbook

from supplierrisk.service.workspace import Table

FORMATS: Final = ("csv", "xlsx")
MEDIA_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def export_frame(table: Table) -> pd.DataFrame:
    """The table's rows as export columns, headed by the page's labels."""
    out: dict[str, Any] = {}
    for column in table.columns:
        values = table.rows[column.key] if column.key in table.rows else pd.Series([None] * len(table.rows))
        out[column.label.replace(" [90% interval]", "")] = values.to_numpy()
        if column.kind == "interval":
            for end, label in (("lo", "90% low"), ("hi", "90% high")):
                name = f"{column.key}_{end}"
                bound = table.rows[name] if name in table.rows else pd.Series([None] * len(table.rows))
                out[f"{column.label.replace(' [90% interval]', '')} {label}"] = bound.to_numpy()
        if column.count and column.count in table.rows:
            out.setdefault(f"{column.count} (lines)", table.rows[column.count].to_numpy())
    return pd.DataFrame(out)


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV (with a byte-order mark, so spreadsheets read accents right)."""
    frame = export_frame(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        writer.writerow(["" if (c := _cell(v)) is None else c for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table, subtitle: str) -> bytes:
    """The table as one XLSX sheet: its columns, rows, and a line saying what and as of when."""
    frame = export_frame(table)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_UNSAFE_NAME.sub("_", table.name)[:31] or "table")
    sheet.append([subtitle])
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_name(table: Table, scope: str | None, as_of: pd.Timestamp, extension: str) -> str:
    """``supplierrisk_<table>[_<scope>]_as-of-<day>.<ext>``, safe as a file name."""
    parts = ["supplierrisk", table.name, *([scope] if scope else []), f"as-of-{pd.Timestamp(as_of).date()}"]
    stem = "_".join(_UNSAFE_NAME.sub("-", part).strip("-") for part in parts)
    return f"{stem}.{extension}"


def render(table: Table, fmt: str, subtitle: str) -> bytes:
    """The table in ``fmt`` (csv or xlsx)."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table, subtitle)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")

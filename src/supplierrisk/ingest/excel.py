"""Excel workbooks (.xlsx, .xlsm, .xls, .xlsb, .ods) read with calamine, cells keeping their types.

ERP exports often put a title or filter block above the header, so the header is
the first row (of the first 50) that holds every column the mapping names; the
sheet is the mapping's ``sheet:``, else the first sheet that has such a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from supplierrisk.ingest.errors import IngestError
from supplierrisk.ingest.mapping import Mapping

# Rows searched for the header, from the top of each sheet.
HEADER_SEARCH_ROWS: Final = 50
# Columns a preset derives in Python before the mapping applies: never in the file itself.
DERIVED_PREFIX: Final = "derived:"


@dataclass(frozen=True)
class ExcelSheet:
    """The data rows of one sheet under its header, and where they came from."""

    frame: pd.DataFrame
    sheet: str
    header_row: int  # 1-based, as Excel numbers rows


def mapped_source_columns(mapping: Mapping) -> list[str]:
    """The file columns a mapping reads (derived preset columns excluded)."""
    names = [*mapping.columns.values(), *(extra.column for extra in mapping.extra_columns.values())]
    return list(dict.fromkeys(n for n in names if not n.startswith(DERIVED_PREFIX)))


def _open(path: Path) -> Any:
    import python_calamine

    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for unreadable files
        raise IngestError(f"{path}: not a readable Excel workbook ({exc})") from None


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_position(rows: list[list[object]], wanted: list[str]) -> tuple[int, int]:
    """The index of the first row holding all ``wanted`` names, and the best match count (-1 if none)."""
    best = 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = {_cell_text(v) for v in row}
        found = sum(name in cells for name in wanted)
        if found == len(wanted):
            return i, found
        best = max(best, found)
    return -1, best


def _frame(rows: list[list[object]], header: int) -> pd.DataFrame:
    names = [_cell_text(v) for v in rows[header]]
    width = len(names)
    body = [
        row + [""] * (width - len(row)) if len(row) < width else row[:width] for row in rows[header + 1 :]
    ]
    # Trailing blank rows are formatting, not data.
    while body and all(v == "" or v is None for v in body[-1]):
        body.pop()
    frame = pd.DataFrame(body, columns=names, dtype=object)
    unnamed = [i for i, n in enumerate(names) if n == ""]
    return frame.drop(columns=frame.columns[unnamed]) if unnamed else frame


def read_excel(path: Path, mapping: Mapping) -> ExcelSheet:
    """The mapped sheet's data rows below its header (see the module docstring)."""
    book = _open(path)
    names = list(book.sheet_names)
    if mapping.sheet is not None:
        chosen = _sheet_name(path, names, mapping.sheet)
        candidates = [chosen]
    else:
        candidates = names
    wanted = mapped_source_columns(mapping)
    misses: list[str] = []
    for name in candidates:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        if not rows:
            misses.append(f"'{name}' is empty")
            continue
        header, found = _header_position(rows, wanted) if wanted else (0, 0)
        if header >= 0:
            return ExcelSheet(_frame(rows, header), name, header + 1)
        misses.append(f"'{name}' has {found} of them in its first {HEADER_SEARCH_ROWS} rows")
    raise IngestError(
        f"{path}: no sheet has a header row with every mapped column ({', '.join(wanted)}): "
        + "; ".join(misses)
        + " (check the column names, or set 'sheet:' in the mapping)"
    )


def _sheet_name(path: Path, names: list[str], sheet: str | int) -> str:
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise IngestError(f"{path}: mapping entry 'sheet': no sheet number {sheet} (sheets: {names})")
        return names[sheet]
    if sheet not in names:
        raise IngestError(f"{path}: mapping entry 'sheet': no sheet named {sheet!r} (sheets: {names})")
    return sheet

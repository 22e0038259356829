"""Source cells to canonical values: text, numbers and dates, each cell parsed by its own kind.

CSV cells are all text. Parquet columns have one type each. Excel cells mix
numbers, dates, text and times in one column. Every parser here takes any of
them and reports the cells it cannot turn into a value, so the validator can
reject their rows with a reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

# Excel's day zero: 1899-12-30 is serial 0, what an empty date cell of many ERPs holds.
EXCEL_EPOCH: Final = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_MAX: Final = 2_958_465  # 9999-12-31
# Text that ERPs write for "no date" in date fields.
ZERO_DATE_TOKENS: Final = frozenset({"00.00.0000", "0000-00-00", "00/00/0000", "00000000", "1899-12-30"})
# C0 controls other than tab, newline and carriage return, and DEL: never part of an id or a name.
CONTROL_CHARACTERS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bytes that were not valid UTF-8, kept as lone surrogates by the reader.
UNDECODABLE_BYTES: Final = re.compile("[\udc80-\udcff]")
# Cells joined by NUL (no whitespace): whitespace after or before a separator, i.e. at a cell's
# start or end. Starting with the literal lets the engine skip from NUL to NUL (25x faster).
# For str patterns ``\s`` is exactly ``str.isspace``, the set ``str.strip`` removes.
_EDGE_WHITESPACE: Final = re.compile(r"\x00(?:\s|(?<=\s\x00))")

_TEXT, _NUMBER, _DATE, _TIME, _MISSING = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class CellKinds:
    """Boolean masks of the kind of each cell (missing cells are in none of them)."""

    text: np.ndarray
    number: np.ndarray
    date: np.ndarray
    time: np.ndarray


def _kind(value: object) -> int:
    if value is None:
        return _MISSING
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, bool | np.bool_):
        return _TEXT
    if isinstance(value, int | float | np.integer | np.floating):
        return _MISSING if value != value else _NUMBER  # NaN is missing
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp | np.datetime64):
        return _MISSING if pd.isna(value) else _DATE
    if isinstance(value, dt.time):
        return _TIME
    return _TEXT


def is_numeric(series: pd.Series) -> bool:
    """A numeric, non-boolean column."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def cell_kinds(series: pd.Series) -> CellKinds:
    """The kind of every cell; typed columns are answered without looking at each value."""
    n = len(series)
    empty = np.zeros(n, dtype=bool)
    present = series.notna().to_numpy()
    if is_numeric(series):
        return CellKinds(empty, present, empty, empty)
    if pd.api.types.is_datetime64_any_dtype(series):
        return CellKinds(empty, empty, present, empty)
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return CellKinds(present, empty, empty, empty)
    kinds = np.fromiter((_kind(v) for v in series.to_numpy(dtype=object)), dtype=np.int8, count=n)
    return CellKinds(kinds == _TEXT, kinds == _NUMBER, kinds == _DATE, kinds == _TIME)


def _number_text(values: np.ndarray) -> np.ndarray:
    """Numbers as they read: whole numbers without a decimal point (an id 4500001.0 is '4500001')."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.astype(float)):
        out[i] = str(int(v)) if v.is_integer() else repr(float(v))
    return out


def strip_cells(text: pd.Series) -> pd.Series:
    """``str.strip`` of every cell; skipped when one search over all cells finds nothing to strip.

    Exports rarely pad their cells, and the per-cell strip is most of the time spent on text.
    A NUL inside a cell can only make the search match, so it never skips a needed strip.
    """
    joined = "\x00".join(text.tolist())
    ends = joined[:1] + joined[-1:]  # the first cell's start and the last one's end
    if _EDGE_WHITESPACE.search(joined) is None and not any(ch.isspace() for ch in ends):
        return text
    return text.str.strip()


def to_text(series: pd.Series, missing: frozenset[str]) -> pd.Series:
    """Cells as stripped text; missing tokens, NaN and empty cells become None."""
    kinds = cell_kinds(series)
    values = series.to_numpy(dtype=object)
    out = np.full(len(series), None, dtype=object)
    if kinds.text.any():
        text = strip_cells(pd.Series(values[kinds.text]).astype(str))
        out[kinds.text] = text.where(~text.isin(missing), None).to_numpy(dtype=object)
    if kinds.number.any():
        out[kinds.number] = _number_text(pd.to_numeric(pd.Series(values[kinds.number])).to_numpy())
    if kinds.date.any():
        out[kinds.date] = pd.to_datetime(pd.Series(values[kinds.date])).dt.strftime("%Y-%m-%d").to_numpy()
    if kinds.time.any():
        out[kinds.time] = [str(v) for v in values[kinds.time]]
    return pd.Series(out, index=series.index, dtype=object)


def excel_serial_dates(numbers: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Excel serial day numbers as dates, and the mask of numbers that are no serial date.

    Serial 0 is Excel's zero date, a missing value (NaT, and not a bad cell).
    """
    values = pd.to_numeric(numbers, errors="coerce").astype(float)
    valid = (values >= 1) & (values <= EXCEL_SERIAL_MAX)
    days = np.floor(values.where(valid, 0)).astype(np.int64)
    dates = (EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).where(valid, pd.NaT)
    return dates.astype("datetime64[ns]"), ~valid & (values != 0)


def cell_dates(series: pd.Series, kinds: CellKinds) -> pd.Series:
    """Date cells as midnight timestamps (time of day dropped); Excel's zero date is missing."""
    values = pd.to_datetime(pd.Series(series.to_numpy(dtype=object)[kinds.date]), utc=False)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    values = values.dt.normalize().astype("datetime64[ns]")
    return values.where(values != EXCEL_EPOCH, pd.NaT)


def control_character_mask(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Masks of text cells holding control characters, and of those holding undecodable bytes."""
    present = text.notna().to_numpy()
    control = np.zeros(len(text), dtype=bool)
    undecodable = np.zeros(len(text), dtype=bool)
    if present.any():
        values = text[present].astype(str)
        # One pass over all cells first: clean columns (nearly all) skip the per-cell passes.
        # Both patterns are single characters, so concatenated cells hold one iff a cell does.
        # Control characters and lone surrogates are never printable: a printable column is clean,
        # and isprintable (a C loop) is far quicker than the regular expressions.
        joined = "".join(values.tolist())
        if joined.isprintable() or (
            CONTROL_CHARACTERS.search(joined) is None and UNDECODABLE_BYTES.search(joined) is None
        ):
            return control, undecodable
        control[present] = values.str.contains(CONTROL_CHARACTERS).to_numpy()
        undecodable[present] = values.str.contains(UNDECODABLE_BYTES).to_numpy()
    return control, undecodable


def strip_control_characters(text: pd.Series) -> pd.Series:
    """Text with control characters and undecodable bytes removed (empty results become None)."""
    present = text.notna()
    cleaned = text[present].astype(str).str.replace(CONTROL_CHARACTERS, "", regex=True)
    cleaned = cleaned.str.replace(UNDECODABLE_BYTES, "", regex=True).str.strip()
    out = text.copy()
    out[present] = cleaned.where(cleaned != "", None)
    return out


def visible(value: object) -> str:
    """A cell value for a message: control characters and bad bytes shown as escapes."""
    text = str(value)
    text = CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return UNDECODABLE_BYTES.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def parse_numbers(
    series: pd.Series, missing: frozenset[str], decimal: str, thousands: str | None
) -> tuple[pd.Series, np.ndarray]:
    """Numbers from number cells as they are and from text by the decimal and thousands marks.

    Returns the values (NaN where missing) and the mask of present cells that are no number.
    """
    if is_numeric(series):
        return series.astype("float64"), np.zeros(len(series), dtype=bool)
    kinds = cell_kinds(series)
    values = pd.Series(np.nan, index=series.index, dtype="float64")
    raw = series.to_numpy(dtype=object)
    if kinds.number.any():
        values.iloc[np.flatnonzero(kinds.number)] = pd.to_numeric(pd.Series(raw[kinds.number])).to_numpy(
            dtype=float
        )
    bad = kinds.date | kinds.time
    if kinds.text.any():
        text = to_text(series[kinds.text], missing)
        cleaned = text.dropna().astype(str)
        joined = "\x00".join(cleaned.tolist())
        # Each replacement only when some cell holds its mark: most exports have plain numbers.
        for mark, by in ((" ", ""), (thousands, ""), (decimal, ".")):
            if mark and mark != by and mark in joined:
                cleaned = cleaned.str.replace(mark, by, regex=False)
        parsed = pd.to_numeric(cleaned, errors="coerce").astype("float64")
        values.loc[parsed.index] = parsed
        failed = parsed.index[parsed.isna()]
        bad |= series.index.isin(failed)
    return values, bad

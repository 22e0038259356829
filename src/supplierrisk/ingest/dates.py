"""Date fields: parsing every cell kind, and spotting a date format with day and month swapped.

A wrong ``%d/%m`` for a month-first export does not fail loudly: every date whose
day is 12 or less parses, with day and month swapped. Two signs give it away, and
either makes the ingest refuse (see ``supplierrisk.ingest.plan``):

- a large share of the values fails the given format but parses under the format
  with ``%d`` and ``%m`` swapped;
- every parsed value has a day of 12 or less, over many values and several distinct
  days (real order dates spread over the month; a monthly order on the 1st does not
  trip this, as its days are not distinct).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.ingest.cells import ZERO_DATE_TOKENS, cell_dates, cell_kinds, excel_serial_dates, to_text

# A field is suspicious when at least this share of its text values fails the given format...
SWAP_MIN_FAILED_SHARE: Final = 0.05
# ... and at least this share of those failures parses under the swapped format.
SWAP_MIN_RESCUED_SHARE: Final = 0.9
# "Every day is 12 or less" only counts over this many parsed values and distinct days.
DAY_RULE_MIN_VALUES: Final = 20
DAY_RULE_MIN_DISTINCT_DAYS: Final = 6


@dataclass(frozen=True)
class DateFormatFinding:
    """A date field whose given format looks like it has day and month the wrong way round."""

    field: str
    given: str
    likely: str
    kind: str  # "swapped_parses" or "days_at_most_12"
    share: float  # the share of the field's values behind the finding
    values: int

    def message(self) -> str:
        """The finding and its fix, in one sentence."""
        if self.kind == "swapped_parses":
            what = (
                f"{self.share:.0%} of {self.values} {self.field} values do not match '{self.given}'"
                f" but match '{self.likely}'"
            )
        else:
            what = (
                f"all {self.values} parsed {self.field} values have a day of 12 or less under '{self.given}',"
                " as when month-first dates are read day-first"
            )
        return (
            f"{what}: set date_formats.{self.field}: '{self.likely}' in the mapping"
            " (or --trust-date-formats if the dates are right)"
        )


def swap_day_month(fmt: str) -> str | None:
    """``fmt`` with ``%d`` and ``%m`` exchanged, or None when it lacks either."""
    if "%d" not in fmt or "%m" not in fmt:
        return None
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


@dataclass
class ParsedDates:
    """A parsed date column, the rows whose cells are no date (with why) and any format finding."""

    values: pd.Series
    bad: pd.Index
    detail: pd.Series
    finding: DateFormatFinding | None = None


def parse_dates(
    series: pd.Series, formats: list[str], missing: frozenset[str], name: str, excel: bool
) -> ParsedDates:
    """Parse any cells into dates: date cells as they are, Excel serials (``excel``), text by ``formats``."""
    kinds = cell_kinds(series)
    parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    detail = pd.Series("", index=series.index, dtype=object)
    bad = np.zeros(len(series), dtype=bool)
    if kinds.date.any():
        parsed.iloc[np.flatnonzero(kinds.date)] = cell_dates(series, kinds).to_numpy()
    numbers = kinds.number
    if excel and numbers.any():
        dates, not_serial = excel_serial_dates(series[numbers])
        parsed.iloc[np.flatnonzero(numbers)] = dates.to_numpy()
        rows = np.flatnonzero(numbers)[not_serial.to_numpy()]
        bad[rows] = True
        detail.iloc[rows] = ("number " + series.iloc[rows].astype(str) + " is not an Excel date").to_numpy()
        numbers = np.zeros(len(series), dtype=bool)
    as_text = kinds.text | numbers
    finding = None
    if as_text.any():
        text = to_text(series[as_text], missing)
        text = text.where(~text.isin(ZERO_DATE_TOKENS), None)
        values, failed = _parse_text(text, formats)
        positions = np.flatnonzero(as_text)
        parsed.iloc[positions] = values.to_numpy()
        failed_rows = positions[failed.to_numpy()]
        bad[failed_rows] = True
        shown = " or ".join(formats)
        detail.iloc[failed_rows] = "'" + text[failed].astype(str).to_numpy() + f"' does not match {shown}"
        finding = format_finding(text, values, failed, formats, name)
    if kinds.time.any():
        # A time with no date is what Excel shows for its zero date: missing, not a bad cell.
        parsed[kinds.time] = pd.NaT
    return ParsedDates(parsed.dt.normalize(), series.index[bad], detail, finding)


def _parse_text(text: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """Text parsed by the first matching format, and the mask of present values none matched."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        attempt = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        parsed.loc[todo] = attempt.astype("datetime64[ns]")
    return parsed, parsed.isna() & text.notna()


def format_finding(
    text: pd.Series, parsed: pd.Series, failed: pd.Series, formats: list[str], name: str
) -> DateFormatFinding | None:
    """The swapped-format finding for one date field, if its values show one (see the module docstring)."""
    swappable = [(fmt, swap_day_month(fmt)) for fmt in formats]
    candidates = [(fmt, swapped) for fmt, swapped in swappable if swapped is not None]
    present = int(text.notna().sum())
    if not candidates or present == 0:
        return None
    given, likely = candidates[0]
    n_failed = int(failed.sum())
    if n_failed >= SWAP_MIN_FAILED_SHARE * present:
        rescued = pd.to_datetime(text[failed], format=likely, errors="coerce").notna()
        if float(rescued.mean()) >= SWAP_MIN_RESCUED_SHARE:
            return DateFormatFinding(name, given, likely, "swapped_parses", n_failed / present, present)
    days = parsed.dropna().dt.day
    if (
        len(days) >= DAY_RULE_MIN_VALUES
        and int(days.max()) <= 12
        and days.nunique() >= DAY_RULE_MIN_DISTINCT_DAYS
    ):
        return DateFormatFinding(name, given, likely, "days_at_most_12", 1.0, len(days))
    return None

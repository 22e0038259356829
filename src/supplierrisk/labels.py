"""Late and delay labels with censoring: which lines have a known outcome at a training as-of.

At a training as-of day ``T`` (what the store knew at the end of day ``T``):

- a line delivered on or before ``T`` has a known outcome: late when
  ``delivered_date > promised_date + tolerance``;
- a line still open at ``T`` (or delivered after ``T``) whose
  ``promised_date + tolerance < T`` is known to be late;
- a line still open at ``T`` and not yet due is excluded: its outcome is unknown,
  and it is what gets scored;
- lines ordered after ``T`` do not exist yet.

``delay_days`` is ``delivered_date - promised_date`` for late lines delivered by
``T``, 0 for on-time lines, and missing (censored) for late lines not yet delivered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def late_labels(history: pd.DataFrame, as_of: pd.Timestamp, tolerance_days: int) -> pd.DataFrame:
    """Per line known at ``as_of``: ``label_known``, ``late`` and ``delay_days`` (indexed like history)."""
    as_of = pd.Timestamp(as_of).normalize()
    tolerance = pd.Timedelta(days=tolerance_days)
    exists = history["order_date"] <= as_of
    delivered = history["delivered_date"].notna() & (history["delivered_date"] <= as_of)
    due = history["promised_date"] + tolerance
    on_time = delivered & (history["delivered_date"] <= due)
    known_late_open = ~delivered & (due < as_of)
    known = exists & (delivered | known_late_open)
    late = known & ~on_time
    delay = (history["delivered_date"] - history["promised_date"]).dt.days.astype(float)
    delay_days = np.where(on_time, 0.0, np.where(delivered & late, delay, np.nan))
    return pd.DataFrame(
        {"label_known": known.to_numpy(), "late": late.to_numpy(), "delay_days": delay_days},
        index=history.index,
    )


def open_lines(history: pd.DataFrame, as_of: pd.Timestamp, tolerance_days: int) -> pd.Series:
    """Mask of lines ordered by ``as_of``, not delivered by then and not yet due: the ones to score."""
    as_of = pd.Timestamp(as_of).normalize()
    due = history["promised_date"] + pd.Timedelta(days=tolerance_days)
    delivered = history["delivered_date"].notna() & (history["delivered_date"] <= as_of)
    return (history["order_date"] <= as_of) & ~delivered & (due >= as_of)

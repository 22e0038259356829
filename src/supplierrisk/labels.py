"""Labels: line lateness and delay with censoring, and supplier disruption events.

Late and delay labels with censoring: which lines have a known outcome at a training as-of.

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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from supplierrisk.features.events import NO_DAY, EventIndex, day_numbers
from supplierrisk.features.history import GroupCoder


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


EVENT_KINDS = ("any_severe", "severe_share")


@dataclass(frozen=True)
class DisruptionEvent:
    """What counts as a supplier disruption in the horizon after an as-of day ``a``.

    Lines *due* in the horizon are those with ``promised_date`` in ``(a, a + horizon]``.
    A due line is *severe* when it arrives at least ``severe_delay_days`` after its
    promised date, or is still undelivered that long after it.

    - ``any_severe`` (default): at least one due line is severe.
    - ``severe_share``: at least one due line is severe and severe lines are at least
      ``min_severe_share`` of the due lines (volume-aware: a large supplier with one
      slip among hundreds of lines is not disrupted).

    Suppliers with no line due in the horizon have no event. A line promised on the
    horizon's last day is settled ``severe_delay_days - 1`` days later, so the label is
    known from day ``a + horizon + severe_delay_days`` (``label_reach_days`` after ``a``).
    """

    kind: str = "any_severe"
    horizon_days: int = 90
    severe_delay_days: int = 14
    min_severe_share: float = 0.2

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, not {self.kind!r}")
        if self.horizon_days < 1 or self.severe_delay_days < 1:
            raise ValueError("horizon_days and severe_delay_days must be positive")
        if not 0.0 < self.min_severe_share <= 1.0:
            raise ValueError("min_severe_share must be in (0, 1]")

    @property
    def label_reach_days(self) -> int:
        """Days after the as-of from which the label is fully known."""
        return self.horizon_days + self.severe_delay_days


def disruption_labels(history: pd.DataFrame, snapshots: pd.DataFrame, event: DisruptionEvent) -> pd.DataFrame:
    """Per snapshot (``supplier_id``, ``as_of``): lines due in the horizon, severe ones, event, its date.

    ``history`` is what the store knew at the training as-of (see
    :func:`supplierrisk.features.known_history`): a line delivered after it counts as
    undelivered. Labels are only valid for snapshots whose ``label_known_date`` is on
    or before the training as-of; training drops the others.
    """
    promised = day_numbers(history["promised_date"])
    delivered = day_numbers(history["delivered_date"])
    severe = (delivered == NO_DAY) | (delivered - promised >= event.severe_delay_days)
    coder = GroupCoder(history[["supplier_id"]])
    index = EventIndex(
        coder.codes(history[["supplier_id"]]),
        promised,
        np.column_stack([np.ones(len(history)), severe.astype(float)]),
    )
    as_of = pd.to_datetime(snapshots["as_of"]).astype("datetime64[ns]")
    t = day_numbers(as_of)
    sums = index.window_sum(
        coder.codes(snapshots[["supplier_id"]]), t + event.horizon_days + 1, event.horizon_days
    )
    due, hits = sums[:, 0], sums[:, 1]
    if event.kind == "any_severe":
        happened = hits > 0
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            happened = (hits > 0) & (hits >= event.min_severe_share * due - 1e-9)
    return pd.DataFrame(
        {
            "lines_due": due.astype(np.int64),
            "severe_lines_due": hits.astype(np.int64),
            "event": happened,
            "label_known_date": as_of + pd.Timedelta(days=event.label_reach_days),
        },
        index=snapshots.index,
    )

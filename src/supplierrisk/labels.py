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

from supplierrisk.features.events import EVENTS, NO_DAY, Column, EventIndex, day_numbers
from supplierrisk.features.history import GroupCoder
from supplierrisk.kpis import one_sided_lower_bound


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


EVENT_KINDS = ("excursion", "onset", "any_severe", "severe_share")
EXCURSION_KINDS = ("excursion", "onset")


@dataclass(frozen=True)
class DisruptionEvent:
    """What counts as a supplier disruption in the horizon after an as-of day ``a``.

    Lines *due* in the horizon are those with ``promised_date`` in ``(a, a + horizon]``.

    - ``excursion`` (default): in some ``window_days`` block of the horizon the
      supplier's late share is clearly above *its own* normal. A block is judged
      only when at least ``min_judged_lines`` lines fall due in it; its late share's
      Wilson lower bound (one-sided, ``confidence``) must exceed the normal by
      ``margin``. The normal is the supplier's late share over the lines due in the
      ``normal_days`` before ``a``, shrunk towards all suppliers' share there by
      ``prior_lines`` pseudo-lines (a new supplier's normal is everyone's). A line
      is late when it arrives more than ``on_time_tolerance_days`` after its promise,
      or is still undelivered then. More lines make the bound tighter, not the event
      likelier: a supplier with a steady late share has no event at any volume.
    - ``onset``: an excursion in the horizon while the ``window_days`` before ``a`` were
      not one (a new disruption, not one under way).
    - ``any_severe``: at least one due line is severe (at least
      ``severe_delay_days`` late, or undelivered that long after its promise). Driven by
      volume: a supplier with many lines due is likelier to have one severe slip.
    - ``severe_share``: at least one due line is severe and severe lines are at least
      ``min_severe_share`` of the due lines.

    Suppliers with no line due in the horizon have no event. The label is known
    ``label_reach_days`` after ``a``: once the horizon's last promise is settled.
    """

    kind: str = "excursion"
    horizon_days: int = 90
    severe_delay_days: int = 14
    min_severe_share: float = 0.2
    window_days: int = 30
    normal_days: int = 365
    min_judged_lines: int = 3
    margin: float = 0.10
    confidence: float = 0.95
    prior_lines: float = 10.0
    on_time_tolerance_days: int = 0
    whole_horizon: bool = True

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, not {self.kind!r}")
        if min(self.horizon_days, self.severe_delay_days, self.window_days, self.normal_days) < 1:
            raise ValueError("horizon_days, severe_delay_days, window_days and normal_days must be positive")
        if not 0.0 < self.min_severe_share <= 1.0:
            raise ValueError("min_severe_share must be in (0, 1]")
        if self.min_judged_lines < 1 or not 0.5 < self.confidence < 1.0 or not 0.0 <= self.margin < 1.0:
            raise ValueError("min_judged_lines must be >= 1, confidence in (0.5, 1) and margin in [0, 1)")
        if self.prior_lines < 0 or self.on_time_tolerance_days < 0:
            raise ValueError("prior_lines and on_time_tolerance_days must be >= 0")

    @property
    def label_reach_days(self) -> int:
        """Days after the as-of from which the label is fully known."""
        if self.kind in EXCURSION_KINDS:
            return self.horizon_days + self.on_time_tolerance_days + 1
        return self.horizon_days + self.severe_delay_days

    def describe(self) -> str:
        """The event in one sentence, for run logs and model cards."""
        h = self.horizon_days
        if self.kind in EXCURSION_KINDS:
            new = "a new " if self.kind == "onset" else ""
            return (
                f"{new}within {h} days, a {self.window_days}-day block with >= {self.min_judged_lines}"
                f" lines due whose late share is, at {self.confidence:.0%} confidence, more than"
                f" {self.margin:.0%} points above the supplier's own {self.normal_days}-day normal"
            )
        text = f"a line due within {h} days arrives >= {self.severe_delay_days} days late"
        if self.kind == "severe_share":
            text += f", at least {self.min_severe_share:.0%} of lines due"
        return text


def disruption_labels(history: pd.DataFrame, snapshots: pd.DataFrame, event: DisruptionEvent) -> pd.DataFrame:
    """Per snapshot (``supplier_id``, ``as_of``): lines due in the horizon, the event and when it is known.

    ``history`` is what the store knew at the training as-of (see
    :func:`supplierrisk.features.known_history`): a line delivered after it counts as
    undelivered. Labels are only valid for snapshots whose ``label_known_date`` is on
    or before the training as-of; training drops the others. The ``excursion`` event
    also gives each snapshot's ``normal_late_share`` and ``worst_block_late_share``.
    """
    promised = day_numbers(history["promised_date"])
    delivered = day_numbers(history["delivered_date"])
    slip = event.on_time_tolerance_days if event.kind in EXCURSION_KINDS else event.severe_delay_days - 1
    bad = (delivered == NO_DAY) | (delivered - promised > slip)
    coder, line_codes = GroupCoder.with_codes(history[["supplier_id"]])
    values: list[Column] = [EVENTS, bad.astype(float)]
    index = EventIndex(line_codes, promised, values)
    as_of = pd.to_datetime(snapshots["as_of"]).astype("datetime64[ns]")
    t = day_numbers(as_of)
    codes = coder.codes(snapshots[["supplier_id"]])
    sums = index.window_sum(codes, t + event.horizon_days + 1, event.horizon_days)
    due, hits = sums[:, 0], sums[:, 1]
    counted = "late_lines_due" if event.kind in EXCURSION_KINDS else "severe_lines_due"
    out: dict[str, object] = {"lines_due": due.astype(np.int64), counted: hits.astype(np.int64)}
    if event.kind in EXCURSION_KINDS:
        normal, worst, happened = _excursions(index, values, promised, codes, t, event)
        out |= {"normal_late_share": normal, "worst_block_late_share": worst}
    elif event.kind == "any_severe":
        happened = hits > 0
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            happened = (hits > 0) & (hits >= event.min_severe_share * due - 1e-9)
    out |= {"event": happened, "label_known_date": as_of + pd.Timedelta(days=event.label_reach_days)}
    return pd.DataFrame(out, index=snapshots.index)


def _excursions(
    index: EventIndex,
    values: list[Column],
    promised: np.ndarray,
    codes: np.ndarray,
    t: np.ndarray,
    event: DisruptionEvent,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per snapshot: the shrunk normal late share, the worst judged block's share, and the event."""
    everyone = EventIndex(np.zeros(len(promised), dtype=np.int64), promised, values)
    before = index.window_sum(codes, t + 1, event.normal_days)
    overall = everyone.window_sum(np.zeros(len(t), dtype=np.int64), t + 1, event.normal_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        global_share = np.where(overall[:, 0] > 0, overall[:, 1] / overall[:, 0], 0.0)
    normal = (before[:, 1] + event.prior_lines * global_share) / (before[:, 0] + event.prior_lines)
    normal = np.where(np.isnan(normal), global_share, normal)
    happened = np.zeros(len(t), dtype=bool)
    worst = np.full(len(t), np.nan)
    for start, length in _blocks(event):
        block = index.window_sum(codes, t + start + length + 1, length)
        judged = block[:, 0] >= event.min_judged_lines
        bound = one_sided_lower_bound(block[:, 1], block[:, 0], event.confidence)
        happened |= judged & (bound > normal + event.margin)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(judged, block[:, 1] / block[:, 0], np.nan)
        worst = np.fmax(worst, share)
    if event.kind == "onset":
        pre = index.window_sum(codes, t + 1, event.window_days)
        bound = one_sided_lower_bound(pre[:, 1], pre[:, 0], event.confidence)
        happened &= ~((pre[:, 0] >= event.min_judged_lines) & (bound > normal + event.margin))
    return normal, worst, happened


def _blocks(event: DisruptionEvent) -> list[tuple[int, int]]:
    """(offset, length) of the judged blocks: consecutive ``window_days`` blocks, then the whole horizon."""
    h, w = event.horizon_days, event.window_days
    blocks = [(start, min(w, h - start)) for start in range(0, h, w)]
    return blocks + ([(0, h)] if len(blocks) > 1 and event.whole_horizon else [])

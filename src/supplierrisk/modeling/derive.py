"""Settings the data decides: where a training YAML is silent, each value comes from the history by a rule.

Every derived value is returned with the rule that chose it, logged as a run
parameter (``derived.<key>`` and ``derived.<key>.rule``) and printed in one line.

- ``severe_delay_days`` (shared by features and the disruption event): the median
  delay of late deliveries (half of late lines are at least this late), rounded up,
  at least 3 and at most 30 days; 14 when no late delivery is known.
- ``event.horizon_days``: 90 days, shortened to 60 or 30 when the history spans
  less than 8 horizons, so a short export still has labels to learn from.
- ``event.snapshot_frequency``: monthly snapshots, or weekly when monthly ones
  would give fewer than ``MIN_SNAPSHOTS`` (few suppliers or a short span).
- the backtest: ``gap_days`` (OTD: the 90th-percentile promised lead time, at least
  30; disruption: the label's reach); ``min_train_days``: half the labelled span,
  between 90 and 365 days; then the preferred number of folds (OTD 3, disruption 4)
  with the longest test window from 180, 150, 120, 90, 60, 45, 30 days that fits and
  holds about ``MIN_TEST_EXAMPLES`` examples; fewer folds when none fits.

- ``bands.medium`` / ``bands.high`` (disruption): twice and five times the event's
  base rate among the training snapshots (a high-band supplier is at least five
  times as likely as a typical one to be disrupted), at most 0.2 and 0.5.

A history too short for one 30-day fold after the floor of ``MIN_TRAIN_DAYS`` days of
training raises ``InsufficientHistoryError`` naming the floor and the YAML keys
that override the derived values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from supplierrisk.modeling.backtest import InsufficientHistoryError, fold_test_windows

TEST_WINDOWS: Final = (180, 150, 120, 90, 60, 45, 30)
MIN_TRAIN_DAYS: Final = 90
MAX_MIN_TRAIN_DAYS: Final = 365
PREFERRED_FOLDS: Final = {"otd": 3, "disruption": 4}
MIN_TEST_EXAMPLES: Final = {"otd": 100, "disruption": 60}
MIN_SNAPSHOTS: Final = 2000
HORIZONS: Final = (90, 60, 30)
SEVERE_FLOOR_DAYS: Final = 3
SEVERE_CAP_DAYS: Final = 30
SEVERE_DEFAULT_DAYS: Final = 14
BAND_CAPS: Final = (0.2, 0.5)


@dataclass(frozen=True)
class Derived:
    """One setting chosen from the data, and the rule that chose it."""

    key: str
    value: Any
    rule: str


def severe_delay_days(history: pd.DataFrame) -> Derived:
    """The median delay of late deliveries, rounded up, between 3 and 30 days."""
    delay = (history["delivered_date"] - history["promised_date"]).dt.days
    late = delay[delay > 0]
    if late.empty:
        return Derived("severe_delay_days", SEVERE_DEFAULT_DAYS, "no late delivery known: the default")
    median = float(late.median())
    days = int(min(SEVERE_CAP_DAYS, max(SEVERE_FLOOR_DAYS, math.ceil(median))))
    rule = f"median delay of {len(late)} late deliveries is {median:g} days (kept within 3..30)"
    return Derived("severe_delay_days", days, rule)


def horizon_days(span_days: int) -> Derived:
    """The disruption horizon: the longest of 90, 60, 30 days that fits 8 times into the span."""
    for horizon in HORIZONS:
        if span_days >= 8 * horizon:
            return Derived(
                "event.horizon_days", horizon, f"history spans {span_days} days (at least 8 horizons)"
            )
    return Derived("event.horizon_days", HORIZONS[-1], f"history spans only {span_days} days: the shortest")


def snapshot_frequency(suppliers: int, span_days: int) -> Derived:
    """Monthly supplier snapshots, or weekly when monthly ones would be fewer than ``MIN_SNAPSHOTS``."""
    monthly = suppliers * max(1, span_days // 30)
    if monthly >= MIN_SNAPSHOTS:
        return Derived(
            "event.snapshot_frequency", "MS", f"{suppliers} suppliers over {span_days} days: monthly"
        )
    return Derived(
        "event.snapshot_frequency",
        "W-MON",
        f"{suppliers} suppliers over {span_days} days give {monthly} monthly snapshots"
        f" (under {MIN_SNAPSHOTS}): weekly",
    )


def otd_gap_days(history: pd.DataFrame) -> Derived:
    """A gap as long as typical lead times: the 90th-percentile promised lead time, at least 30 days."""
    lead = (history["promised_date"] - history["order_date"]).dt.days.dropna()
    gap = max(30, int(np.ceil(lead.quantile(0.9)))) if len(lead) else 30
    return Derived("backtest.gap_days", gap, "90th-percentile promised lead time, at least 30 days")


def backtest_shape(
    kind: str,
    event_time: pd.Series,
    as_of: pd.Timestamp,
    gap_days: int,
    given: dict[str, int | None],
) -> list[Derived]:
    """Folds, test window and minimum training span for this labelled history (given values kept).

    From the preferred fold count down to one, the longest test window that fits; the
    first option whose windows hold ``MIN_TEST_EXAMPLES`` examples is taken, else the
    one with the most folds.
    """
    available = int((pd.Timestamp(as_of) - pd.Timestamp(event_time.min())).days) - gap_days
    min_train = given.get("min_train_days") or int(
        min(MAX_MIN_TRAIN_DAYS, max(MIN_TRAIN_DAYS, available // 2))
    )
    per_day = _examples_per_day(event_time, as_of)
    folds_wanted = given.get("folds")
    fold_options = [folds_wanted] if folds_wanted else list(range(PREFERRED_FOLDS[kind], 0, -1))
    test_given = given.get("test_days")
    tests = [test_given] if test_given else list(TEST_WINDOWS)
    options = []
    for folds in fold_options:
        fitting = [
            t
            for t in tests
            if available - folds * t - gap_days >= min_train
            and _every_window_holds_examples(event_time, as_of, folds, t, gap_days)
        ]
        if fitting:
            options.append((folds, fitting[0]))
    if not options:
        shortest = min(tests)
        raise InsufficientHistoryError(
            f"history too short to backtest: {available + gap_days} days of labelled history before"
            f" {pd.Timestamp(as_of).date()}, but one {shortest}-day test window after {min_train} training"
            f" days and a {gap_days}-day gap needs {min_train + gap_days + shortest}; ingest a longer"
            " history, or set backtest.folds, backtest.test_days, backtest.min_train_days and"
            " backtest.gap_days in the training YAML"
        )
    dense = [(f, t) for f, t in options if t * per_day >= MIN_TEST_EXAMPLES[kind]]
    folds, test = (dense or options)[0]
    span = f"{available} labelled days before the {gap_days}-day gap"
    note = "" if dense else f"; windows hold only about {test * per_day:.0f} examples"
    rule = f"{span}: {folds} folds of {test} days after at least {min_train} training days{note}"
    return [
        Derived("backtest.folds", folds, rule),
        Derived("backtest.test_days", test, rule),
        Derived("backtest.min_train_days", min_train, f"half of {span}, within 90..365"),
    ]


def _every_window_holds_examples(
    event_time: pd.Series, as_of: pd.Timestamp, folds: int, test_days: int, gap_days: int
) -> bool:
    """Whether every fold's test window holds an example (monthly snapshots can leave a 30-day one empty)."""
    times = pd.to_datetime(event_time).to_numpy()
    return all(
        ((times >= start.to_datetime64()) & (times < end.to_datetime64())).any()
        for start, end in fold_test_windows(as_of, folds, test_days, gap_days)
    )


def _examples_per_day(event_time: pd.Series, as_of: pd.Timestamp) -> float:
    """Labelled examples per day over the last year before ``as_of`` (the density of test windows)."""
    times = pd.to_datetime(event_time)
    recent = times[times > pd.Timestamp(as_of) - pd.Timedelta(days=365)]
    days = min(365, max(1, (pd.Timestamp(as_of) - times.min()).days))
    return float(len(recent)) / days


def risk_bands(base_rate: float) -> list[Derived]:
    """Band thresholds from the event's base rate: medium from 2x, high from 5x (at most 0.2 and 0.5)."""
    rate = max(float(base_rate), 0.002)
    medium = round(min(2 * rate, BAND_CAPS[0]), 3)
    high = round(min(5 * rate, BAND_CAPS[1]), 3)
    rule = f"medium from 2x and high from 5x the event's base rate ({rate:.1%}), at most 0.2 and 0.5"
    return [Derived("bands.medium", medium, rule), Derived("bands.high", high, rule)]


def describe(derived: list[Derived]) -> str:
    """All derived values in one line."""
    if not derived:
        return "derived: nothing (the YAML sets every value)"
    seen: dict[str, Derived] = {d.key: d for d in derived}
    return "derived: " + ", ".join(f"{d.key} {d.value}" for d in seen.values())

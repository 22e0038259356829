"""Calibration drift, the primary alarm: observed late lines against the sum of the predicted ``p_late``.

Every published batch forecast its open lines. Once a line's due week has passed
(plus the on-time tolerance) its outcome is known, so each line is counted once, in
its due week, with the forecast of the latest batch that scored it before it was due.

Per segment (all lines, and each supplier, supplier country, category and ship mode
with enough volume), the test compares the observed/expected ratio of the last
``k`` settled weeks (``k`` in ``WINDOWS_WEEKS``) with the ratio of the
``BASELINE_WEEKS`` before them, and also the whole span's ratio with 1:

- **change** (a CUSUM-like scan over recent windows): ``z = (O - r E) / sqrt(phi r E (1 + E / E_base))``
  with ``r`` the baseline ratio and ``phi`` the baseline's over-dispersion, estimated
  over supplier-weeks (the lines of one supplier due in one week share their fate);
- **level**: ``log(O / E)`` over the span against the calibration swing the model showed
  in its own backtest (``period_sigma``, from ``supplierrisk.modeling.dispersion``) and
  the sampling spread; a model that is off by no more than it always was is not alarmed.

A segment's p-value is Bonferroni-adjusted over its windows and the level test;
segments are then controlled together with Benjamini-Hochberg at the documented rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from supplierrisk.labels import late_labels
from supplierrisk.monitoring.thresholds import benjamini_hochberg

WINDOWS_WEEKS: Final = (2, 4, 6)
BASELINE_WEEKS: Final = 26
SEGMENT_FIELDS: Final = ("supplier_country", "category", "ship_mode", "supplier_id")
# A window is judged only with at least this many expected late lines (and the baseline with
# MIN_BASELINE_EXPECTED over at least MIN_BASELINE_CLUSTERS supplier-weeks): below, a normal
# approximation of the count is not to be trusted.
MIN_WINDOW_EXPECTED: Final = 3.0
MIN_BASELINE_EXPECTED: Final = 5.0
MIN_BASELINE_CLUSTERS: Final = 5
# The change test waits for this many settled baseline weeks: a ratio from a few weeks is noise.
MIN_BASELINE_WEEKS: Final = 8


@dataclass(frozen=True)
class CalibrationSettings:
    """What the calibration test judges on: windows, baseline, rates and the backtest's swing."""

    false_alarm_rate: float = 0.01
    windows_weeks: tuple[int, ...] = WINDOWS_WEEKS
    baseline_weeks: int = BASELINE_WEEKS
    period_sigma: float = 0.0


def week_start(days: pd.Series) -> pd.Series:
    """The Monday of each day's week."""
    days = pd.to_datetime(days).dt.normalize()
    return days - pd.to_timedelta(days.dt.dayofweek, unit="D")


def settled_forecasts(
    scored: pd.DataFrame, history_now: pd.DataFrame, now: pd.Timestamp, tolerance_days: int
) -> pd.DataFrame:
    """Lines whose due week has settled: each with its last pre-due forecast, outcome and segments.

    ``scored`` stacks the published batches' open lines (``po_id``, ``line_id``,
    ``supplier_id``, ``p_late``, ``promised_date``, ``as_of``).
    """
    frame = scored.assign(
        as_of=pd.to_datetime(scored["as_of"]), promised_date=pd.to_datetime(scored["promised_date"])
    )
    frame = frame[frame["as_of"] <= frame["promised_date"]]
    frame = frame.sort_values("as_of", kind="mergesort").drop_duplicates(["po_id", "line_id"], keep="last")
    fields = [c for c in SEGMENT_FIELDS if c in history_now and c != "supplier_id"]
    known = pd.concat(
        [history_now[["po_id", "line_id", *fields]], late_labels(history_now, now, tolerance_days)], axis=1
    )
    frame = frame[["po_id", "line_id", "supplier_id", "p_late", "promised_date"]].merge(
        known, on=["po_id", "line_id"], how="inner"
    )
    frame["week"] = week_start(frame["promised_date"])
    settled = frame["week"] + pd.Timedelta(days=7 + tolerance_days) <= pd.Timestamp(now)
    frame = frame[settled & frame["label_known"].astype(bool)]
    return frame.assign(late=frame["late"].astype(float)).reset_index(drop=True)


def _clusters(lines: pd.DataFrame) -> pd.DataFrame:
    return (
        lines.groupby(["week", "supplier_id"], observed=True, sort=False)
        .agg(observed=("late", "sum"), expected=("p_late", "sum"))
        .reset_index()
    )


def _overdispersion(clusters: pd.DataFrame, ratio: float) -> float:
    fitted = ratio * clusters["expected"].to_numpy()
    keep = fitted > 0
    if keep.sum() < 2:
        return 1.0
    pearson = (clusters["observed"].to_numpy()[keep] - fitted[keep]) ** 2 / fitted[keep]
    return float(max(1.0, pearson.sum() / (keep.sum() - 1)))


def change_test(recent: pd.DataFrame, baseline: pd.DataFrame) -> dict[str, float] | None:
    """Recent supplier-weeks against the baseline's ratio (None when either side is too thin)."""
    observed, expected = float(recent["observed"].sum()), float(recent["expected"].sum())
    base_observed, base_expected = float(baseline["observed"].sum()), float(baseline["expected"].sum())
    if expected < MIN_WINDOW_EXPECTED or base_expected < MIN_BASELINE_EXPECTED:
        return None
    if len(baseline) < MIN_BASELINE_CLUSTERS:
        return None
    ratio = max(base_observed, 0.5) / base_expected  # half a line: a late-free baseline is not a zero rate
    phi = _overdispersion(baseline, ratio)
    z = (observed - ratio * expected) / np.sqrt(phi * ratio * expected * (1.0 + expected / base_expected))
    return {
        "observed": observed,
        "expected": expected,
        "ratio": observed / expected,
        "baseline_ratio": base_observed / base_expected,
        "overdispersion": phi,
        "z": float(z),
        "p_value": float(2 * stats.norm.sf(abs(z))),
    }


def segment_test(
    lines: pd.DataFrame, weeks: list[pd.Timestamp], config: CalibrationSettings
) -> dict[str, Any] | None:
    """The change and level tests of one segment's settled lines over the calendar ``weeks``."""
    clusters = _clusters(lines)
    tests: list[dict[str, Any]] = []
    for k in config.windows_weeks:
        recent_weeks, base_weeks = weeks[-k:], weeks[-k - config.baseline_weeks : -k]
        if len(base_weeks) < MIN_BASELINE_WEEKS:
            continue
        result = change_test(
            clusters[clusters["week"].isin(recent_weeks)], clusters[clusters["week"].isin(base_weeks)]
        )
        if result is not None:
            tests.append({"test": "change", "weeks": k, "baseline_weeks": len(base_weeks), **result})
    span = clusters[clusters["week"].isin(weeks[-config.windows_weeks[-1] - config.baseline_weeks :])]
    observed, expected = float(span["observed"].sum()), float(span["expected"].sum())
    if expected >= MIN_BASELINE_EXPECTED:
        phi = _overdispersion(span, max(observed, 0.5) / expected)
        log_ratio = np.log(max(observed, 0.5) / expected)
        z = log_ratio / np.sqrt(config.period_sigma**2 + phi / max(observed, 0.5))
        tests.append(
            {
                "test": "level",
                "weeks": int(span["week"].nunique()),
                "observed": observed,
                "expected": expected,
                "ratio": observed / expected,
                "z": float(z),
                "p_value": float(2 * stats.norm.sf(abs(z))),
            }
        )
    if not tests:
        return None
    best = min(tests, key=lambda t: t["p_value"])
    return {
        **best,
        "p_value": float(min(1.0, best["p_value"] * len(tests))),
        "direction": "above" if best["z"] > 0 else "below",
        "lines": int(len(lines)),
        "tests": len(tests),
    }


def calibration_drift(lines: pd.DataFrame, config: CalibrationSettings) -> dict[str, Any]:
    """Tests of all lines and of each segment value; Benjamini-Hochberg picks the alarms."""
    if lines.empty:
        return {"alarm": False, "segments": [], "settled_lines": 0, "note": "no settled forecasts yet"}
    weeks = sorted(pd.to_datetime(lines["week"].unique()))
    rows: list[dict[str, Any]] = []
    overall = segment_test(lines, weeks, config)
    if overall is not None:
        rows.append({"field": "all", "value": "all lines", **overall})
    for field in SEGMENT_FIELDS:
        if field not in lines:
            continue
        for value, part in lines.groupby(field, observed=True, sort=True):
            result = segment_test(part, weeks, config)
            if result is not None:
                rows.append({"field": field, "value": str(value), **result})
    rejected, cutoff = benjamini_hochberg(np.array([r["p_value"] for r in rows]), config.false_alarm_rate)
    for row, alarm in zip(rows, rejected, strict=True):
        row["alarm"] = bool(alarm)
    rows.sort(key=lambda r: (not r["alarm"], r["p_value"]))
    return {
        "alarm": bool(rejected.any()),
        "false_alarm_rate": config.false_alarm_rate,
        "p_cutoff": cutoff,
        "segments_tested": len(rows),
        "settled_lines": int(len(lines)),
        "settled_weeks": len(weeks),
        "last_settled_week": weeks[-1].date().isoformat(),
        "period_sigma": config.period_sigma,
        "segments": rows,
    }

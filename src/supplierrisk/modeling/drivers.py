"""Risk drivers in a buyer's words: LightGBM contributions turned into sentences with the supplier's numbers.

Contributions (log-odds, ``pred_contrib``) are slow, so they are computed only for
the rows being shown. Each driver names the feature's own value and, where a
peer comparison helps, the median over suppliers of the same main category at
the same as-of ("category median").
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.features.suppliers import NO_DELAY_DAYS

Describer = Callable[[re.Match[str], pd.Series, float, dict[str, Any]], str]


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _counted(value: float, singular: str, plural: str) -> str:
    """``1 late delivery``, ``4 late deliveries``."""
    return f"{_count(value)} {singular if round(value) == 1 else plural}"


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _median_note(median: float, fmt: Callable[[float], str]) -> str:
    return "" if math.isnan(median) else f" (category median: {fmt(median)})"


def _severe_lines(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return (
        f"{_counted(row[m.group(0)], 'delivery', 'deliveries')} ≥{ctx['severe_days']} days late"
        f" in the last {m.group(1)} days" + _median_note(median, _count)
    )


def _severe_rate(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return (
        f"{_pct(row[m.group(0)])} of lines ≥{ctx['severe_days']} days late over the last {m.group(1)} days"
        " (smoothed)" + _median_note(median, _pct)
    )


def _late_rate(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    window = m.group(1)
    late, known = row.get(f"sup_late_lines_{window}d"), row.get(f"sup_known_lines_{window}d")
    if late is not None and known is not None and known > 0:
        # The observed share with its counts: the smoothed rate the model reads differs for few lines.
        return (
            f"on-time delivery {_pct(1.0 - late / known)} over the last {window} days"
            f" ({_count(late)} of {_count(known)} lines late)"
        )
    return f"estimated on-time delivery {_pct(1.0 - row[m.group(0)])} over the last {window} days" + (
        _median_note(1.0 - median, _pct) if not math.isnan(median) else ""
    )


def _excursion(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    window = m.group(1)
    late, known = row.get(f"sup_late_lines_{window}d"), row.get(f"sup_known_lines_{window}d")
    windows = [int(w) for c in row.index if (w := _window_of(str(c), "sup_late_rate_"))]
    usual = row.get(f"sup_late_rate_{max(windows)}d") if windows else None
    if late is None or known is None or not known > 0:
        return f"no outcome known in the last {window} days to compare with its usual late share"
    against = f" against a usual {_pct(usual)}" if usual is not None and usual == usual else ""
    return (
        f"late share {_pct(late / known)} over the last {window} days"
        f" ({_count(late)} of {_count(known)} lines){against}"
    )


def _window_of(name: str, prefix: str) -> str | None:
    found = _windowed(prefix).fullmatch(name)
    return found.group(1) if found else None


@functools.cache
def _windowed(prefix: str) -> re.Pattern[str]:
    """``<prefix><days>d``, compiled once: a sentence per supplier asks it of every feature name."""
    return re.compile(re.escape(prefix) + r"(\d+)d")


def _excursions(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    count = row[m.group(0)]
    periods = "period" if round(count) == 1 else "periods"
    return (
        f"{_count(count)} {m.group(1)}-day {periods} clearly worse than usual in the last {m.group(2)} days"
    )


def _late_lines(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return (
        f"{_counted(row[m.group(0)], 'late delivery', 'late deliveries')} in the last {m.group(1)} days"
        + _median_note(median, _count)
    )


def _decayed(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"recent on-time delivery {_pct(1.0 - row[m.group(0)])} (weighted to the last {m.group(1)} days)"


def _trend(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    what = "late rate" if m.group(1) == "late" else f"≥{ctx['severe_days']}-day delay rate"
    change = row[m.group(0)]
    direction = "up" if change > 0 else "down"
    return (
        f"{what} {direction} {abs(100 * change):.0f} points in the last {m.group(2)} days"
        f" against its {m.group(3)}-day level"
    )


def _slope(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    slope = row[m.group(0)]
    direction = "rising" if slope > 0 else "falling"
    return f"late rate {direction} {abs(100 * slope):.1f} points per quarter over the last year"


def _delay_mean(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"average delay {row[m.group(0)]:.1f} days per delivery over the last {m.group(1)} days" + (
        "" if math.isnan(median) else f" (category median: {median:.1f})"
    )


def _delay_p90(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    if math.isnan(value):
        return f"no deliveries in the last {m.group(1)} days"
    return f"1 in 10 deliveries at least {value:.0f} days late over the last {m.group(1)} days"


def _days_since(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    what = "late delivery" if m.group(1) == "late" else f"≥{ctx['severe_days']}-day delay"
    value = row[m.group(0)]
    if math.isnan(value) or value >= NO_DELAY_DAYS:
        return f"no {what} on record"
    return f"last {what} {_counted(value, 'day', 'days')} ago"


def _lead_std(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    if math.isnan(value):
        return f"too few deliveries in the last {m.group(1)} days to measure lead-time variability"
    return f"lead time varies by ±{value:.0f} days over the last {m.group(1)} days" + (
        "" if math.isnan(median) else f" (category median: ±{median:.0f})"
    )


def _lead_change(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    if math.isnan(value):
        return "lead-time variability change unknown (too few deliveries)"
    direction = "up" if value > 0 else "down"
    return f"lead-time variability {direction} {abs(100 * value):.0f}% on its 1-year level"


def _open_lines(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    open_lines, overdue = row.get("sup_open_lines", 0), row.get("sup_overdue_lines", 0)
    return f"{_counted(open_lines, 'open line', 'open lines')}, {_count(overdue)} already overdue"


def _open_value(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return (
        f"{_money(row.get('sup_open_value', 0))} of open order value,"
        f" {_money(row.get('sup_overdue_value', 0))} overdue"
    )


def _due(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"{_counted(row[m.group(0)], 'open line', 'open lines')} falling due in the next {m.group(1)} days"


def _due_value(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"{_money(row[m.group(0)])} of open order value falling due in the next {m.group(1)} days"


def _expected(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return (
        f"{row[m.group(0)]:.1f} lines expected ≥{ctx['severe_days']} days late in the next {m.group(1)} days"
        " at its own severe-delay rate"
    )


def _prior(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return (
        f"{_pct(row[m.group(0)])} chance of a ≥{ctx['severe_days']}-day delay in the next {m.group(1)} days"
        " from its volume and past severe-delay rate alone"
    )


def _volume(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"ordered volume in the last {m.group(1)} days {row[m.group(0)]:.1f}× its usual"


def _ordered(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"{_count(row[m.group(0)])} lines ordered in the last {m.group(1)} days" + _median_note(
        median, _count
    )


def _known(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"{_count(row[m.group(0)])} lines with a known outcome in the last {m.group(1)} days"


def _otif(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"on time in full {_pct(row[m.group(0)])} over the last {m.group(1)} days" + _median_note(
        median, _pct
    )


def _fill(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    if math.isnan(value):
        return f"no received quantities in the last {m.group(1)} days"
    return f"fill rate {_pct(value)} over the last {m.group(1)} days" + _median_note(median, _pct)


def _categories(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"serves {_count(row[m.group(0)])} categories in the last year"


def _share(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    category = row.get("main_category") or "its main category"
    if math.isnan(value):
        return f"no spend in {category} in the last year"
    return f"{_pct(value)} of the last year's spend in {category}"


def _group_rate(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    group, kind = m.group(1), m.group(2)
    columns = {
        "category": ("main_category", "category"),
        "country": ("supplier_country",),
        "mode": ("ship_mode",),
    }
    name = next((row.get(c) for c in columns[group] if isinstance(row.get(c), str)), None) or f"its {group}"
    value = row[m.group(0)]
    if kind == "late":
        return f"{name}: on-time delivery {_pct(1.0 - value)} across suppliers over the last year"
    return (
        f"{name}: {_pct(value)} of lines ≥{ctx['severe_days']} days late across suppliers over the last year"
    )


def _categorical(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    what = "main category" if m.group(0) == "main_category" else "country"
    return f"{what} {value}" if value is not None and value == value else f"{what} unknown"


def _global_rate(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"all suppliers: on-time delivery {_pct(1.0 - row[m.group(0)])} over the last {m.group(1)} days"


def _lead_mean(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    if math.isnan(value):
        return f"no delivery in the last {m.group(1)} days to learn its lead time from"
    return f"mean actual lead time {value:.0f} days over the last {m.group(1)} days" + _median_note(
        median, lambda v: f"{v:.0f} days"
    )


def _promised_lead(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"promised {_counted(row[m.group(0)], 'day', 'days')} after the order"


def _promise_ratio(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    usual = "actual lead time on this lane" if m.group(1) == "lead_time" else "promised lead time"
    if math.isnan(value):
        return f"no usual {usual} to compare the promise with"
    return f"promised lead time is {value:.2g}× the supplier's usual {usual}"


def _size(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    if math.isnan(value):
        return f"no usual order {m.group(1)} to compare with"
    return f"order {m.group(1)} is {math.exp(value):.2g}× the supplier's usual"


def _quarter_end(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    return f"promised {_counted(row[m.group(0)], 'day', 'days')} before the quarter ends"


def _month(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    return "promised month unknown" if math.isnan(value) else f"promised in {calendar.month_name[int(value)]}"


def _line_field(m: re.Match[str], row: pd.Series, median: float, ctx: dict[str, Any]) -> str:
    value = row[m.group(0)]
    what = m.group(0).replace("_", " ")
    return f"{what} {value}" if value is not None and value == value else f"{what} not given"


_DESCRIBERS: list[tuple[re.Pattern[str], Describer]] = [
    (re.compile(r"global_late_rate_(\d+)d"), _global_rate),
    (re.compile(r"sup_lead_time_mean_days_(\d+)d"), _lead_mean),
    (re.compile(r"promised_lead_time_days"), _promised_lead),
    (re.compile(r"promised_vs_usual_(lead_time|promise)_ratio"), _promise_ratio),
    (re.compile(r"log_(quantity|value)_vs_usual"), _size),
    (re.compile(r"days_to_quarter_end"), _quarter_end),
    (re.compile(r"promised_month"), _month),
    (re.compile(r"ship_mode|incoterm|category|destination"), _line_field),
    (re.compile(r"sup_severe_lines_(\d+)d"), _severe_lines),
    (re.compile(r"sup_severe_rate_(\d+)d"), _severe_rate),
    (re.compile(r"sup_(late|severe)_rate_trend_(\d+)d_vs_(\d+)d"), _trend),
    (re.compile(r"sup_late_rate_slope_per_quarter_\d+d"), _slope),
    (re.compile(r"sup_late_rate_decayed_(\d+)d"), _decayed),
    (re.compile(r"sup_late_excursion_(\d+)d"), _excursion),
    (re.compile(r"sup_late_excursions_(\d+)d_in_(\d+)d"), _excursions),
    (re.compile(r"sup_late_rate_(\d+)d"), _late_rate),
    (re.compile(r"sup_late_lines_(\d+)d"), _late_lines),
    (re.compile(r"sup_delay_mean_days_(\d+)d"), _delay_mean),
    (re.compile(r"sup_delay_p90_days_(\d+)d"), _delay_p90),
    (re.compile(r"sup_days_since_(late|severe)"), _days_since),
    (re.compile(r"sup_lead_time_std_days_(\d+)d"), _lead_std),
    (re.compile(r"sup_lead_time_std_change_\d+d_vs_\d+d"), _lead_change),
    (re.compile(r"sup_(open|overdue)_lines"), _open_lines),
    (re.compile(r"sup_(open|overdue)_value"), _open_value),
    (re.compile(r"sup_open_lines_due_(\d+)d"), _due),
    (re.compile(r"sup_open_value_due_(\d+)d"), _due_value),
    (re.compile(r"sup_expected_severe_lines_(\d+)d"), _expected),
    (re.compile(r"sup_severe_delay_prior_(\d+)d"), _prior),
    (re.compile(r"sup_orders_(\d+)d_vs_usual"), _volume),
    (re.compile(r"sup_ordered_lines_(\d+)d"), _ordered),
    (re.compile(r"sup_known_lines_(\d+)d"), _known),
    (re.compile(r"sup_otif_rate_(\d+)d"), _otif),
    (re.compile(r"sup_fill_rate_(\d+)d"), _fill),
    (re.compile(r"sup_categories_\d+d"), _categories),
    (re.compile(r"sup_main_category_spend_share_\d+d"), _share),
    (re.compile(r"(category|country|mode)_(late|severe)_rate_\d+d"), _group_rate),
    (re.compile(r"main_category|supplier_country"), _categorical),
]


def describe(
    feature: str, row: pd.Series, category_median: float = float("nan"), severe_days: int = 14
) -> str:
    """One driver sentence for ``feature`` with the row's own numbers (generic wording if unknown)."""
    context = {"severe_days": severe_days}
    for pattern, describer in _DESCRIBERS:
        match = pattern.fullmatch(feature)
        if match:
            return describer(match, row, category_median, context)
    value = row.get(feature)
    shown = f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)
    return f"{feature.replace('_', ' ')} = {shown}"


def recent_change(row: pd.Series, window_days: int) -> str:
    """The supplier's late share over the last ``window_days`` against its usual one, in words."""
    return describe(f"sup_late_excursion_{window_days}d", row)


def category_medians(features: pd.DataFrame, group: str = "main_category") -> pd.DataFrame:
    """Per group value, the median of every numeric feature (the peer comparison in the sentences)."""
    numeric = features.select_dtypes(include="number")
    if group not in features:
        return pd.DataFrame(columns=numeric.columns)
    return numeric.groupby(features[group].astype(object).fillna("(none)").to_numpy()).median()


def explain_rows(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    medians: pd.DataFrame,
    top: int = 3,
    severe_days: int = 14,
) -> pd.DataFrame:
    """The ``top`` drivers per row of ``contributions`` (largest push towards risk first).

    Returns ``driver_1..top`` sentences and ``drivers``: a list per row of dicts with
    feature, value, contribution (log-odds) and text. Features that describe the same
    fact (open lines and overdue lines share a sentence) are shown once.
    """
    rows: list[dict[str, Any]] = []
    for label, contrib in contributions.iterrows():
        row = features.loc[label]
        group = row.get("main_category")
        group_key = "(none)" if group is None or group != group else group
        chosen: list[dict[str, Any]] = []
        seen: set[str] = set()
        for feature, value in contrib.sort_values(ascending=False).items():
            name = str(feature)
            median = (
                float(medians.at[group_key, name])
                if group_key in medians.index and name in medians.columns
                else float("nan")
            )
            text = describe(name, row, median, severe_days)
            if text in seen:
                continue
            seen.add(text)
            raw = row.get(name)
            chosen.append(
                {
                    "feature": name,
                    "value": None
                    if raw is None or (isinstance(raw, float) and math.isnan(raw))
                    else _plain(raw),
                    "contribution": float(value),
                    "direction": "raises risk" if value > 0 else "lowers risk",
                    "text": text,
                }
            )
            if len(chosen) == top:
                break
        record: dict[str, Any] = {f"driver_{i + 1}": d["text"] for i, d in enumerate(chosen)}
        record["drivers"] = chosen
        rows.append(record)
    columns = [f"driver_{i + 1}" for i in range(top)] + ["drivers"]
    return pd.DataFrame(rows, index=contributions.index).reindex(columns=columns)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

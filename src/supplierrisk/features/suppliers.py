"""Point-in-time supplier snapshots: one row per supplier and as-of day, for the disruption model.

``SupplierHistoryIndex`` extends :class:`HistoryIndex` (the same event indexes
and timing rules as the OTD features) with what a supplier-level view needs:

- **severity settlement**: every line's severe/not-severe status is settled on its
  severe day (``promised + severe_delay_days - 1``); severe-delay *rates* count
  settled lines only, so a line that is not yet 14 days past its promise is neither
  a hit nor a trial;
- **fill**: received against ordered quantity, known on the delivery day;
- **breadth**: the categories a supplier served and its spend share in them,
  from orders (known on the order day);
- **group severity**: severe-delay rates by category and by country.

Every quantity as of day ``t`` uses only events on days before ``t``, like the
line features; the leakage tests cover these features too.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.features.events import (
    EVENTS,
    GROUP_SHIFT,
    NO_DAY,
    Column,
    EventIndex,
    day_numbers,
    submit_index,
)
from supplierrisk.features.history import (
    GROUP_LEVELS,
    LINES,
    DeliveredColumn,
    GroupCoder,
    HistoryIndex,
    LineOutcomes,
    OrderedColumn,
    OutcomeColumn,
    smoothed_rate,
)
from supplierrisk.kpis import one_sided_lower_bound

# Columns that describe a snapshot (context for drivers and roll-ups), not features in themselves.
SNAPSHOT_KEYS: Final = ("supplier_id", "as_of")
# Quarters over which the late-rate slope is fitted (the last year, newest last).
_SLOPE_QUARTERS: Final = 4
_QUARTER_DAYS: Final = 91
# Groups with a severe-delay rate feature.
SEVERITY_GROUPS: Final = ("category", "country")
# "Days since the last (severe) delay" for a supplier with none on record: ten years, so that a first
# delay always shortens it (a monotone model cannot rank a missing value).
NO_DELAY_DAYS: Final = 3650.0


class _SupplierPairs:
    """(supplier, attribute) pairs seen in history, with per-pair order sums for point-in-time queries."""

    def __init__(
        self,
        history: pd.DataFrame,
        column: str,
        supplier: GroupCoder,
        order_day: np.ndarray,
        values: list[Column],
    ) -> None:
        self.coder, codes = GroupCoder.with_codes(history[["supplier_id", column]])
        n_attr = len(self.coder.levels[1])
        uniques = self.coder.uniques.to_numpy()
        owners = supplier.codes(
            pd.DataFrame({"supplier_id": self.coder.levels[0].to_numpy()[uniques // (n_attr + 1)]})
        )
        self.attribute = self.coder.levels[1].to_numpy()[uniques % (n_attr + 1)]
        # Ties between a supplier's attributes are broken by the attribute's sorted rank, never by
        # the order rows happen to arrive in.
        self.attribute_rank = np.argsort(np.argsort(self.attribute.astype(str), kind="stable"), kind="stable")
        self.by_owner = np.argsort(owners, kind="stable")
        self.owner_start = np.searchsorted(owners[self.by_owner], np.arange(len(supplier.uniques) + 1))
        self.index = EventIndex(codes, order_day, values)

    def expand(self, sup: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Query rows repeated once per pair of their supplier: ``(row, pair)`` arrays."""
        valid = sup >= 0
        safe = np.where(valid, sup, 0)
        counts = np.where(valid, self.owner_start[safe + 1] - self.owner_start[safe], 0)
        rows = np.repeat(np.arange(len(sup)), counts)
        offsets = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        pairs = self.by_owner[np.repeat(self.owner_start[safe], counts) + offsets]
        return rows, pairs


class _PromisedLines:
    """Lines by supplier and promised day, to count open lines falling due in a horizon.

    "Open at ``t`` and due in ``(t, t + h]``" needs two conditions (ordered before
    ``t``, not delivered before ``t``) on the lines of a promised-day range, which
    prefix sums cannot answer; the ranges are short, so they are expanded instead.
    """

    def __init__(self, sup: np.ndarray, out: LineOutcomes) -> None:
        keep = (sup >= 0) & (out.promised_day != NO_DAY) & (out.order_day != NO_DAY)
        order = np.lexsort((out.promised_day[keep], sup[keep]))
        self.key = (sup[keep] * GROUP_SHIFT + out.promised_day[keep])[order]
        self.order_day = out.order_day[keep][order]
        delivered = out.delivered_day[keep][order]
        self.delivered_day = np.where(delivered == NO_DAY, np.iinfo(np.int64).max, delivered)
        self.value = out.value[keep][order]

    def open_due(self, sup: np.ndarray, t: np.ndarray, horizon_days: int) -> np.ndarray:
        """Per query: count and value of lines ordered before ``t``, undelivered then, due in the horizon."""
        base = np.where(sup >= 0, sup, 0).astype(np.int64) * GROUP_SHIFT
        lo = np.searchsorted(self.key, base + t + 1, side="left")
        hi = np.searchsorted(self.key, base + t + horizon_days + 1, side="left")
        counts = np.where(sup >= 0, hi - lo, 0)
        rows = np.repeat(np.arange(len(sup)), counts)
        positions = (
            np.repeat(lo, counts) + np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        t_rows = t[rows]
        is_open = (self.order_day[positions] < t_rows) & (self.delivered_day[positions] >= t_rows)
        out = np.zeros((len(sup), 2))
        out[:, 0] = np.bincount(rows[is_open], minlength=len(sup))
        out[:, 1] = np.bincount(rows[is_open], weights=self.value[positions][is_open], minlength=len(sup))
        return out


def _first_by_score(rows: np.ndarray, score: np.ndarray, tie_rank: np.ndarray, n: int) -> np.ndarray:
    """Per query row, the position (into ``rows``) of its highest score (ties: lowest rank); -1 if none."""
    order = np.lexsort((tie_rank, -score, rows))
    first = np.full(n, -1, dtype=np.int64)
    rows_sorted = rows[order]
    keep = np.r_[True, rows_sorted[1:] != rows_sorted[:-1]] if len(rows_sorted) else np.zeros(0, bool)
    first[rows_sorted[keep]] = order[keep]
    return first


class SupplierHistoryIndex(HistoryIndex):
    """``HistoryIndex`` plus the supplier-level indexes of the disruption snapshots."""

    def _build(
        self, history: pd.DataFrame, out: LineOutcomes, sup: np.ndarray, pool: Executor
    ) -> dict[str, np.ndarray]:
        severe = out.severe.astype(float)
        # Submitted before the line indexes, so the workers are busy while those are set up.
        severity = submit_index(pool, sup, out.severe_day, EVENTS, severe)
        with_fill = out.delivered & ~np.isnan(out.ordered) & ~np.isnan(out.received)
        fill = submit_index(
            pool,
            np.where(with_fill, sup, -1),
            out.delivered_day,
            np.nan_to_num(out.received),
            np.nan_to_num(out.ordered),
        )
        everyone = np.zeros(len(history), dtype=np.int64)
        overall_severity = submit_index(pool, everyone, out.severe_day, EVENTS, severe)
        self.promised = _PromisedLines(sup, out)
        self.first_order_date = pd.Timestamp(history["order_date"].min())
        group_codes = super()._build(history, out, sup, pool)
        group_severity = {
            name: (coder, submit_index(pool, group_codes[name], out.severe_day, EVENTS, severe))
            for name, (coder, _) in self.groups.items()
            if name in SEVERITY_GROUPS
        }
        # Spend when prices are known, else line counts: what "share of a category" is measured in.
        weight = out.value if self.has_value else EVENTS
        order_values = [EVENTS, weight]
        categories = countries = category_orders = None
        if "category" in self.group_levels:
            categories = pool.submit(
                _SupplierPairs, history, "category", self.supplier, out.order_day, order_values
            )
            coder = self.groups["category"][0]
            category_orders = (
                coder,
                submit_index(pool, group_codes["category"], out.order_day, EVENTS, weight),
            )
        if "country" in self.group_levels:
            countries = pool.submit(
                _SupplierPairs, history, "supplier_country", self.supplier, out.order_day, order_values
            )
        self.severity, self.fill, self.overall_severity = (
            severity.result(),
            fill.result(),
            overall_severity.result(),
        )
        self.group_severity = {
            name: (coder, index.result()) for name, (coder, index) in group_severity.items()
        }
        self.categories = categories.result() if categories else None
        self.category_orders = (category_orders[0], category_orders[1].result()) if category_orders else None
        self.countries = countries.result() if countries else None
        return group_codes

    def known_suppliers(self) -> np.ndarray:
        """Every supplier id in the indexed history."""
        return self.supplier.levels[0].to_numpy()

    def active(self, suppliers: np.ndarray, as_of: pd.Series) -> np.ndarray:
        """Mask: ordered in the long window before ``as_of``, or had open lines at ``as_of``."""
        t = day_numbers(as_of)
        sup = self.supplier.codes(pd.DataFrame({"supplier_id": suppliers}))
        recent = self.ordered.window_sum(sup, t, self.config.long_window_days, columns=[OrderedColumn.LINES])[
            :, 0
        ]
        ordered_all = self.ordered.sum_before(sup, t, columns=[OrderedColumn.LINES])[:, 0]
        delivered_all = self.delivered.sum_before(sup, t, columns=[DeliveredColumn.LINES])[:, 0]
        return np.asarray((recent > 0) | (ordered_all - delivered_all > 0.5))

    def _dominant(
        self, pairs: _SupplierPairs, sup: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query, the supplier's main attribute (by long-window weight, then all-time lines).

        Returns the attribute (None when the supplier has none before ``t``) and the
        long-window weight of that pair.
        """
        rows, pair = pairs.expand(sup)
        t_rows = t[rows]
        window = pairs.index.window_sum(pair, t_rows, self.config.long_window_days, columns=[1])[:, 0]
        lines = pairs.index.sum_before(pair, t_rows, columns=[0])[:, 0]
        # Long-window weight first; all-time line count breaks ties (and picks for dormant suppliers).
        score = np.where(lines > 0, window * 1e6 + lines, -1.0)
        first = _first_by_score(rows, score, pairs.attribute_rank[pair], len(sup))
        found = first >= 0
        found[found] = score[first[found]] >= 0
        attribute = np.full(len(sup), None, dtype=object)
        attribute[found] = pairs.attribute[pair[first[found]]]
        main_weight = np.zeros(len(sup))
        main_weight[found] = window[first[found]]
        return attribute, main_weight

    def snapshot_features(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """Features per ``(supplier_id, as_of)`` row: the OTD supplier features plus snapshot extras.

        Adds ``main_category`` and ``supplier_country`` (the supplier's main ones at
        as-of, categorical) and the severity, fill, trend, variability, exposure,
        breadth and group-severity features listed in the README.
        """
        cfg = self.config
        as_of = pd.to_datetime(snapshots["as_of"]).astype("datetime64[ns]")
        t = day_numbers(as_of)
        n = len(snapshots)
        sup = self.supplier.codes(snapshots[["supplier_id"]])
        queries = pd.DataFrame({"supplier_id": snapshots["supplier_id"].to_numpy()}, index=snapshots.index)
        main_category = np.full(n, None, dtype=object)
        main_weight = np.zeros(n)
        if self.categories is not None:
            main_category, main_weight = self._dominant(self.categories, sup, t)
            queries["category"] = main_category
        if self.countries is not None:
            queries["supplier_country"] = self._dominant(self.countries, sup, t)[0]
        feats = self.supplier_features(queries, as_of.set_axis(snapshots.index))
        with np.errstate(invalid="ignore", divide="ignore"):
            extra, severe_prior = self._severity_rates(queries, t)
            extra |= self._window_rates(sup, t, severe_prior)
            extra |= self._trends(sup, t, feats, extra)
            extra |= self._exposure(sup, t, extra[f"sup_severe_rate_{cfg.long_window_days}d"])
            extra |= self._excursions(
                sup, t, feats[f"sup_late_rate_{cfg.long_window_days}d"].to_numpy(dtype=float)
            )
            if self.categories is not None and self.category_orders is not None:
                extra |= self._breadth(
                    self.categories, self.category_orders, sup, t, main_category, main_weight
                )
        for name, values in extra.items():
            feats[name] = np.asarray(values, dtype=np.float32)
        for name in ("sup_days_since_late", "sup_days_since_severe"):
            feats[name] = feats[name].fillna(NO_DELAY_DAYS).astype(np.float32)
        feats.insert(0, "main_category", main_category)
        feats.insert(
            1,
            "supplier_country",
            queries["supplier_country"].to_numpy() if "supplier_country" in queries else None,
        )
        return feats

    def _severity_rates(
        self, queries: pd.DataFrame, t: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Global and group severe-delay rates over the long window; the supplier's prior: its category's."""
        cfg = self.config
        long = cfg.long_window_days
        n = len(t)
        extra: dict[str, np.ndarray] = {}
        overall = self.overall_severity.window_sum(np.zeros(n, dtype=np.int64), t, long)
        global_severe = (overall[:, 1] + 1.0) / (overall[:, 0] + 2.0)
        extra[f"global_severe_rate_{long}d"] = global_severe
        severe_prior = global_severe
        for name, (coder, index) in self.group_severity.items():
            cols = GROUP_LEVELS[name]
            if not all(c in queries.columns for c in cols):
                continue
            sums = index.window_sum(coder.codes(queries[cols]), t, long)
            # Every group rate shrinks toward the global rate; the supplier's own prior is its category's.
            rate = smoothed_rate(sums[:, 1], sums[:, 0], global_severe, cfg.prior_strength_lines)
            extra[f"{name}_severe_rate_{long}d"] = rate
            if name == "category":
                severe_prior = rate
        return extra, severe_prior

    def _window_rates(
        self, sup: np.ndarray, t: np.ndarray, severe_prior: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per window: late lines, the smoothed severe rate, the p90 delay and the fill rate."""
        cfg = self.config
        extra: dict[str, np.ndarray] = {}
        settled = self.severity.window_sums(sup, t, cfg.windows_days)
        outcome = self.outcome.window_sums(sup, t, cfg.windows_days, columns=[OutcomeColumn.LATE])
        first = DeliveredColumn.FIRST_DELAY_THRESHOLD
        threshold_columns = list(range(first, first + len(cfg.delay_thresholds_days)))
        delivered = self.delivered.window_sums(
            sup, t, cfg.windows_days, columns=[DeliveredColumn.LINES, *threshold_columns]
        )
        fill = self.fill.window_sums(sup, t, cfg.windows_days) if self.has_otif else {}
        for window in cfg.windows_days:
            extra[f"sup_late_lines_{window}d"] = outcome[window][:, 0]
            hits = settled[window]
            extra[f"sup_severe_rate_{window}d"] = smoothed_rate(
                hits[:, 1], hits[:, 0], severe_prior, cfg.prior_strength_lines
            )
            extra[f"sup_delay_p90_days_{window}d"] = _p90_from_thresholds(
                delivered[window], cfg.delay_thresholds_days
            )
            if self.has_otif:
                received, ordered = fill[window][:, 0], fill[window][:, 1]
                extra[f"sup_fill_rate_{window}d"] = np.where(ordered > 0, received / ordered, np.nan)
        return extra

    def _trends(
        self, sup: np.ndarray, t: np.ndarray, feats: pd.DataFrame, extra: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """The severe-rate trend, the quarterly late-rate slope, and lead-time variability and its change."""
        cfg = self.config
        short, long = min(cfg.windows_days), cfg.long_window_days
        out: dict[str, np.ndarray] = {
            f"sup_severe_rate_trend_{short}d_vs_{long}d": extra[f"sup_severe_rate_{short}d"]
            - extra[f"sup_severe_rate_{long}d"]
        }
        category_rate = f"category_late_rate_{long}d"
        prior = feats[category_rate] if category_rate in feats else feats[f"global_late_rate_{long}d"]
        out[f"sup_late_rate_slope_per_quarter_{_SLOPE_QUARTERS * _QUARTER_DAYS}d"] = self._late_rate_slope(
            sup, t, prior.to_numpy(dtype=float)
        )
        lead_short = self.delivered.window_sum(
            sup,
            t,
            short,
            columns=[DeliveredColumn.LINES, DeliveredColumn.LEAD_DAYS, DeliveredColumn.LEAD_DAYS_SQUARED],
        )
        count = lead_short[:, 0]
        mean = np.where(count > 0, lead_short[:, 1] / count, np.nan)
        std_short = np.sqrt(np.clip(np.where(count > 1, lead_short[:, 2] / count - mean**2, np.nan), 0, None))
        out[f"sup_lead_time_std_days_{short}d"] = std_short
        std_long = feats[f"sup_lead_time_std_days_{long}d"].to_numpy(dtype=float)
        out[f"sup_lead_time_std_change_{short}d_vs_{long}d"] = np.where(
            std_long > 0, std_short / std_long - 1.0, np.nan
        )
        return out

    def _exposure(self, sup: np.ndarray, t: np.ndarray, severe_rate: np.ndarray) -> dict[str, np.ndarray]:
        """Open lines and value due in the horizon, expected severe delays there, and the order flow."""
        cfg = self.config
        short, long = min(cfg.windows_days), cfg.long_window_days
        horizon = cfg.due_horizon_days
        extra: dict[str, np.ndarray] = {}
        open_due = self.promised.open_due(sup, t, horizon)
        extra[f"sup_open_lines_due_{horizon}d"] = open_due[:, 0]
        if self.has_value:
            extra[f"sup_open_value_due_{horizon}d"] = open_due[:, 1]
        # Lines expected due in the horizon: those already open and due then, or as many as fell
        # due in the last horizon (the usual flow), whichever is larger.
        recent_due = self.due.window_sum(sup, t, horizon, columns=[LINES])[:, 0]
        expected_due = np.maximum(open_due[:, 0], recent_due)
        extra[f"sup_expected_severe_lines_{horizon}d"] = expected_due * severe_rate
        # The chance of at least one severe delay if each expected line slips independently.
        extra[f"sup_severe_delay_prior_{horizon}d"] = 1.0 - (1.0 - severe_rate) ** expected_due
        ordered_long = self.ordered.window_sum(sup, t, long, columns=[OrderedColumn.LINES])[:, 0]
        extra[f"sup_ordered_lines_{long}d"] = ordered_long
        ordered_short = self.ordered.window_sum(sup, t, short, columns=[OrderedColumn.LINES])[:, 0]
        extra[f"sup_orders_{short}d_vs_usual"] = (ordered_short + 1.0) / (ordered_long * short / long + 1.0)
        return extra

    def _late_rate_slope(self, sup: np.ndarray, t: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """Least-squares slope of the smoothed quarterly late rate over the last year (per quarter)."""
        x = np.arange(_SLOPE_QUARTERS, dtype=float) - (_SLOPE_QUARTERS - 1) / 2.0
        slope = np.zeros(len(sup))
        for k in range(_SLOPE_QUARTERS):
            # Quarter k (0 = oldest) covers [t - (4 - k) * 91, t - (3 - k) * 91).
            end = t - (_SLOPE_QUARTERS - 1 - k) * _QUARTER_DAYS
            sums = self.outcome.window_sum(
                sup, end, _QUARTER_DAYS, columns=[OutcomeColumn.KNOWN, OutcomeColumn.LATE]
            )
            rate = smoothed_rate(sums[:, 1], sums[:, 0], prior, self.config.prior_strength_lines)
            slope += x[k] * rate
        return slope / float(np.sum(x**2))

    def _excursions(self, sup: np.ndarray, t: np.ndarray, normal: np.ndarray) -> dict[str, np.ndarray]:
        """The disruption event's test on known outcomes: now, and how often in the last long window.

        ``sup_late_excursion_<short>d``: the one-sided Wilson lower bound of the late
        share over the last ``short`` days (outcomes known by then) minus the supplier's
        long-window late rate; ``sup_late_excursions_<short>d_in_<long>d``: how many of the earlier
        ``short``-day blocks of the long window had that bound above the rate by the margin.
        """
        cfg = self.config
        short, long = min(cfg.windows_days), cfg.long_window_days
        recent = self.outcome.window_sum(sup, t, short, columns=[OutcomeColumn.KNOWN, OutcomeColumn.LATE])
        bound = one_sided_lower_bound(recent[:, 1], recent[:, 0], cfg.excursion_confidence)
        count = np.zeros(len(sup))
        for k in range(1, max(1, long // short)):
            block = self.outcome.window_sum(
                sup, t - k * short, short, columns=[OutcomeColumn.KNOWN, OutcomeColumn.LATE]
            )
            past = one_sided_lower_bound(block[:, 1], block[:, 0], cfg.excursion_confidence)
            count += np.nan_to_num(past, nan=0.0) > normal + cfg.excursion_margin
        return {
            f"sup_late_excursion_{short}d": np.nan_to_num(bound, nan=0.0) - normal,
            f"sup_late_excursions_{short}d_in_{long}d": count,
        }

    def _breadth(
        self,
        categories: _SupplierPairs,
        category_orders: tuple[GroupCoder, EventIndex],
        sup: np.ndarray,
        t: np.ndarray,
        main_category: np.ndarray,
        main_weight: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Categories served in the long window and the spend share in the main category."""
        long = self.config.long_window_days
        rows, pair = categories.expand(sup)
        active = categories.index.window_sum(pair, t[rows], long, columns=[0])[:, 0] > 0
        served = np.bincount(rows[active], minlength=len(sup)).astype(float)
        coder, index = category_orders
        category_codes = coder.codes(pd.DataFrame({"category": main_category}))
        category_total = index.window_sum(category_codes, t, long, columns=[1])[:, 0]
        share = np.where(category_total > 0, main_weight / category_total, np.nan)
        return {f"sup_categories_{long}d": served, f"sup_main_category_spend_share_{long}d": share}


def _p90_from_thresholds(sums: np.ndarray, thresholds: tuple[int, ...]) -> np.ndarray:
    """The 90th-percentile delay on the threshold grid: the largest threshold reached by over 10 %.

    ``sums`` holds the delivered count then one count per threshold of deliveries at
    least that late. The result is a lower bound of the true percentile, exact at the
    grid points (0 when fewer than 10 % of deliveries were late, NaN without deliveries).
    """
    count = sums[:, 0]
    p90 = np.zeros(len(count))
    for column, threshold in enumerate(thresholds, start=1):
        p90 = np.where(sums[:, column] > 0.1 * count, float(threshold), p90)
    return np.where(count > 0, p90, np.nan)


def snapshot_dates(start: pd.Timestamp, end: pd.Timestamp, frequency: str = "MS") -> pd.DatetimeIndex:
    """As-of days from ``start`` to ``end`` inclusive (default: first day of every month)."""
    return pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq=frequency)


def active_snapshots(index: SupplierHistoryIndex, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """``(supplier_id, as_of)`` for every supplier active at each date, ordered by supplier then date."""
    suppliers = index.known_suppliers()
    grid = pd.DataFrame(
        {
            "supplier_id": np.repeat(suppliers, len(dates)),
            "as_of": np.tile(dates.to_numpy(dtype="datetime64[ns]"), len(suppliers)),
        }
    )
    keep = index.active(grid["supplier_id"].to_numpy(), grid["as_of"])
    return grid.loc[keep].reset_index(drop=True)


__all__ = [
    "SNAPSHOT_KEYS",
    "SupplierHistoryIndex",
    "active_snapshots",
    "snapshot_dates",
]

"""Point-in-time supplier history: what was known about each supplier, group and line at a day.

The single implementation behind training rows, batch scoring and one-line
online scoring. ``HistoryIndex`` is built once from a canonical history and
answers queries ``(keys, as_of)``; every quantity it returns uses only events
on days strictly before ``as_of``:

- an on-time delivery is known on its delivery day;
- lateness is known once the promise (plus tolerance) has expired, on day
  ``promised + tolerance``, whether or not the line was delivered later;
- a severe delay (``>= severe_delay_days`` late) is known on day
  ``promised + severe_delay_days - 1``;
- delay amounts, actual lead times and fill are known on the delivery day;
- an order, its promised lead time, quantity and value are known on its order day.

So changing or deleting an outcome that happened on or after ``as_of`` cannot
change a feature at ``as_of``: that is what the leakage tests check.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, Self, TypeAlias

import numpy as np
import pandas as pd

from supplierrisk.features.config import BUILD_SETTINGS, FeatureConfig
from supplierrisk.features.events import (
    EVENTS,
    FEW_QUERIES,
    NO_DAY,
    EventIndex,
    build_workers,
    day_numbers,
    submit_index,
)
from supplierrisk.schema import has_values


def latest_day(history: pd.DataFrame) -> pd.Timestamp:
    """The last day the history knows anything about (an order or a delivery)."""
    last = history["order_date"].max()
    delivered = history["delivered_date"].max()
    return pd.Timestamp(last if pd.isna(delivered) else max(last, delivered)).normalize()


class AsOfOutsideDataError(ValueError):
    """An as-of before the first order or too long after the store's last day."""


@dataclass(frozen=True)
class AsOf:
    """The day a command works as of, and whether it was the default (the store's last day)."""

    day: pd.Timestamp
    defaulted: bool

    def note(self) -> str:
        """The line a command prints about its as-of."""
        default = " (the store's last day)" if self.defaulted else ""
        return f"as of {self.day.date()}{default}"


def resolve_as_of(history: pd.DataFrame, requested: pd.Timestamp | None, max_days_after: int) -> AsOf:
    """The requested day checked against the data, or the store's last day when none is given.

    A day before the first order, or more than ``max_days_after`` days after the last
    known day, raises ``AsOfOutsideDataError`` saying which days the data allows.
    """
    first = pd.Timestamp(history["order_date"].min()).normalize()
    last = latest_day(history)
    if requested is None:
        return AsOf(last, True)
    day = pd.Timestamp(requested).normalize()
    span = f"the store covers {first.date()} to {last.date()}"
    if day < first:
        raise AsOfOutsideDataError(
            f"as of {day.date()} is before the first order ({first.date()}): {span}; choose a day in it"
        )
    if day > last + pd.Timedelta(days=max_days_after):
        raise AsOfOutsideDataError(
            f"as of {day.date()} is {(day - last).days} days after the store's last known day"
            f" ({last.date()}):"
            f" {span}; ingest newer data, choose an earlier day, or raise"
            " SUPPLIERRISK_BATCH_MAX_DAYS_AFTER_DATA"
        )
    return AsOf(day, False)


def known_history(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """What the store knew at the end of day ``as_of``: later orders dropped, later outcomes blanked."""
    as_of = pd.Timestamp(as_of).normalize()
    ordered = (history["order_date"] <= as_of).to_numpy()
    # At the store's last day nothing is dropped or blanked: a shallow copy, not ten million rows.
    known = history.copy(deep=False) if ordered.all() else history.loc[ordered]
    later = (known["delivered_date"] > as_of).to_numpy()
    if later.any():
        known = known.copy()
        known.loc[later, "delivered_date"] = pd.NaT
        for column in ("quantity_received", "quantity_rejected", "invoice_unit_price"):
            if column in known:
                known.loc[later, column] = np.nan
    return known


# Query keys by column name: a frame of lines, or a mapping of arrays (the few-row path).
Queries: TypeAlias = pd.DataFrame | Mapping[str, Any]


class GroupCoder:
    """Integer codes for group keys seen in history; unseen or missing keys get -1.

    Multi-column keys are combined arithmetically from per-column codes, so no
    string tuples are built (this matters at ten million lines). Keys are read by
    column name from a frame or a mapping of arrays; an absent column is all missing.
    """

    def __init__(self, keys: pd.DataFrame) -> None:
        self._fit(keys)

    @classmethod
    def with_codes(cls, keys: pd.DataFrame) -> tuple[GroupCoder, np.ndarray]:
        """The coder of ``keys`` and their codes (what ``codes(keys)`` returns), from one pass."""
        coder = cls.__new__(cls)
        return coder, coder._fit(keys)

    def _fit(self, keys: pd.DataFrame) -> np.ndarray:
        # One factorize per column gives its levels (in order of appearance, missing values
        # excluded) and the rows' codes at once; a lookup afterwards would hash every row again.
        self.columns = list(keys.columns)
        self.levels = []
        combined = np.zeros(len(keys), dtype=np.int64)
        valid = np.ones(len(keys), dtype=bool)
        for column in self.columns:
            codes, level = pd.factorize(keys[column].to_numpy())
            self.levels.append(pd.Index(level))
            valid &= codes >= 0
            combined = combined * (len(level) + 1) + codes
        found = np.full(len(keys), -1, dtype=np.int64)
        found[valid], uniques = pd.factorize(combined[valid])
        self.uniques = pd.Index(uniques)
        self._lookups: tuple[list[dict[Any, int]], dict[int, int]] | None = None
        return found

    def share_with_threads(self) -> None:
        """Fill the lookup tables pandas and the few-row path build lazily and without a lock.

        Threads that query the coder afterwards only read them.
        """
        for level in [*self.levels, self.uniques]:
            level.get_indexer(level[:1])
        first = {c: level[:1].to_numpy() for c, level in zip(self.columns, self.levels, strict=True)}
        self._small_codes(first)

    def _column(self, keys: Queries, column: str) -> np.ndarray | None:
        return np.asarray(keys[column]) if column in keys else None

    def _combine(self, keys: Queries) -> np.ndarray:
        rows = _rows(keys, self.columns)
        combined = np.zeros(rows, dtype=np.int64)
        valid = np.ones(rows, dtype=bool)
        for column, level in zip(self.columns, self.levels, strict=True):
            values = self._column(keys, column)
            codes = (
                np.full(rows, -1, dtype=np.int64)
                if values is None
                else np.asarray(level.get_indexer(values), dtype=np.int64)
            )
            valid &= codes >= 0
            combined = combined * (len(level) + 1) + codes
        combined[~valid] = -1
        return combined

    def codes(self, keys: Queries) -> np.ndarray:
        """Codes for ``keys`` (the columns given at construction)."""
        if _rows(keys, self.columns) <= FEW_QUERIES:
            return self._small_codes(keys)
        combined = self._combine(keys)
        found = np.asarray(self.uniques.get_indexer(combined), dtype=np.int64)
        found[combined < 0] = -1
        return found

    def _small_codes(self, keys: Queries) -> np.ndarray:
        if self._lookups is None:
            # Built on the first small query; a race builds the same dictionaries twice, harmlessly.
            by_level = [{value: code for code, value in enumerate(level)} for level in self.levels]
            self._lookups = by_level, {int(c): code for code, c in enumerate(self.uniques)}
        by_level, by_combined = self._lookups
        rows = _rows(keys, self.columns)
        columns = [self._column(keys, c) for c in self.columns]
        out = np.full(rows, -1, dtype=np.int64)
        for row in range(rows):
            combined = 0
            for values, lookup, level in zip(columns, by_level, self.levels, strict=True):
                code = -1 if values is None else lookup.get(values[row], -1)
                if code < 0:
                    break
                combined = combined * (len(level) + 1) + code
            else:
                out[row] = by_combined.get(combined, -1)
        return out


def _rows(keys: Queries, columns: list[str]) -> int:
    present = next((c for c in columns if c in keys), None)
    if present is None:
        raise KeyError(f"keys need at least one of {columns}")
    return len(keys[present])


@dataclass(frozen=True)
class LineOutcomes:
    """Per-line outcome facts and the days they become known."""

    order_day: np.ndarray
    promised_day: np.ndarray
    delivered_day: np.ndarray
    delivered: np.ndarray
    late: np.ndarray
    known_day: np.ndarray
    severe: np.ndarray
    severe_day: np.ndarray
    delay_days: np.ndarray
    lead_time_days: np.ndarray
    has_quantities: np.ndarray
    in_full: np.ndarray
    value: np.ndarray
    quantity: np.ndarray
    ordered: np.ndarray
    received: np.ndarray


def line_outcomes(history: pd.DataFrame, config: FeatureConfig) -> LineOutcomes:
    """Each line's outcome facts and the days they become known (see the module docstring)."""
    tol = config.on_time_tolerance_days
    order_day = day_numbers(history["order_date"])
    promised_day = day_numbers(history["promised_date"])
    delivered_day = day_numbers(history["delivered_date"])
    delivered = delivered_day != NO_DAY
    on_time = delivered & (delivered_day <= promised_day + tol)
    late = ~on_time
    known_day = np.where(on_time, delivered_day, promised_day + tol)
    severe = ~delivered | (delivered_day - promised_day >= config.severe_delay_days)
    severe_day = promised_day + config.severe_delay_days - 1
    delay = np.where(delivered & late, delivered_day - promised_day, 0).astype(float)
    lead = np.where(delivered, delivered_day - order_day, 0).astype(float)
    ordered = history["quantity_ordered"].to_numpy(dtype=float)
    received = history["quantity_received"].to_numpy(dtype=float)
    has_quantities = ~np.isnan(ordered) & (late | ~np.isnan(received))
    with np.errstate(invalid="ignore"):
        in_full = on_time & (received >= ordered * (1.0 - config.in_full_tolerance))
    price = history["unit_price"].to_numpy(dtype=float)
    return LineOutcomes(
        order_day=order_day,
        promised_day=promised_day,
        delivered_day=delivered_day,
        delivered=delivered,
        late=late,
        known_day=known_day,
        severe=severe,
        severe_day=severe_day,
        delay_days=delay,
        lead_time_days=lead,
        has_quantities=has_quantities,
        in_full=in_full,
        value=np.nan_to_num(ordered * price),
        quantity=np.nan_to_num(ordered),
        ordered=ordered,
        received=received,
    )


def smoothed_rate(hits: np.ndarray, trials: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """Beta-binomial posterior mean: ``strength`` pseudo-lines at the prior rate."""
    return (hits + strength * prior) / (trials + strength)


def _log1p_safe(values: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(values, 0.0, None))


GROUP_LEVELS = {"category": ["category"], "country": ["supplier_country"], "mode": ["ship_mode"]}


class OutcomeColumn(IntEnum):
    """Value columns of ``HistoryIndex.outcome``: lines at the day their outcome is known."""

    KNOWN = 0
    LATE = 1
    OTIF_JUDGED = 2
    OTIF_HIT = 3


class DeliveredColumn(IntEnum):
    """Value columns of ``HistoryIndex.delivered``: lines at their delivery day."""

    LINES = 0
    DELAY_DAYS = 1
    LEAD_DAYS = 2
    LEAD_DAYS_SQUARED = 3
    VALUE = 4
    FIRST_DELAY_THRESHOLD = 5  # then one column per ``delay_thresholds_days``


class OrderedColumn(IntEnum):
    """Value columns of ``HistoryIndex.ordered``: lines at their order day."""

    LINES = 0
    PROMISED_LEAD_DAYS = 1
    LOG_VALUE = 2
    LOG_QUANTITY = 3
    VALUE = 4


# Column 0 of every index counts its events (lines).
LINES: Final = 0
_DELAY_AND_LEAD: Final[list[int]] = [
    DeliveredColumn.LINES,
    DeliveredColumn.DELAY_DAYS,
    DeliveredColumn.LEAD_DAYS,
    DeliveredColumn.LEAD_DAYS_SQUARED,
]
_USUAL_ORDER: Final[list[int]] = [
    OrderedColumn.LINES,
    OrderedColumn.PROMISED_LEAD_DAYS,
    OrderedColumn.LOG_VALUE,
    OrderedColumn.LOG_QUANTITY,
]


class HistoryIndex:
    """Event indexes over one canonical history, queried as of any day."""

    def __init__(self, history: pd.DataFrame, config: FeatureConfig, workers: int | None = None) -> None:
        self.config = config
        self.has_otif = has_values(history, "quantity_received") and has_values(history, "quantity_ordered")
        self.has_value = has_values(history, "unit_price") and has_values(history, "quantity_ordered")
        self.group_levels = {
            name: cols for name, cols in GROUP_LEVELS.items() if all(has_values(history, c) for c in cols)
        }
        self.supplier, sup = GroupCoder.with_codes(history[["supplier_id"]])
        # The workers that share the supplier coder (the supplier-pair tables) only read it.
        self.supplier.share_with_threads()
        outcomes = line_outcomes(history, config)
        # The indexes are independent: built on threads, each the same as built alone.
        with ThreadPoolExecutor(workers or build_workers(), thread_name_prefix="event-index") as pool:
            self._build(history, outcomes, sup, pool)

    def _build(
        self, history: pd.DataFrame, out: LineOutcomes, sup: np.ndarray, pool: Executor
    ) -> dict[str, np.ndarray]:
        """Build the event indexes on ``pool``; subclasses extend this to index more facts.

        Returns each group level's codes of the history's lines, for the subclass's group indexes.
        """
        config = self.config
        late = out.late.astype(float)
        otif_n = out.has_quantities.astype(float)
        otif_hit = (out.in_full & out.has_quantities).astype(float)
        outcome = submit_index(pool, sup, out.known_day, EVENTS, late, otif_n, otif_hit, keep_values=True)
        severe = submit_index(pool, np.where(out.severe, sup, -1), out.severe_day, EVENTS)
        late_lines = submit_index(pool, np.where(out.late, sup, -1), out.known_day, EVENTS)
        delivered_days = np.where(out.delivered, out.delivered_day, NO_DAY)
        threshold_hits = [(out.delay_days >= b).astype(float) for b in config.delay_thresholds_days]
        delay_and_lead = [out.delay_days, out.lead_time_days, out.lead_time_days**2, out.value]
        delivered = submit_index(pool, sup, delivered_days, EVENTS, *delay_and_lead, *threshold_hits)
        promised_lead = (out.promised_day - out.order_day).astype(float)
        order_sizes = [promised_lead, _log1p_safe(out.value), _log1p_safe(out.quantity), out.value]
        ordered = submit_index(pool, sup, out.order_day, EVENTS, *order_sizes)
        due_day = out.promised_day + config.on_time_tolerance_days
        due = submit_index(pool, sup, due_day, EVENTS, out.value)
        resolved_day = np.where(out.delivered, np.maximum(out.delivered_day, due_day), NO_DAY)
        due_resolved = submit_index(pool, sup, resolved_day, EVENTS, out.value)
        self.lane, lane = GroupCoder.with_codes(history[["supplier_id", "ship_mode", "category"]])
        lane_delivered = submit_index(pool, lane, delivered_days, EVENTS, out.lead_time_days)
        groups: dict[str, tuple[GroupCoder, Future[EventIndex]]] = {}
        group_codes = {}
        for name, cols in self.group_levels.items():
            coder, group_codes[name] = GroupCoder.with_codes(history[cols])
            # A line's severity is only known at its severe day; group rates count lateness alone.
            groups[name] = (coder, submit_index(pool, group_codes[name], out.known_day, EVENTS, late))
        overall = submit_index(pool, np.zeros(len(history), dtype=np.int64), out.known_day, EVENTS, late)
        self.outcome, self.severe, self.late = outcome.result(), severe.result(), late_lines.result()
        self.delivered, self.ordered = delivered.result(), ordered.result()
        self.due, self.due_resolved = due.result(), due_resolved.result()
        self.lane_delivered, self.overall = lane_delivered.result(), overall.result()
        self.groups = {name: (coder, index.result()) for name, (coder, index) in groups.items()}
        return group_codes

    def needs_rebuild(self, config: FeatureConfig) -> bool:
        """True when ``config`` differs in a setting the indexes are built with."""
        return config.build_key() != self.config.build_key()

    def reconfigured(self, config: FeatureConfig) -> Self:
        """The same indexes queried with another config (windows, priors); shares all arrays.

        Lets one index built over a large history serve models with different windows,
        as long as the settings the indexes were built with agree.
        """
        differing = [f for f in BUILD_SETTINGS if getattr(config, f) != getattr(self.config, f)]
        if differing:
            raise ValueError(f"index built with other {', '.join(differing)}: build a new one")
        clone = copy.copy(self)
        clone.config = config
        return clone

    def supplier_features(self, queries: pd.DataFrame, as_of: pd.Series) -> pd.DataFrame:
        """Supplier-history features per query row (needs ``supplier_id``; uses ``category`` for priors)."""
        return pd.DataFrame(self.supplier_feature_arrays(queries, as_of), index=queries.index)

    def _group_rates(self, queries: Queries, t: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Global and group late rates over the long window, and the prior for supplier rates."""
        long = self.config.long_window_days
        glob = self.overall.window_sum(np.zeros(len(t), dtype=np.int64), t, long)
        global_rate = (glob[:, 1] + 1.0) / (glob[:, 0] + 2.0)
        feats = {f"global_late_rate_{long}d": global_rate}
        prior = global_rate
        for name, (coder, index) in self.groups.items():
            if not all(c in queries for c in GROUP_LEVELS[name]):
                continue
            sums = index.window_sum(coder.codes(queries), t, long)
            rate = smoothed_rate(sums[:, 1], sums[:, 0], global_rate, self.config.prior_strength_lines)
            feats[f"{name}_late_rate_{long}d"] = rate
            if name == "category":
                prior = rate
        return feats, prior

    def supplier_feature_arrays(
        self, queries: Queries, as_of: pd.Series | np.ndarray
    ) -> dict[str, np.ndarray]:
        """``supplier_features`` as float32 arrays by name, for a frame or a mapping of key arrays."""
        cfg = self.config
        t = day_numbers(as_of)
        sup = self.supplier.codes(queries)
        feats, prior = self._group_rates(queries, t)
        long = cfg.long_window_days
        strength = cfg.prior_strength_lines
        delivered_long = self.delivered.window_sum(sup, t, cfg.long_window_days, columns=_DELAY_AND_LEAD)
        with np.errstate(invalid="ignore", divide="ignore"):
            # Mean delay shrinks toward the supplier's own long-run mean (zero without deliveries).
            prior_delay = np.where(delivered_long[:, 0] > 0, delivered_long[:, 1] / delivered_long[:, 0], 0.0)
            outcome = self.outcome.window_sums(sup, t, cfg.windows_days)
            severe = self.severe.window_sums(sup, t, cfg.windows_days)
            delivered = self.delivered.window_sums(sup, t, cfg.windows_days, columns=_DELAY_AND_LEAD[:2])
            for window in cfg.windows_days:
                out = outcome[window]
                feats[f"sup_known_lines_{window}d"] = out[:, 0]
                feats[f"sup_late_rate_{window}d"] = smoothed_rate(out[:, 1], out[:, 0], prior, strength)
                if self.has_otif:
                    feats[f"sup_otif_rate_{window}d"] = smoothed_rate(
                        out[:, 3], out[:, 2], 1.0 - prior, strength
                    )
                feats[f"sup_severe_lines_{window}d"] = severe[window][:, 0]
                dlv = delivered[window]
                feats[f"sup_delay_mean_days_{window}d"] = (dlv[:, 1] + strength * prior_delay) / (
                    dlv[:, 0] + strength
                )
            for half_life in cfg.decay_half_lives_days:
                decayed = self.outcome.decayed_sum(sup, t, half_life)
                rate = smoothed_rate(decayed[:, 1], decayed[:, 0], prior, strength)
                feats[f"sup_late_rate_decayed_{half_life:g}d"] = rate
            short = min(cfg.windows_days)
            long_out = self.outcome.window_sum(sup, t, cfg.long_window_days)
            long_rate = smoothed_rate(long_out[:, 1], long_out[:, 0], prior, strength)
            feats[f"sup_late_rate_trend_{short}d_vs_{cfg.long_window_days}d"] = (
                feats[f"sup_late_rate_{short}d"] - long_rate
            )
            feats["sup_days_since_late"] = t - self.late.last_day_before(sup, t)
            feats["sup_days_since_severe"] = t - self.severe.last_day_before(sup, t)
            count = delivered_long[:, 0]
            mean_lead = np.where(count > 0, delivered_long[:, 2] / count, np.nan)
            var_lead = np.where(count > 1, delivered_long[:, 3] / count - mean_lead**2, np.nan)
            feats[f"sup_lead_time_mean_days_{long}d"] = mean_lead
            feats[f"sup_lead_time_std_days_{long}d"] = np.sqrt(np.clip(var_lead, 0.0, None))
            ordered_all = self.ordered.sum_before(sup, t, columns=[OrderedColumn.LINES, OrderedColumn.VALUE])
            delivered_all = self.delivered.sum_before(
                sup, t, columns=[DeliveredColumn.LINES, DeliveredColumn.VALUE]
            )
            feats["sup_open_lines"] = ordered_all[:, 0] - delivered_all[:, 0]
            # Differences of float sums can land a hair below zero.
            overdue = np.clip(self.due.sum_before(sup, t) - self.due_resolved.sum_before(sup, t), 0.0, None)
            feats["sup_overdue_lines"] = overdue[:, 0]
            if self.has_value:
                feats["sup_open_value"] = np.clip(ordered_all[:, 1] - delivered_all[:, 1], 0.0, None)
                feats["sup_overdue_value"] = overdue[:, 1]
            recent = self.ordered.window_sum(sup, t, cfg.load_window_days, columns=[LINES])[:, 0]
            usual = (
                self.ordered.window_sum(sup, t, cfg.long_window_days)[:, 0]
                * cfg.load_window_days
                / (cfg.long_window_days)
            )
            feats[f"sup_orders_{cfg.load_window_days}d_vs_usual"] = (recent + 1.0) / (usual + 1.0)
        # float32 halves the memory of feature frames; counts stay exact below 2**24.
        return {k: np.asarray(v, dtype=np.float32) for k, v in feats.items()}

    def usual_order(self, queries: Queries, as_of: pd.Series | np.ndarray) -> dict[str, np.ndarray]:
        """The supplier's usual order over the long window: count, promised lead, log value and quantity."""
        t = day_numbers(as_of)
        sup = self.supplier.codes(queries)
        sums = self.ordered.window_sum(
            sup,
            t,
            self.config.long_window_days,
            columns=_USUAL_ORDER,
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            count = sums[:, 0]
            return {
                "orders": count,
                "promised_lead_mean": np.where(count > 0, sums[:, 1] / count, np.nan),
                "log_value_mean": np.where(count > 0, sums[:, 2] / count, np.nan),
                "log_quantity_mean": np.where(count > 0, sums[:, 3] / count, np.nan),
            }

    def lane_lead_time(self, queries: Queries, as_of: pd.Series | np.ndarray) -> np.ndarray:
        """Mean actual lead time of the supplier's deliveries on the same mode and category (NaN if none)."""
        t = day_numbers(as_of)
        lane = self.lane.codes(queries)
        sums = self.lane_delivered.window_sum(lane, t, self.config.long_window_days)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sums[:, 0] > 0, sums[:, 1] / sums[:, 0], np.nan)


@dataclass(frozen=True)
class HistoryArrays:
    """What the history says about each query's supplier, groups and lane (the history side of features)."""

    supplier: dict[str, np.ndarray]
    usual: dict[str, np.ndarray]
    lane_lead_time: np.ndarray


def history_arrays(index: HistoryIndex, queries: Queries, as_of: pd.Series | np.ndarray) -> HistoryArrays:
    """The supplier features, usual order and lane lead time of each query (see ``HistoryIndex``)."""
    return HistoryArrays(
        index.supplier_feature_arrays(queries, as_of),
        index.usual_order(queries, as_of),
        index.lane_lead_time(queries, as_of),
    )


# The query columns the history side reads: the supplier, its group levels and the lane.
HISTORY_KEY_COLUMNS: Final = ("supplier_id", "category", "supplier_country", "ship_mode")
_ABSENT: Final = object()
# One key's supplier features and usual order (in the names' order), then its lane lead time, in one row.
_Entry: TypeAlias = np.ndarray


def _key_value(value: object) -> object:
    # Missing values in any spelling are one key (NaN is not equal to itself, and pd.NA not hashable-equal).
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else value


def _key_column(values: Any, rows: int) -> Iterable[object]:
    """Key values with the usual missing spellings (None, NaN, pd.NA) as None: one key for all of them.

    A few rows are checked one by one (numpy's fixed costs would dominate), more in one
    ``pd.isna`` pass, which also reads NaT as missing. Either is exact: a key only names a
    cache entry, and every missing spelling gets the same features from the index.
    """
    if rows <= FEW_QUERIES:
        return [_key_value(value) for value in values]
    column = np.array(values, dtype=object)
    column[pd.isna(column)] = None
    return column


class HistoryCache:
    """History arrays per (supplier, category, country, mode) key at one as-of day, each computed once.

    Exact, because the index never changes: a deployment builds one per champion and
    drops it with the deployment. Serves few-line queries (online scoring), where one
    dictionary lookup replaces some forty searches. At most ``size`` keys are kept.
    """

    def __init__(self, index: HistoryIndex, as_of: pd.Timestamp, size: int = 100_000) -> None:
        self.index = index
        self.as_of = pd.Timestamp(as_of).normalize()
        self.size = size
        self._entries: dict[tuple[object, ...], _Entry] = {}
        # Per set of key columns present: the supplier and usual-order names, and each column's dtype.
        self._names: dict[tuple[bool, ...], tuple[list[str], list[str], list[np.dtype[Any]]]] = {}

    def arrays(self, queries: Queries) -> HistoryArrays:
        """``history_arrays`` of ``queries`` at the cache's as-of day."""
        present = tuple(c in queries for c in HISTORY_KEY_COLUMNS)
        rows = _rows(queries, list(HISTORY_KEY_COLUMNS))
        key_columns: list[Iterable[object]] = [
            _key_column(queries[c], rows) if here else itertools.repeat(_ABSENT, rows)
            for c, here in zip(HISTORY_KEY_COLUMNS, present, strict=True)
        ]
        keys = list(zip(itertools.repeat(present, rows), *key_columns, strict=True))
        # Read once: another thread may empty the cache meanwhile (when full), never change an entry.
        entries = list(map(self._entries.get, keys))
        missing = [row for row, entry in enumerate(entries) if entry is None]
        if missing:
            added = self._add(queries, present, [keys[row] for row in missing], missing)
            for row, entry in zip(missing, added, strict=True):
                entries[row] = entry
        supplier_names, usual_names, dtypes = self._names[present]
        table = np.array(entries) if entries else np.empty((0, len(dtypes)))
        # Back to each column's own dtype (exact: the row holds float64 copies of the values).
        columns = [table[:, j].astype(dtype, copy=False) for j, dtype in enumerate(dtypes)]
        width = len(supplier_names)
        return HistoryArrays(
            dict(zip(supplier_names, columns[:width], strict=True)),
            dict(zip(usual_names, columns[width:-1], strict=True)),
            columns[-1],
        )

    def _add(
        self, queries: Queries, present: tuple[bool, ...], keys: list[tuple[object, ...]], rows: list[int]
    ) -> list[_Entry]:
        subset = {c: np.asarray(queries[c])[rows] for c in HISTORY_KEY_COLUMNS if c in queries}
        day = np.full(len(rows), self.as_of.to_datetime64())
        found = history_arrays(self.index, subset, day)
        parts = [*found.supplier.values(), *found.usual.values(), found.lane_lead_time]
        self._names[present] = (list(found.supplier), list(found.usual), [part.dtype for part in parts])
        added = list(np.column_stack(parts).astype(np.float64))
        if len(self._entries) + len(keys) > self.size:
            self._entries.clear()
        self._entries.update(zip(keys, added, strict=True))
        return added

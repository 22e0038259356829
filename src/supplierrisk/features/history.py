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
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Self

import numpy as np
import pandas as pd

from supplierrisk.features.config import BUILD_SETTINGS, FeatureConfig
from supplierrisk.features.events import NO_DAY, EventIndex, day_numbers
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
    known = history.loc[history["order_date"] <= as_of].copy()
    later = (known["delivered_date"] > as_of).to_numpy()
    if later.any():
        known.loc[later, "delivered_date"] = pd.NaT
        for column in ("quantity_received", "quantity_rejected", "invoice_unit_price"):
            if column in known:
                known.loc[later, column] = np.nan
    return known


class GroupCoder:
    """Integer codes for group keys seen in history; unseen or missing keys get -1.

    Multi-column keys are combined arithmetically from per-column codes, so no
    string tuples are built (this matters at ten million lines).
    """

    def __init__(self, keys: pd.DataFrame) -> None:
        self.columns = list(keys.columns)
        self.levels = [pd.Index(pd.unique(keys[c].dropna().to_numpy())) for c in self.columns]
        combined = self._combine(keys)
        self.uniques = pd.Index(pd.unique(combined[combined >= 0]))

    def _combine(self, keys: pd.DataFrame) -> np.ndarray:
        combined = np.zeros(len(keys), dtype=np.int64)
        valid = np.ones(len(keys), dtype=bool)
        for column, level in zip(self.columns, self.levels, strict=True):
            codes = np.asarray(level.get_indexer(keys[column].to_numpy()), dtype=np.int64)
            valid &= codes >= 0
            combined = combined * (len(level) + 1) + codes
        combined[~valid] = -1
        return combined

    def codes(self, keys: pd.DataFrame) -> np.ndarray:
        """Codes for ``keys`` (same columns as at construction)."""
        combined = self._combine(keys)
        found = np.asarray(self.uniques.get_indexer(combined), dtype=np.int64)
        found[combined < 0] = -1
        return found


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

    def __init__(self, history: pd.DataFrame, config: FeatureConfig) -> None:
        self.config = config
        self.has_otif = has_values(history, "quantity_received") and has_values(history, "quantity_ordered")
        self.has_value = has_values(history, "unit_price") and has_values(history, "quantity_ordered")
        self.group_levels = {
            name: cols for name, cols in GROUP_LEVELS.items() if all(has_values(history, c) for c in cols)
        }
        self.supplier = GroupCoder(history[["supplier_id"]])
        self._build(history, line_outcomes(history, config), self.supplier.codes(history[["supplier_id"]]))

    def _build(self, history: pd.DataFrame, out: LineOutcomes, sup: np.ndarray) -> None:
        """Build the event indexes; subclasses extend this to index more facts."""
        config = self.config
        self.lane = GroupCoder(history[["supplier_id", "ship_mode", "category"]])
        lane = self.lane.codes(history[["supplier_id", "ship_mode", "category"]])
        ones = np.ones(len(history))
        otif_n = out.has_quantities.astype(float)
        otif_hit = (out.in_full & out.has_quantities).astype(float)
        outcome_values = np.column_stack([ones, out.late.astype(float), otif_n, otif_hit])
        self.outcome = EventIndex(sup, out.known_day, outcome_values, keep_values=True)
        self.severe = EventIndex(np.where(out.severe, sup, -1), out.severe_day, ones)
        self.late = EventIndex(np.where(out.late, sup, -1), out.known_day, ones)
        delivered_days = np.where(out.delivered, out.delivered_day, NO_DAY)
        threshold_hits = [(out.delay_days >= b).astype(float) for b in config.delay_thresholds_days]
        self.delivered = EventIndex(
            sup,
            delivered_days,
            np.column_stack(
                [ones, out.delay_days, out.lead_time_days, out.lead_time_days**2, out.value, *threshold_hits]
            ),
        )
        promised_lead = (out.promised_day - out.order_day).astype(float)
        log_value = _log1p_safe(out.value)
        log_qty = _log1p_safe(out.quantity)
        self.ordered = EventIndex(
            sup, out.order_day, np.column_stack([ones, promised_lead, log_value, log_qty, out.value])
        )
        due_day = out.promised_day + config.on_time_tolerance_days
        self.due = EventIndex(sup, due_day, np.column_stack([ones, out.value]))
        resolved_day = np.where(out.delivered, np.maximum(out.delivered_day, due_day), NO_DAY)
        self.due_resolved = EventIndex(sup, resolved_day, np.column_stack([ones, out.value]))
        self.lane_delivered = EventIndex(lane, delivered_days, np.column_stack([ones, out.lead_time_days]))
        self.groups: dict[str, tuple[GroupCoder, EventIndex]] = {}
        for name, cols in self.group_levels.items():
            coder = GroupCoder(history[cols])
            codes = coder.codes(history[cols])
            values = np.column_stack([ones, out.late.astype(float), out.severe.astype(float)])
            # A line's severity is only known at its severe day; count it in group rates from then.
            self.groups[name] = (coder, EventIndex(codes, out.known_day, values[:, :2]))
        self.overall = EventIndex(
            np.zeros(len(history), dtype=np.int64), out.known_day, outcome_values[:, :2]
        )

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

    def supplier_feature_arrays(self, queries: pd.DataFrame, as_of: pd.Series) -> dict[str, np.ndarray]:
        """``supplier_features`` as float32 arrays by name (no frame: cheaper for a few rows)."""
        cfg = self.config
        t = day_numbers(as_of)
        n = len(queries)
        sup = self.supplier.codes(queries[["supplier_id"]])
        zeros = np.zeros(n, dtype=np.int64)
        feats: dict[str, np.ndarray] = {}
        glob = self.overall.window_sum(zeros, t, cfg.long_window_days)
        global_rate = (glob[:, 1] + 1.0) / (glob[:, 0] + 2.0)
        long = cfg.long_window_days
        feats[f"global_late_rate_{long}d"] = global_rate
        prior = global_rate
        strength = cfg.prior_strength_lines
        for name, (coder, index) in self.groups.items():
            cols = GROUP_LEVELS[name]
            if not all(c in queries.columns for c in cols):
                continue
            sums = index.window_sum(coder.codes(queries[cols]), t, cfg.long_window_days)
            rate = smoothed_rate(sums[:, 1], sums[:, 0], global_rate, strength)
            feats[f"{name}_late_rate_{long}d"] = rate
            if name == "category":
                prior = rate
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

    def usual_order(self, queries: pd.DataFrame, as_of: pd.Series) -> dict[str, np.ndarray]:
        """The supplier's usual order over the long window: count, promised lead, log value and quantity."""
        t = day_numbers(as_of)
        sup = self.supplier.codes(queries[["supplier_id"]])
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

    def lane_lead_time(self, queries: pd.DataFrame, as_of: pd.Series) -> np.ndarray:
        """Mean actual lead time of the supplier's deliveries on the same mode and category (NaN if none)."""
        t = day_numbers(as_of)
        cols = ["supplier_id", "ship_mode", "category"]
        keys = queries.reindex(columns=cols)
        lane = self.lane.codes(keys)
        sums = self.lane_delivered.window_sum(lane, t, self.config.long_window_days)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sums[:, 0] > 0, sums[:, 1] / sums[:, 0], np.nan)

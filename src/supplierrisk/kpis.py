"""Supplier performance KPIs as known at a date (point in time), per supplier and/or category.

``compute_kpis(history, as_of, window_days, by, params)`` takes a canonical PO-line
history (see ``schema``) and returns one row per group. Definitions:

- **Point in time.** Only what was known at ``as_of`` counts: a ``delivered_date``
  after ``as_of`` is treated as not yet delivered (the line is open at ``as_of``),
  and the received/rejected quantities and invoice price of such a line are
  unknown. Lines ordered after ``as_of`` do not exist yet.
- **Window population.** Lines with ``promised_date`` in
  ``(as_of - window_days, as_of]`` (and ordered by ``as_of``).
- **Status at as_of.** *delivered* (``delivered_date <= as_of``); *open overdue*
  (open and ``as_of > promised_date + tolerance``); *open not yet due* (otherwise).
- **OTD.** Evaluated lines = delivered + open overdue window lines (open not-yet-due
  lines are not counted). A line is *on time* when it is delivered and
  ``delivered_date <= promised_date + on_time_tolerance_days`` (dates only; early
  counts as on time). ``otd_rate = on_time_lines / otd_lines`` with a Wilson
  interval at ``confidence`` (``otd_rate_lo``, ``otd_rate_hi``). OTD is judged against
  the last promise (``promised_date``); ``otd_first_promise_rate`` judges the same lines
  against the first promise the store recorded (``promised_date_first``, kept by ingest
  when a newer export moves a promise), so a re-confirmed date cannot hide a slip. Every
  other KPI uses the last promise. A group with 0
  evaluated lines gets NaN rate and NaN bounds, never 0 or 1. OTD looks at dates
  only: a partial receipt delivered on time is on time (but not OTIF).
- **OTIF.** On time AND ``quantity_received >= quantity_ordered x (1 - in_full_tolerance)``,
  over evaluated lines that have ``quantity_ordered`` (open-overdue and late lines
  count as not OTIF). Lines missing ``quantity_ordered`` are excluded, and so are
  on-time delivered lines missing ``quantity_received`` (their in-full status is
  unknown, never guessed). ``otif_rate = on_time_in_full_lines / otif_lines``, Wilson interval.
- **Lead time** (delivered window lines): actual ``delivered_date - order_date`` in
  days: ``lead_time_mean_days``, ``lead_time_p50_days``, ``lead_time_p90_days``
  (linear interpolation, as ``numpy.quantile``), ``lead_time_std_days`` (sample
  standard deviation, NaN with fewer than 2 lines). ``promised_lead_time_mean_days``:
  mean ``promised_date - order_date`` over all window lines. ``days_late_mean``:
  mean ``delivered_date - promised_date`` among delivered late lines (``late_lines``).
- **Fill rate.** ``sum(received) / sum(ordered)`` over delivered window lines with both
  quantities (``fill_lines``). **Reject rate.** ``sum(rejected) / sum(received)`` over
  delivered window lines with both quantities (``reject_lines``);
  ``reject_ppm = reject_rate x 1e6``. These are quantity ratios: the interval is
  ``ratio +/- z x SE`` with the ratio estimator's delta-method standard error, each
  line a cluster, ``SE = sqrt(sum((y_i - R x_i)^2) / (n (n - 1))) / mean(x)``
  (normal approximation), clipped at 0 (and at 1 for the reject rate). With fewer
  than 2 lines no spread can be estimated and the interval is ``[0, 1]`` (for
  the fill rate ``[0, max(1, fill_rate)]``, as over-delivery can exceed 1).
- **Invoice price variance** (delivered window lines with ``unit_price > 0`` and an
  ``invoice_unit_price``; ``ipv_lines``): ``ipv_share`` = share with
  ``|inv - po| / po > price_variance_tolerance`` (Wilson interval),
  ``ipv_mean_pct`` = mean ``(inv - po) / po x 100``. The invoice is a post-delivery
  fact, so lines not delivered by ``as_of`` are not counted.
- **Spend.** ``sum(quantity_ordered x unit_price)`` over window lines having both
  (``spend_lines``; NaN when there are none). ``spend_share``: for
  ``by=[supplier_id, category]`` the supplier's share of its category's spend; for
  ``by=[supplier_id]`` the share of total spend; for ``by=[category]`` the category's
  share of total spend. Spend is skipped when the window mixes currencies (no rates).
- **Concentration** (``by=[category]``; the same category-level columns are
  repeated on each ``by=[supplier_id, category]`` row): ``n_suppliers`` = suppliers
  with window lines in the category, ``hhi = sum((supplier spend share within the
  category x 100)^2)`` (0-10000 scale; NaN without spend), ``single_source =
  n_suppliers == 1``. For ``by=[supplier_id]``: ``n_categories`` = categories with
  window lines.
- **At as_of** (not restricted to the window; all lines ordered by ``as_of``):
  ``open_lines`` (not delivered by ``as_of``), ``overdue_lines`` (open and
  ``as_of > promised_date + tolerance``).
- **Groups.** Every group having any line ordered by ``as_of`` appears (lines with a
  missing group key are left out), so a supplier with open lines but nothing promised
  in the window shows NaN KPIs with counts 0: no score, never 100% or 0%. Rows are
  sorted by the group keys; results do not depend on input row order.
- **Skipped KPIs.** A KPI whose needed field has no values in the history (e.g.
  ``quantity_received`` all missing, ``invoice_unit_price`` absent) is skipped: its
  columns are NaN (its line count 0) and ``KpiResult.skipped`` says which KPI and why.
  Values are never invented.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.schema import DATE_FIELDS, NUMERIC_FIELDS, PROMISED_DATE_FIRST, has_values
from supplierrisk.settings import Settings

BY_OPTIONS: Final[tuple[tuple[str, ...], ...]] = (
    ("supplier_id",),
    ("category",),
    ("supplier_id", "category"),
)

# KPI columns a scorecard may use: value column -> (lower bound, upper bound) column names
# or None when the KPI has no interval.
SCORABLE_KPIS: Final[dict[str, tuple[str, str] | None]] = {
    "otd_rate": ("otd_rate_lo", "otd_rate_hi"),
    "otif_rate": ("otif_rate_lo", "otif_rate_hi"),
    "fill_rate": ("fill_rate_lo", "fill_rate_hi"),
    "reject_rate": ("reject_rate_lo", "reject_rate_hi"),
    "reject_ppm": ("reject_ppm_lo", "reject_ppm_hi"),
    "ipv_share": ("ipv_share_lo", "ipv_share_hi"),
    "ipv_mean_pct": None,
    "lead_time_mean_days": None,
    "lead_time_p50_days": None,
    "lead_time_p90_days": None,
    "lead_time_std_days": None,
    "promised_lead_time_mean_days": None,
    "days_late_mean": None,
}

_NS_PER_DAY: Final = 86_400_000_000_000
# Category roll-ups of a history without categories are empty, and say why.
NO_CATEGORY_NOTE: Final = (
    "the history has no category values, so there are no category groups (map 'category' to get them)"
)


@dataclass(frozen=True)
class KpiParams:
    """Tolerances and interval confidence for the KPIs (tolerances come from ``Settings``)."""

    on_time_tolerance_days: int = 0
    in_full_tolerance: float = 0.0
    price_variance_tolerance: float = 0.01
    confidence: float = 0.90

    def __post_init__(self) -> None:
        """Reject out-of-range tolerances and confidence."""
        if self.on_time_tolerance_days < 0:
            raise ValueError("on_time_tolerance_days must be >= 0")
        if not 0.0 <= self.in_full_tolerance < 1.0:
            raise ValueError("in_full_tolerance must be in [0, 1)")
        if self.price_variance_tolerance < 0:
            raise ValueError("price_variance_tolerance must be >= 0")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError("confidence must be in (0, 1)")


@dataclass
class KpiResult:
    """KPI table (one row per group, sorted by the group keys) and the KPIs skipped, with why."""

    table: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None


def kpi_params(settings: Settings) -> KpiParams:
    """The KPI parameters from settings (one tolerance for KPIs, labels and features)."""
    return KpiParams(
        on_time_tolerance_days=settings.on_time_tolerance_days,
        in_full_tolerance=settings.in_full_tolerance,
        price_variance_tolerance=settings.price_variance_tolerance,
    )


def wilson_interval(
    successes: np.ndarray | Sequence[float] | float,
    trials: np.ndarray | Sequence[float] | float,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion, vectorised; NaN where ``trials == 0``."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z / denom * np.sqrt(np.clip(p * (1.0 - p) / n + z * z / (4.0 * n * n), 0.0, None))
        # Clip away rounding so that 0 <= lo <= p <= hi <= 1 holds exactly.
        lo = np.clip(np.minimum(centre - half, p), 0.0, 1.0)
        hi = np.clip(np.maximum(centre + half, p), 0.0, 1.0)
    empty = ~(n > 0)
    lo = np.where(empty, np.nan, lo)
    hi = np.where(empty, np.nan, hi)
    return lo, hi


def one_sided_lower_bound(
    successes: np.ndarray | Sequence[float] | float,
    trials: np.ndarray | Sequence[float] | float,
    confidence: float,
) -> np.ndarray:
    """The Wilson lower bound at one-sided ``confidence`` (the two-sided interval's at ``2c - 1``)."""
    return wilson_interval(successes, trials, 2.0 * confidence - 1.0)[0]


@dataclass(frozen=True)
class _KnownLines:
    """Per line, what is known at as-of: the dates and quantities, and which population it falls in."""

    order: np.ndarray
    promised: np.ndarray
    delivered_day: np.ndarray
    ordered: np.ndarray
    received: np.ndarray
    rejected: np.ndarray
    price: np.ndarray
    invoice: np.ndarray
    due: np.ndarray
    delivered: np.ndarray
    overdue: np.ndarray
    window: np.ndarray
    on_time: np.ndarray

    def take(self, mask: np.ndarray) -> _KnownLines:
        """The same facts for the lines in ``mask``."""
        return _KnownLines(**{f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self)})


def _known_lines(
    lines: pd.DataFrame,
    days: tuple[np.ndarray, np.ndarray, np.ndarray],
    t: float,
    window_days: int,
    tol: float,
) -> _KnownLines:
    """The lines' facts as known at day ``t``: a delivery after it is not known yet, nor its quantities.

    ``days`` are the lines' order, promised and delivery days (``_days``).
    """
    order, promised, delivered_day = days
    delivered = delivered_day <= t  # NaN (never delivered) compares False
    due = promised + tol
    delivered_day = np.where(delivered, delivered_day, np.nan)
    return _KnownLines(
        order=order,
        promised=promised,
        delivered_day=delivered_day,
        ordered=_num(lines, "quantity_ordered"),
        received=np.where(delivered, _num(lines, "quantity_received"), np.nan),
        rejected=np.where(delivered, _num(lines, "quantity_rejected"), np.nan),
        price=_num(lines, "unit_price"),
        invoice=np.where(delivered, _num(lines, "invoice_unit_price"), np.nan),
        due=due,
        delivered=delivered,
        overdue=~delivered & (t > due),
        window=_in_window(promised, t, window_days),
        on_time=delivered & (delivered_day <= due),
    )


def _in_window(promised: np.ndarray, t: float, window_days: int) -> np.ndarray:
    return (promised > t - window_days) & (promised <= t)


def _delivery_kpis(
    acc: _Acc, k: _KnownLines, lines: pd.DataFrame, params: KpiParams
) -> dict[str, np.ndarray]:
    """OTD against the current and the first promise, and OTIF (in-full known unless already late)."""
    out: dict[str, np.ndarray] = {}
    evaluated = k.window & (k.delivered | k.overdue)
    otd_n = acc.count(evaluated)
    otd_k = acc.count(evaluated & k.on_time)
    out["otd_lines"] = otd_n
    out["on_time_lines"] = otd_k
    out["otd_rate"] = _ratio(otd_k, otd_n)
    out["otd_rate_lo"], out["otd_rate_hi"] = wilson_interval(otd_k, otd_n, params.confidence)
    # The same lines judged against their first promise (a re-confirmed date can hide a slip).
    tol = float(params.on_time_tolerance_days)
    first_due = _days(lines[PROMISED_DATE_FIRST]) + tol if PROMISED_DATE_FIRST in lines else k.due
    first_due = np.where(np.isnan(first_due), k.due, first_due)
    first_k = acc.count(evaluated & k.delivered & (k.delivered_day <= first_due))
    out["otd_first_promise_rate"] = _ratio(first_k, otd_n)
    out["otd_first_promise_rate_lo"], out["otd_first_promise_rate_hi"] = wilson_interval(
        first_k, otd_n, params.confidence
    )
    with np.errstate(invalid="ignore"):
        in_full = k.received >= k.ordered * (1.0 - params.in_full_tolerance)
    otif_pop = evaluated & ~np.isnan(k.ordered) & (~k.on_time | ~np.isnan(k.received))
    otif_n = acc.count(otif_pop)
    otif_k = acc.count(otif_pop & k.on_time & in_full)
    out["otif_lines"] = otif_n
    out["on_time_in_full_lines"] = otif_k
    out["otif_rate"] = _ratio(otif_k, otif_n)
    out["otif_rate_lo"], out["otif_rate_hi"] = wilson_interval(otif_k, otif_n, params.confidence)
    return out


def _lead_time_kpis(acc: _Acc, k: _KnownLines) -> dict[str, np.ndarray]:
    """Actual and promised lead times, and how late the late lines were."""
    out: dict[str, np.ndarray] = {}
    lead_pop = k.window & k.delivered & ~np.isnan(k.order)
    lead = k.delivered_day - k.order
    out["lead_time_mean_days"] = acc.mean(lead_pop, lead)
    out["lead_time_p50_days"], out["lead_time_p90_days"] = acc.quantiles(lead_pop, lead, (0.5, 0.9))
    out["lead_time_std_days"] = acc.std(lead_pop, lead)
    promised_lead = k.promised - k.order
    out["promised_lead_time_mean_days"] = acc.mean(k.window & ~np.isnan(promised_lead), promised_lead)
    late_pop = k.window & k.delivered & ~k.on_time
    out["late_lines"] = acc.count(late_pop)
    out["days_late_mean"] = acc.mean(late_pop, k.delivered_day - k.promised)
    return out


def _quantity_and_price_kpis(acc: _Acc, k: _KnownLines, params: KpiParams) -> dict[str, np.ndarray]:
    """Fill and reject rates (quantity ratios with delta-method intervals) and invoice price variance."""
    out: dict[str, np.ndarray] = {}
    known = k.window & k.delivered
    fill_pop = known & ~np.isnan(k.ordered) & ~np.isnan(k.received)
    out["fill_lines"] = acc.count(fill_pop)
    fill, fill_lo, fill_hi = acc.ratio_interval(fill_pop, k.received, k.ordered, params.confidence, cap=None)
    out["fill_rate"], out["fill_rate_lo"], out["fill_rate_hi"] = fill, fill_lo, fill_hi
    reject_pop = known & ~np.isnan(k.received) & ~np.isnan(k.rejected)
    out["reject_lines"] = acc.count(reject_pop)
    rej, rej_lo, rej_hi = acc.ratio_interval(reject_pop, k.rejected, k.received, params.confidence, cap=1.0)
    out["reject_rate"], out["reject_rate_lo"], out["reject_rate_hi"] = rej, rej_lo, rej_hi
    out["reject_ppm"], out["reject_ppm_lo"], out["reject_ppm_hi"] = rej * 1e6, rej_lo * 1e6, rej_hi * 1e6
    with np.errstate(invalid="ignore", divide="ignore"):
        ipv_pop = known & (k.price > 0) & ~np.isnan(k.invoice)
        rel = (k.invoice - k.price) / k.price
    ipv_n = acc.count(ipv_pop)
    ipv_k = acc.count(ipv_pop & (np.abs(rel) > params.price_variance_tolerance))
    out["ipv_lines"] = ipv_n
    out["ipv_share"] = _ratio(ipv_k, ipv_n)
    out["ipv_share_lo"], out["ipv_share_hi"] = wilson_interval(ipv_k, ipv_n, params.confidence)
    out["ipv_mean_pct"] = acc.mean(ipv_pop, rel * 100.0)
    return out


# The history columns the KPIs read (besides the grouping keys); lines are never modified.
_KPI_INPUTS: Final = frozenset(
    {"supplier_id", "category", "currency", *DATE_FIELDS, *NUMERIC_FIELDS, PROMISED_DATE_FIRST}
)


def compute_kpis(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int,
    by: Sequence[str],
    params: KpiParams = KpiParams(),  # noqa: B008 - frozen dataclass, safe as a default
) -> KpiResult:
    """KPIs per group as known at ``as_of`` over lines promised in the window (see module docstring)."""
    by_keys = _check_by(by)
    return compute_kpi_tables(history, as_of, window_days, [by_keys], params)[by_keys]


def compute_kpi_tables(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int,
    groupings: Sequence[Sequence[str]],
    params: KpiParams = KpiParams(),  # noqa: B008 - frozen dataclass, safe as a default
) -> dict[tuple[str, ...], KpiResult]:
    """``compute_kpis`` for each grouping in ``groupings``, by grouping, from one pass over the lines.

    The same tables as one ``compute_kpis`` call each: the lines' facts and their keys' codes
    are derived once and shared by the groupings.
    """
    keys = [_check_by(by) for by in groupings]
    if isinstance(window_days, bool) or not isinstance(window_days, int | np.integer) or window_days <= 0:
        raise ValueError(f"window_days must be a positive whole number of days, not {window_days!r}")
    grouped_by = list(dict.fromkeys(key for by in keys for key in by))
    missing = [c for c in ("supplier_id", "order_date", "promised_date", *grouped_by) if c not in history]
    if missing:
        raise ValueError(f"history lacks required column(s): {', '.join(dict.fromkeys(missing))}")
    as_of = pd.Timestamp(as_of).normalize()
    t = float(as_of.value // _NS_PER_DAY)
    skipped = _skipped_kpis(history)
    if "category" in grouped_by and len(history) and not has_values(history, "category"):
        skipped["category"] = NO_CATEGORY_NOTE
    facts = _LineFacts.of(history, t, window_days, params, grouped_by)
    results = {}
    for by in keys:
        own = {k: v for k, v in skipped.items() if k != "category" or "category" in by}
        codes, groups = facts.group_codes(by)
        table = _grouped_kpis(facts, codes, groups, by, own, params)
        results[by] = KpiResult(table=table, skipped=own, as_of=as_of)
    return results


class _LineFacts:
    """The lines that exist at as-of and the facts of those any KPI reads, shared by groupings.

    A KPI reads only window lines and lines still open at as-of (open and overdue counts), so
    only those are kept (in history order: per-group sums add the same values in the same order).
    Group keys come from every existing line: a group without such lines still gets its row.
    """

    def __init__(
        self,
        history: pd.DataFrame,
        exists: np.ndarray,
        relevant: np.ndarray,
        lines: pd.DataFrame,
        k: _KnownLines,
    ) -> None:
        self.history = history
        # None when every line exists (no gathers); else which lines exist.
        self.exists = None if exists.all() else exists
        # Among the existing lines, the kept ones (kept lines all exist).
        self.kept = relevant if self.exists is None else relevant[exists]
        self.lines = lines
        self.k = k
        self._levels: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(
        cls, history: pd.DataFrame, t: float, window_days: int, params: KpiParams, grouped_by: list[str]
    ) -> _LineFacts:
        """The facts of ``history``'s lines as known at day ``t``."""
        order = _days(history["order_date"])
        promised = _days(history["promised_date"])
        delivered = _days(history["delivered_date"]) if "delivered_date" in history else _nan(len(history))
        exists = order <= t
        relevant = exists & (_in_window(promised, t, window_days) | ~(delivered <= t))
        columns = [c for c in history.columns if c in _KPI_INPUTS or c in grouped_by]
        # No copy when every line counts; else column by column, one gather each (several times
        # faster than ``loc`` on a wide frame at ten million lines).
        lines = (
            history
            if relevant.all()
            else pd.DataFrame({c: history[c].values[relevant] for c in columns}, copy=False)
        )
        days = (order[relevant], promised[relevant], delivered[relevant])
        k = _known_lines(lines, days, t, window_days, float(params.on_time_tolerance_days))
        return cls(history, exists, relevant, lines, k)

    def _column_codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes of ``name`` over existing lines (-1 where missing) and its sorted levels, made once."""
        if name not in self._levels:
            values = self.history[name].to_numpy()
            codes, levels = pd.factorize(values if self.exists is None else values[self.exists], sort=True)
            self._levels[name] = (codes.astype(np.int64), np.asarray(levels, dtype=object))
        return self._levels[name]

    def group_codes(self, by: tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
        """Per kept line its group's code (-1 without a key), and the groups (rows sorted by key)."""
        first, first_levels = self._column_codes(by[0])
        if len(by) == 1:
            codes, groups = first, pd.DataFrame({by[0]: first_levels})
        else:
            second, second_levels = self._column_codes(by[1])
            width = max(len(second_levels), 1)
            both = (first >= 0) & (second >= 0)
            pairs, uniques = pd.factorize(first[both] * width + second[both], sort=True)
            codes = np.full(len(first), -1, dtype=np.int64)
            codes[both] = pairs
            uniques = np.asarray(uniques, dtype=np.int64)
            groups = pd.DataFrame(
                {by[0]: first_levels[uniques // width], by[1]: second_levels[uniques % width]}
            )
        # Codes over existing lines, then over the kept ones.
        return codes[self.kept], groups


def _grouped_kpis(
    facts: _LineFacts,
    codes: np.ndarray,
    keys: pd.DataFrame,
    by: tuple[str, ...],
    skipped: dict[str, str],
    params: KpiParams,
) -> pd.DataFrame:
    """One grouping's KPI table from the shared line facts (lines without a group key left out)."""
    keyed = codes >= 0
    if keyed.all():
        k, lines = facts.k, facts.lines
    else:
        k, lines, codes = facts.k.take(keyed), facts.lines.loc[keyed], codes[keyed]
    acc = _Acc(codes, len(keys))
    out: dict[str, np.ndarray] = {
        "window_lines": acc.count(k.window),
        "delivered_lines": acc.count(k.window & k.delivered),
    }
    out |= _delivery_kpis(acc, k, lines, params)
    out |= _lead_time_kpis(acc, k)
    out |= _quantity_and_price_kpis(acc, k, params)

    value = k.ordered * k.price
    spend_pop = k.window & ~np.isnan(value)
    if "spend" not in skipped:
        currencies = _currencies(lines, spend_pop)
        if len(currencies) > 1:
            skipped["spend"] = f"window mixes currencies ({', '.join(currencies)}) and no rates are known"
    if "spend" in skipped:
        spend_pop = np.zeros(len(lines), dtype=bool)
    out["spend_lines"] = acc.count(spend_pop)
    spend = acc.total(spend_pop, value)
    out["spend"] = spend
    # At as_of, whole history
    out["open_lines"] = acc.count(~k.delivered)
    out["overdue_lines"] = acc.count(k.overdue)

    table = pd.concat([keys, pd.DataFrame(out, index=keys.index)], axis=1)
    _add_shares_and_concentration(table, lines, by, k.window, spend_pop, value, spend)
    table = _blank_skipped(table, skipped)
    # Counts at as_of (whole history) go last, after the window KPIs and spend.
    at_as_of = ["open_lines", "overdue_lines"]
    table = table[[c for c in table.columns if c not in at_as_of] + at_as_of]
    return table.reset_index(drop=True)


# Which columns each skippable KPI owns (values -> NaN, counts -> 0 when skipped).
_KPI_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "otd": (
        "otd_lines",
        "on_time_lines",
        "otd_rate",
        "otd_rate_lo",
        "otd_rate_hi",
        "otd_first_promise_rate",
        "otd_first_promise_rate_lo",
        "otd_first_promise_rate_hi",
        "delivered_lines",
    ),
    "otif": ("otif_lines", "on_time_in_full_lines", "otif_rate", "otif_rate_lo", "otif_rate_hi"),
    "lead_time": (
        "lead_time_mean_days",
        "lead_time_p50_days",
        "lead_time_p90_days",
        "lead_time_std_days",
        "late_lines",
        "days_late_mean",
    ),
    "fill_rate": ("fill_lines", "fill_rate", "fill_rate_lo", "fill_rate_hi"),
    "reject_rate": (
        "reject_lines",
        "reject_rate",
        "reject_rate_lo",
        "reject_rate_hi",
        "reject_ppm",
        "reject_ppm_lo",
        "reject_ppm_hi",
    ),
    "ipv": ("ipv_lines", "ipv_share", "ipv_share_lo", "ipv_share_hi", "ipv_mean_pct"),
    "spend": ("spend_lines", "spend", "spend_share", "hhi"),
    "open_lines": ("open_lines", "overdue_lines"),
}
# Counts that stay 0 (true: nothing was evaluated) rather than NaN when their KPI is skipped.
_ZERO_COUNTS: Final = frozenset(
    {
        "otd_lines",
        "on_time_lines",
        "delivered_lines",
        "otif_lines",
        "on_time_in_full_lines",
        "late_lines",
        "fill_lines",
        "reject_lines",
        "ipv_lines",
        "spend_lines",
    }
)


def quarterly_kpis(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    by: Sequence[str],
    quarters: int = 4,
    params: KpiParams = KpiParams(),  # noqa: B008 - frozen dataclass, safe as a default
) -> pd.DataFrame:
    """KPIs per calendar quarter, oldest first: the last ``quarters`` quarters up to ``as_of``.

    Each quarter is evaluated as the scorecard saw it at the quarter's end (or at
    ``as_of`` for the current, partial quarter): lines promised in the quarter,
    status known then. Columns: ``quarter`` (e.g. ``2015Q2``), ``quarter_end`` and
    every KPI column of ``compute_kpis``.
    """
    if quarters < 1:
        raise ValueError(f"quarters must be at least 1, not {quarters}")
    as_of = pd.Timestamp(as_of).normalize()
    current = as_of.to_period("Q")
    frames = []
    for back in range(quarters - 1, -1, -1):
        quarter = current - back
        start = quarter.start_time.normalize()
        end = min(quarter.end_time.normalize(), as_of)
        table = compute_kpis(history, end, (end - start).days + 1, by, params).table
        table.insert(0, "quarter_end", end.date().isoformat())
        table.insert(0, "quarter", str(quarter))
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def _skipped_kpis(history: pd.DataFrame) -> dict[str, str]:
    """KPIs whose needed fields have no values anywhere in the history, with the reason."""
    needs: dict[str, tuple[str, ...]] = {
        "otd": ("delivered_date",),
        "otif": ("delivered_date", "quantity_ordered", "quantity_received"),
        "lead_time": ("delivered_date",),
        "fill_rate": ("delivered_date", "quantity_ordered", "quantity_received"),
        "reject_rate": ("delivered_date", "quantity_received", "quantity_rejected"),
        "ipv": ("delivered_date", "unit_price", "invoice_unit_price"),
        "spend": ("quantity_ordered", "unit_price"),
        # Without any delivery dates every line would look open: not a fact, so not reported.
        "open_lines": ("delivered_date",),
    }
    skipped: dict[str, str] = {}
    for kpi, fields in needs.items():
        empty = [f for f in fields if not has_values(history, f)]
        if empty:
            names = empty[0] if len(empty) == 1 else ", ".join(empty[:-1]) + " and " + empty[-1]
            skipped[kpi] = names + (" has" if len(empty) == 1 else " have") + " no values"
    return skipped


def _blank_skipped(table: pd.DataFrame, skipped: dict[str, str]) -> pd.DataFrame:
    for kpi in skipped:
        for col in _KPI_COLUMNS.get(kpi, ()):
            if col in table:
                table[col] = 0 if col in _ZERO_COUNTS else np.nan
    return table


def _add_shares_and_concentration(
    table: pd.DataFrame,
    lines: pd.DataFrame,
    by: tuple[str, ...],
    window: np.ndarray,
    spend_pop: np.ndarray,
    value: np.ndarray,
    spend: np.ndarray,
) -> None:
    """Add ``spend_share`` and the concentration columns in place (see module docstring)."""
    # Shares of a zero or unknown total are undefined (NaN), never 0.
    if by == ("supplier_id", "category"):
        category_spend = table.groupby("category", sort=False)["spend"].transform("sum")
        table["spend_share"] = _ratio(spend, category_spend.to_numpy())
    else:
        table["spend_share"] = _ratio(spend, np.full(len(table), np.nansum(spend)))
    if by == ("supplier_id",):
        if "category" in lines:
            table["n_categories"] = _distinct_per_group(lines, window, "supplier_id", "category", table)
        else:
            table["n_categories"] = 0
        return
    conc = _category_concentration(lines, window, spend_pop, value)
    cats = table["category"]
    table["n_suppliers"] = cats.map(conc["n_suppliers"]).fillna(0).astype("int64").to_numpy()
    table["hhi"] = cats.map(conc["hhi"]).astype(float).to_numpy()
    table["single_source"] = (table["n_suppliers"] == 1).to_numpy()


def _category_concentration(
    lines: pd.DataFrame, window: np.ndarray, spend_pop: np.ndarray, value: np.ndarray
) -> pd.DataFrame:
    """Per category: suppliers with window lines and the HHI of their spend shares."""
    mask = window & lines["category"].notna().to_numpy()
    frame = pd.DataFrame(
        {
            "category": lines["category"].to_numpy()[mask],
            "supplier_id": lines["supplier_id"].to_numpy()[mask],
            "value": np.where(spend_pop, value, np.nan)[mask],
        }
    )
    pairs = frame.groupby(["category", "supplier_id"], sort=True)["value"].sum(min_count=1).reset_index()
    total = pairs.groupby("category")["value"].transform(lambda s: s.sum(min_count=1))
    # Suppliers without known spend hold no measurable share: they add 0 to the HHI.
    share_pct = np.where(total > 0, pairs["value"].fillna(0.0) / total * 100.0, np.nan)
    pairs["share_sq"] = share_pct**2
    grouped = pairs.groupby("category")
    return pd.DataFrame(
        {
            "n_suppliers": grouped["supplier_id"].size(),
            "hhi": grouped["share_sq"].sum(min_count=1),
        }
    )


def _distinct_per_group(
    lines: pd.DataFrame, window: np.ndarray, key: str, other: str, table: pd.DataFrame
) -> np.ndarray:
    mask = window & lines[other].notna().to_numpy()
    sub = pd.DataFrame({key: lines[key].to_numpy()[mask], other: lines[other].to_numpy()[mask]})
    counts = sub.drop_duplicates().groupby(key).size()
    return table[key].map(counts).fillna(0).astype("int64").to_numpy()


def _currencies(lines: pd.DataFrame, mask: np.ndarray) -> list[str]:
    if "currency" not in lines:
        return []
    values = lines["currency"].to_numpy()[mask]
    return sorted({str(v) for v in pd.unique(values) if v is not None and not pd.isna(v)})


class _Acc:
    """Per-group sums over line masks via ``np.bincount`` (fast and order-independent)."""

    def __init__(self, codes: np.ndarray, groups: int) -> None:
        self.codes = codes
        self.groups = groups

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes[mask], minlength=self.groups).astype(np.int64)

    def total(self, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over ``mask`` per group; NaN for groups with no masked line."""
        sums = np.bincount(self.codes[mask], weights=values[mask], minlength=self.groups)
        return np.where(self.count(mask) > 0, sums, np.nan)

    def mean(self, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return _ratio(self.total(mask, values), self.count(mask))

    def std(self, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sample standard deviation (ddof=1); residuals per line avoid cancellation."""
        n = self.count(mask)
        mean = self.mean(mask, values)
        resid = values[mask] - mean[self.codes[mask]]
        ss = np.bincount(self.codes[mask], weights=resid * resid, minlength=self.groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n >= 2, np.sqrt(ss / (n - 1)), np.nan)

    def quantiles(self, mask: np.ndarray, values: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
        """Per-group quantiles with linear interpolation (``numpy.quantile`` default)."""
        codes = self.codes[mask]
        vals = values[mask]
        order = np.lexsort((vals, codes))
        vals = vals[order]
        n = np.bincount(codes, minlength=self.groups)
        starts = np.cumsum(n) - n
        has = n > 0
        result = []
        for q in qs:
            h = (np.maximum(n, 1) - 1) * q
            lo = np.floor(h).astype(np.int64)
            hi = np.ceil(h).astype(np.int64)
            frac = h - lo
            pos_lo = np.where(has, starts + lo, 0)
            pos_hi = np.where(has, starts + hi, 0)
            if len(vals) == 0:
                result.append(np.full(self.groups, np.nan))
                continue
            v = vals[pos_lo] + frac * (vals[pos_hi] - vals[pos_lo])
            result.append(np.where(has, v, np.nan))
        return result

    def ratio_interval(
        self, mask: np.ndarray, y: np.ndarray, x: np.ndarray, confidence: float, cap: float | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ratio ``sum(y) / sum(x)`` with a delta-method interval, each line a cluster."""
        n = self.count(mask)
        sy = self.total(mask, y)
        sx = self.total(mask, x)
        r = _ratio(sy, sx)
        c = self.codes[mask]
        resid = y[mask] - r[c] * x[mask]
        ss = np.bincount(c, weights=resid * resid, minlength=self.groups)
        z = _z(confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            xbar = sx / n
            se = np.sqrt(ss / (n * (n - 1.0))) / xbar
            lo = np.maximum(r - z * se, 0.0)
            hi = r + z * se
        if cap is not None:
            # Never below the estimate itself, so lo <= rate <= hi holds even for odd data.
            hi = np.minimum(hi, np.maximum(cap, r))
        few = n < 2
        lo = np.where(few, 0.0, lo)
        hi = np.where(few, np.maximum(1.0, r), hi)
        nan = np.isnan(r)
        return r, np.where(nan, np.nan, lo), np.where(nan, np.nan, hi)


def _check_by(by: Sequence[str]) -> tuple[str, ...]:
    if isinstance(by, str):
        by = [by]
    key = tuple(by)
    if key not in BY_OPTIONS:
        allowed = ", ".join(str(list(o)) for o in BY_OPTIONS)
        raise ValueError(f"by must be one of {allowed}, not {list(key)!r}")
    return key


def _days(dates: pd.Series) -> np.ndarray:
    """Day numbers since the epoch as float, NaN for missing dates."""
    # to_datetime on a column that already holds dates still scans it (its cache heuristic): skip it.
    parsed = dates if pd.api.types.is_datetime64_dtype(dates) else pd.to_datetime(dates)
    arr = parsed.to_numpy(dtype="datetime64[ns]")
    nat = np.isnat(arr)
    days = (arr.view(np.int64) // _NS_PER_DAY).astype(float)
    days[nat] = np.nan
    return days


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return _nan(len(frame))
    return pd.to_numeric(frame[name]).to_numpy(dtype=float)


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN wherever the denominator is 0 or missing."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den != 0, num / den, np.nan)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), not {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def empty_reason(result: KpiResult, window_days: int) -> str | None:
    """Why a KPI table holds nothing to read, in a sentence (None when it has values)."""
    table = result.table
    day = "its as-of" if result.as_of is None else pd.Timestamp(result.as_of).date()
    if "category" in result.skipped and table.empty:
        return result.skipped["category"]
    if table.empty:
        return f"no line was ordered by {day}: choose a later --as-of"
    if int(table["window_lines"].sum()) == 0:
        return (
            f"no line was promised in the {window_days} days to {day}, so every KPI is empty:"
            " widen --window or choose another --as-of"
        )
    return None

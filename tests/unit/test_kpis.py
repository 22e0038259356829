"""Supplier KPIs: hand-computed cases, properties and an independent re-computation."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from supplierrisk.kpis import KpiParams, compute_kpi_tables, compute_kpis, quarterly_kpis, wilson_interval
from supplierrisk.schema import CANONICAL_FIELDS, conform

AS_OF = pd.Timestamp("2024-06-30")
Z90 = NormalDist().inv_cdf(0.95)
FULL = "full"  # received quantity = ordered quantity when the line was delivered


def line(
    supplier: str = "S1",
    category: str | None = "bolts",
    order: str = "2024-06-01",
    promised: str = "2024-06-20",
    delivered: str | None = None,
    ordered: float | None = 10.0,
    received: float | str | None = FULL,
    rejected: float | None = None,
    price: float | None = 1.0,
    invoice: float | None = None,
    currency: str | None = "USD",
) -> dict[str, Any]:
    """Build one PO line as a dict of canonical fields."""
    if received == FULL:
        received = ordered if delivered is not None else None
    return {
        "supplier_id": supplier,
        "category": category,
        "order_date": order,
        "promised_date": promised,
        "delivered_date": delivered,
        "quantity_ordered": ordered,
        "quantity_received": received,
        "quantity_rejected": rejected,
        "unit_price": price,
        "invoice_unit_price": invoice,
        "currency": currency,
    }


def history(*lines: dict[str, Any]) -> pd.DataFrame:
    """Build a canonical history from line dicts, with unique PO keys."""
    frame = pd.DataFrame(list(lines))
    frame.insert(0, "po_id", [f"PO{i:04d}" for i in range(len(frame))])
    frame.insert(1, "line_id", "1")
    return conform(frame)


def kpis(frame: pd.DataFrame, by: list[str] | None = None, window: int = 90, **params: Any) -> pd.DataFrame:
    return compute_kpis(frame, AS_OF, window, by or ["supplier_id"], KpiParams(**params)).table


def row(table: pd.DataFrame, **keys: str) -> pd.Series:
    mask = np.ones(len(table), dtype=bool)
    for key, value in keys.items():
        mask &= (table[key] == value).to_numpy()
    assert mask.sum() == 1, f"expected one row for {keys}"
    return table.loc[mask].iloc[0]


# --- OTD and status at as_of -------------------------------------------------------------


def test_early_and_same_day_deliveries_are_on_time_late_is_late() -> None:
    frame = history(
        line(promised="2024-06-20", delivered="2024-06-15"),
        line(promised="2024-06-20", delivered="2024-06-20"),
        line(promised="2024-06-20", delivered="2024-06-22"),
    )
    r = row(kpis(frame), supplier_id="S1")
    assert r["otd_lines"] == 3
    assert r["on_time_lines"] == 2
    assert r["otd_rate"] == pytest.approx(2 / 3)
    assert r["late_lines"] == 1
    assert r["days_late_mean"] == pytest.approx(2.0)


def test_partial_receipt_is_on_time_but_not_otif() -> None:
    frame = history(line(promised="2024-06-20", delivered="2024-06-18", ordered=10, received=8))
    r = row(kpis(frame), supplier_id="S1")
    assert r["otd_rate"] == 1.0
    assert r["otif_lines"] == 1
    assert r["otif_rate"] == 0.0
    assert r["fill_rate"] == pytest.approx(0.8)
    # Within an in-full tolerance of 20% the same receipt is in full.
    r = row(kpis(frame, in_full_tolerance=0.2), supplier_id="S1")
    assert r["otif_rate"] == 1.0


def test_open_overdue_is_late_and_open_not_yet_due_is_excluded() -> None:
    frame = history(
        line(promised="2024-06-20", delivered="2024-06-19"),  # on time
        line(promised="2024-06-20"),  # open, overdue at as_of
        line(promised="2024-06-30"),  # open, due today: not yet judged
    )
    r = row(kpis(frame), supplier_id="S1")
    assert r["window_lines"] == 3
    assert r["otd_lines"] == 2
    assert r["on_time_lines"] == 1
    assert r["otd_rate"] == pytest.approx(0.5)
    # The overdue open line is an OTIF failure; the not-yet-due line is not counted.
    assert r["otif_lines"] == 2
    assert r["otif_rate"] == pytest.approx(0.5)
    assert r["open_lines"] == 2
    assert r["overdue_lines"] == 1


def test_delivery_after_as_of_counts_as_open() -> None:
    frame = history(
        line(promised="2024-06-20", delivered="2024-07-05", ordered=10, received=10),  # overdue at as_of
        line(promised="2024-06-30", delivered="2024-07-02", ordered=10, received=10),  # not yet due
    )
    r = row(kpis(frame), supplier_id="S1")
    assert r["otd_lines"] == 1
    assert r["otd_rate"] == 0.0
    assert r["delivered_lines"] == 0
    # What was received after as_of is unknown at as_of.
    assert r["fill_lines"] == 0
    assert math.isnan(r["fill_rate"])
    assert math.isnan(r["lead_time_mean_days"])
    assert r["open_lines"] == 2
    assert r["overdue_lines"] == 1
    # Once as_of passes the delivery, the same line is a known late delivery.
    later = compute_kpis(frame, pd.Timestamp("2024-07-10"), 90, ["supplier_id"]).table.iloc[0]
    assert later["delivered_lines"] == 2
    assert later["otd_rate"] == 0.0
    assert later["days_late_mean"] == pytest.approx((15 + 2) / 2)


@pytest.mark.parametrize(
    ("tolerance", "on_time", "overdue"),
    [(0, 0, 1), (1, 0, 1), (2, 1, 0), (3, 1, 0)],
)
def test_tolerance_days(tolerance: int, on_time: int, overdue: int) -> None:
    frame = history(
        line(promised="2024-06-20", delivered="2024-06-22"),  # 2 days late
        line(promised="2024-06-28"),  # open; due at as_of only with tolerance >= 2
    )
    r = row(kpis(frame, on_time_tolerance_days=tolerance), supplier_id="S1")
    assert r["on_time_lines"] == on_time
    assert r["overdue_lines"] == overdue
    assert r["otd_lines"] == 1 + overdue


def test_empty_window_gives_nan_never_zero_or_one() -> None:
    frame = history(
        line(supplier="S1", promised="2024-06-20", delivered="2024-06-20"),
        # S2: one old delivery outside the window and one open line promised after as_of.
        line(supplier="S2", order="2023-01-01", promised="2023-02-01", delivered="2023-02-01"),
        line(supplier="S2", order="2024-06-01", promised="2024-08-01"),
        # S3 orders only after as_of: it does not exist yet.
        line(supplier="S3", order="2024-07-01", promised="2024-07-10"),
    )
    table = kpis(frame)
    assert list(table["supplier_id"]) == ["S1", "S2"]
    r = row(table, supplier_id="S2")
    assert r["otd_lines"] == 0
    assert r["otif_lines"] == 0
    for col in ["otd_rate", "otd_rate_lo", "otd_rate_hi", "otif_rate", "fill_rate", "lead_time_mean_days"]:
        assert math.isnan(r[col]), col
    assert r["open_lines"] == 1
    assert r["overdue_lines"] == 0


def test_lead_time_statistics() -> None:
    frame = history(
        *[
            line(order="2024-05-01", promised="2024-05-25", delivered=d)
            for d in ["2024-05-11", "2024-05-21", "2024-05-31", "2024-06-10"]
        ]
    )
    r = row(kpis(frame), supplier_id="S1")
    assert r["lead_time_mean_days"] == pytest.approx(25.0)
    assert r["lead_time_p50_days"] == pytest.approx(25.0)
    assert r["lead_time_p90_days"] == pytest.approx(37.0)  # 30 + 0.7 x 10, as numpy.quantile
    assert r["lead_time_std_days"] == pytest.approx(np.std([10, 20, 30, 40], ddof=1))
    assert r["promised_lead_time_mean_days"] == pytest.approx(24.0)
    assert r["late_lines"] == 2
    assert r["days_late_mean"] == pytest.approx((6 + 16) / 2)


# --- Intervals -----------------------------------------------------------------------------


def test_single_line_supplier_wilson_interval_by_hand() -> None:
    frame = history(
        line(supplier="S1", promised="2024-06-20", delivered="2024-06-20"),
        line(supplier="S2", promised="2024-06-20", delivered="2024-06-21"),
    )
    table = kpis(frame)
    good, bad = row(table, supplier_id="S1"), row(table, supplier_id="S2")
    # Wilson at p = 1, n = 1: [n / (n + z^2), 1]; at p = 0: [0, z^2 / (n + z^2)].
    assert good["otd_rate"] == 1.0
    assert good["otd_rate_lo"] == pytest.approx(1 / (1 + Z90**2))
    assert good["otd_rate_hi"] == 1.0
    assert good["otd_rate_lo"] == pytest.approx(0.269865, abs=1e-6)
    assert bad["otd_rate"] == 0.0
    assert bad["otd_rate_lo"] == 0.0
    assert bad["otd_rate_hi"] == pytest.approx(Z90**2 / (1 + Z90**2))


def test_wilson_interval_known_values_and_empty() -> None:
    lo, hi = wilson_interval(np.array([5, 0]), np.array([10, 0]), 0.95)
    assert lo[0] == pytest.approx(0.236593, abs=1e-6)
    assert hi[0] == pytest.approx(0.763407, abs=1e-6)
    assert np.isnan(lo[1])
    assert np.isnan(hi[1])


def test_fill_and_reject_delta_method_intervals_by_hand() -> None:
    frame = history(
        line(promised="2024-06-20", delivered="2024-06-20", ordered=10, received=8, rejected=0),
        line(promised="2024-06-21", delivered="2024-06-21", ordered=10, received=10, rejected=1),
        line(
            supplier="S2", promised="2024-06-20", delivered="2024-06-20", ordered=10, received=9, rejected=1
        ),
    )
    table = kpis(frame)
    r = row(table, supplier_id="S1")
    # R = 18 / 20; residuals 8 - 0.9 x 10 = -1 and +1; SE = sqrt(2 / (2 x 1)) / 10 = 0.1.
    assert r["fill_lines"] == 2
    assert r["fill_rate"] == pytest.approx(0.9)
    assert r["fill_rate_lo"] == pytest.approx(0.9 - Z90 * 0.1)
    assert r["fill_rate_hi"] == pytest.approx(0.9 + Z90 * 0.1)  # not clipped at 1: over-delivery exists
    # Reject: R = 1 / 18; residuals 0 - 8/18 and 1 - 10/18; mean received 9.
    rate = 1 / 18
    se = math.sqrt(((0 - 8 * rate) ** 2 + (1 - 10 * rate) ** 2) / 2) / 9
    assert r["reject_lines"] == 2
    assert r["reject_rate"] == pytest.approx(rate)
    assert r["reject_rate_lo"] == pytest.approx(max(0.0, rate - Z90 * se))
    assert r["reject_rate_hi"] == pytest.approx(rate + Z90 * se)
    assert r["reject_ppm"] == pytest.approx(rate * 1e6)
    assert r["reject_ppm_hi"] == pytest.approx((rate + Z90 * se) * 1e6)
    # One line: no spread can be estimated, interval [0, 1].
    one = row(table, supplier_id="S2")
    assert one["fill_rate"] == pytest.approx(0.9)
    assert (one["fill_rate_lo"], one["fill_rate_hi"]) == (0.0, 1.0)
    assert (one["reject_rate_lo"], one["reject_rate_hi"]) == (0.0, 1.0)


# --- Price variance, spend and concentration ------------------------------------------------


def test_invoice_price_variance() -> None:
    frame = history(
        line(delivered="2024-06-20", price=10.0, invoice=10.0),  # 0%
        line(delivered="2024-06-20", price=10.0, invoice=10.05),  # 0.5%: within 1%
        line(delivered="2024-06-20", price=10.0, invoice=11.0),  # +10%
        line(delivered="2024-06-20", price=0.0, invoice=1.0),  # no PO price: excluded
        line(delivered="2024-06-20", price=10.0, invoice=None),  # no invoice: excluded
        line(price=10.0, invoice=12.0),  # open: its invoice is not known at as_of
    )
    r = row(kpis(frame), supplier_id="S1")
    assert r["ipv_lines"] == 3
    assert r["ipv_share"] == pytest.approx(1 / 3)
    assert r["ipv_mean_pct"] == pytest.approx((0 + 0.5 + 10) / 3)
    lo, hi = wilson_interval(1, 3, 0.9)
    assert (r["ipv_share_lo"], r["ipv_share_hi"]) == (pytest.approx(lo), pytest.approx(hi))


def _spend_history() -> pd.DataFrame:
    return history(
        line(supplier="S1", category="bolts", ordered=30, price=10.0, delivered="2024-06-20"),
        line(supplier="S2", category="bolts", ordered=10, price=10.0, delivered="2024-06-20"),
        line(supplier="S1", category="paint", ordered=5, price=10.0, delivered="2024-06-20"),
        # Outside the window: no spend, no supplier count.
        line(supplier="S3", category="bolts", order="2023-01-01", promised="2023-02-01", price=99.0),
    )


def test_spend_share_hhi_and_single_source_by_category() -> None:
    table = kpis(_spend_history(), by=["category"])
    bolts, paint = row(table, category="bolts"), row(table, category="paint")
    assert bolts["spend"] == pytest.approx(400.0)
    assert bolts["spend_share"] == pytest.approx(400 / 450)
    assert paint["spend_share"] == pytest.approx(50 / 450)
    assert bolts["n_suppliers"] == 2
    assert bolts["hhi"] == pytest.approx(75.0**2 + 25.0**2)  # 6250
    assert not bolts["single_source"]
    assert paint["n_suppliers"] == 1
    assert paint["hhi"] == pytest.approx(10000.0)
    assert paint["single_source"]


def test_spend_share_by_supplier_and_by_supplier_category() -> None:
    by_supplier = kpis(_spend_history())
    s1 = row(by_supplier, supplier_id="S1")
    assert s1["spend"] == pytest.approx(350.0)
    assert s1["spend_share"] == pytest.approx(350 / 450)
    assert s1["n_categories"] == 2
    s3 = row(by_supplier, supplier_id="S3")
    assert math.isnan(s3["spend"])
    assert s3["n_categories"] == 0

    pairs = kpis(_spend_history(), by=["supplier_id", "category"])
    assert row(pairs, supplier_id="S1", category="bolts")["spend_share"] == pytest.approx(0.75)
    assert row(pairs, supplier_id="S2", category="bolts")["spend_share"] == pytest.approx(0.25)
    assert row(pairs, supplier_id="S1", category="paint")["spend_share"] == pytest.approx(1.0)
    assert row(pairs, supplier_id="S1", category="bolts")["hhi"] == pytest.approx(6250.0)
    assert row(pairs, supplier_id="S1", category="paint")["single_source"]
    assert list(pairs.columns[:2]) == ["supplier_id", "category"]


def test_mixed_currencies_skip_spend() -> None:
    frame = history(
        line(supplier="S1", delivered="2024-06-20", currency="USD"),
        line(supplier="S2", delivered="2024-06-20", currency="EUR"),
    )
    result = compute_kpis(frame, AS_OF, 90, ["category"])
    assert "spend" in result.skipped
    assert "EUR, USD" in result.skipped["spend"]
    assert result.table["spend"].isna().all()
    assert result.table["hhi"].isna().all()
    assert (result.table["n_suppliers"] == 2).all()


# --- Skipped KPIs and validation -----------------------------------------------------------


def test_missing_fields_skip_kpis_with_reasons() -> None:
    frame = history(
        line(delivered="2024-06-20", received=None),
        line(delivered="2024-06-19", received=None),
    ).drop(columns=["invoice_unit_price"])
    result = compute_kpis(frame, AS_OF, 90, ["supplier_id"])
    assert result.skipped["otif"] == "quantity_received has no values"
    assert result.skipped["fill_rate"] == "quantity_received has no values"
    assert result.skipped["reject_rate"] == "quantity_received and quantity_rejected have no values"
    assert result.skipped["ipv"] == "invoice_unit_price has no values"
    assert "otd" not in result.skipped
    r = result.table.iloc[0]
    assert r["otd_rate"] == 1.0
    for col in ["otif_rate", "otif_rate_lo", "fill_rate", "reject_ppm", "ipv_share", "ipv_mean_pct"]:
        assert math.isnan(r[col]), col
    assert r["otif_lines"] == 0


def test_no_delivery_dates_skip_otd_instead_of_calling_everything_late() -> None:
    frame = history(line(promised="2024-06-01"), line(promised="2024-06-10"))
    result = compute_kpis(frame, AS_OF, 90, ["supplier_id"])
    assert "otd" in result.skipped
    assert "open_lines" in result.skipped
    r = result.table.iloc[0]
    assert math.isnan(r["otd_rate"])
    assert r["otd_lines"] == 0
    assert math.isnan(r["overdue_lines"])


@pytest.mark.parametrize("by", [["supplier"], ["category", "supplier_id"], [], ["supplier_id", "item_id"]])
def test_bad_grouping_is_rejected(by: list[str]) -> None:
    with pytest.raises(ValueError, match="by must be one of"):
        compute_kpis(history(line()), AS_OF, 90, by)


def test_bad_window_and_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="window_days"):
        compute_kpis(history(line()), AS_OF, 0, ["supplier_id"])
    with pytest.raises(ValueError, match="in_full_tolerance"):
        KpiParams(in_full_tolerance=1.0)
    with pytest.raises(ValueError, match="confidence"):
        KpiParams(confidence=1.0)
    with pytest.raises(ValueError, match="lacks required column"):
        compute_kpis(history(line()).drop(columns=["promised_date"]), AS_OF, 90, ["supplier_id"])


def test_lines_without_a_category_are_left_out_of_category_groups() -> None:
    frame = history(
        line(category="bolts", delivered="2024-06-20"), line(category=None, delivered="2024-06-20")
    )
    table = kpis(frame, by=["category"])
    assert list(table["category"]) == ["bolts"]
    assert row(kpis(frame), supplier_id="S1")["otd_lines"] == 2


def test_output_is_sorted_by_group_keys_and_has_a_stable_schema() -> None:
    frame = history(
        line(supplier="S9", category="paint"),
        line(supplier="S1", category="paint"),
        line(supplier="S1", category="bolts"),
    )
    pairs = kpis(frame, by=["supplier_id", "category"])
    assert list(zip(pairs["supplier_id"], pairs["category"], strict=True)) == [
        ("S1", "bolts"),
        ("S1", "paint"),
        ("S9", "paint"),
    ]
    assert list(kpis(frame).columns[-2:]) == ["open_lines", "overdue_lines"]


# --- Properties ----------------------------------------------------------------------------

_line_strategy = st.tuples(
    st.integers(0, 3),  # supplier
    st.integers(0, 2),  # category
    st.integers(-120, 5),  # order day relative to as_of
    st.integers(0, 40),  # promised lead time
    st.one_of(st.none(), st.integers(-5, 30)),  # delivered relative to promised
    st.integers(1, 50),  # ordered
    st.floats(0.0, 1.2),  # received fraction
    st.floats(0.0, 1.0),  # rejected fraction of received
    st.floats(0.5, 20.0),  # unit price
    st.one_of(st.none(), st.floats(0.8, 1.3)),  # invoice / PO price
)


def _from_tuples(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    lines = []
    for sup, cat, order, lead, late, ordered, rec, rej, price, inv in rows:
        order_day = AS_OF + pd.Timedelta(days=order)
        promised = order_day + pd.Timedelta(days=lead)
        delivered = None if late is None else max(order_day, promised + pd.Timedelta(days=late))
        received = None if delivered is None else float(round(ordered * rec))
        lines.append(
            line(
                supplier=f"S{sup}",
                category=f"c{cat}",
                order=str(order_day.date()),
                promised=str(promised.date()),
                delivered=None if delivered is None else str(delivered.date()),
                ordered=float(ordered),
                received=received,
                rejected=None if received is None else float(math.floor(received * rej)),
                price=price,
                invoice=None if inv is None else price * inv,
            )
        )
    return history(*lines)


BY_OPTIONS = [["supplier_id"], ["category"], ["supplier_id", "category"]]
BOUNDED = ["otd_rate", "otif_rate", "reject_rate", "ipv_share"]


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(_line_strategy, min_size=1, max_size=40), by=st.sampled_from(BY_OPTIONS))
def test_rates_and_bounds_are_ordered_and_in_range(rows: list[tuple[Any, ...]], by: list[str]) -> None:
    table = kpis(_from_tuples(rows), by=by, window=60)
    for name in [*BOUNDED, "fill_rate"]:
        rate, lo, hi = (table[c].to_numpy() for c in (name, f"{name}_lo", f"{name}_hi"))
        have = ~np.isnan(rate)
        # A rate and its bounds are missing together.
        assert np.array_equal(have, ~np.isnan(lo))
        assert np.array_equal(have, ~np.isnan(hi))
        assert np.all(lo[have] <= rate[have] + 1e-12)
        assert np.all(rate[have] <= hi[have] + 1e-12)
        assert np.all(lo[have] >= 0.0)
        if name in BOUNDED:
            assert np.all(hi[have] <= 1.0)
    # Rates are NaN exactly when nothing was evaluated.
    assert np.array_equal(np.isnan(table["otd_rate"]), table["otd_lines"] == 0)
    if "hhi" in table:
        assert table["hhi"].dropna().between(0.0, 10000.0 + 1e-6).all()


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(_line_strategy, min_size=1, max_size=40),
    by=st.sampled_from(BY_OPTIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_results_do_not_depend_on_row_order(rows: list[tuple[Any, ...]], by: list[str], seed: int) -> None:
    frame = _from_tuples(rows)
    shuffled = frame.sample(frac=1.0, random_state=np.random.RandomState(seed))
    pd.testing.assert_frame_equal(kpis(frame, by=by), kpis(shuffled, by=by), check_exact=False, rtol=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(_line_strategy, min_size=1, max_size=40),
    extra=_line_strategy,
    ordered_before=st.booleans(),
    by=st.sampled_from(BY_OPTIONS),
)
def test_a_line_promised_after_as_of_changes_no_window_kpi(
    rows: list[tuple[Any, ...]], extra: tuple[Any, ...], ordered_before: bool, by: list[str]
) -> None:
    existing = [r for r in rows if r[2] <= 0]
    assume(existing)
    # A delivered anchor line with every field, so the new line cannot decide which KPIs
    # are skipped (that depends on whether a field has values anywhere in the history).
    anchor = (0, 0, -100, 5, 0, 10, 1.0, 0.1, 1.0, 1.0)
    frame = _from_tuples([anchor, *rows])
    before = kpis(frame, by=by)
    # Re-use an existing group so the new line cannot add a row; promise it after as_of.
    first = existing[0]
    order = -3 if ordered_before else 3
    new = _from_tuples([(first[0], first[1], order, 10, *extra[4:])])
    after = kpis(pd.concat([frame, new], ignore_index=True), by=by)
    pd.testing.assert_frame_equal(
        before.drop(columns=["open_lines"]), after.drop(columns=["open_lines"]), check_exact=False, rtol=1e-9
    )
    added = (after["open_lines"] - before["open_lines"]).to_numpy()
    # Ordered by as_of it is one more open line of its group (it is not delivered by then).
    assert added.sum() == (1 if ordered_before else 0)


# --- Independent re-computation ------------------------------------------------------------


def random_history(seed: int, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    order = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    promised = order + pd.to_timedelta(rng.integers(0, 45, n), unit="D")
    delivered = promised + pd.to_timedelta(rng.integers(-7, 30, n), unit="D")
    delivered = delivered.where(rng.random(n) > 0.1, pd.NaT)
    frame = pd.DataFrame(
        {
            "po_id": [f"P{i}" for i in range(n)],
            "line_id": "1",
            "supplier_id": rng.choice([f"S{i}" for i in range(12)], n),
            "category": rng.choice(["bolts", "chips", "paint"], n),
            "order_date": order,
            "promised_date": promised,
            "delivered_date": delivered,
            "quantity_ordered": rng.integers(1, 100, n).astype(float),
        }
    )
    return conform(frame)


@pytest.mark.parametrize(("seed", "tolerance"), [(1, 0), (2, 3)])
def test_otd_matches_a_plain_pandas_computation(seed: int, tolerance: int) -> None:
    frame = random_history(seed)
    as_of, window = pd.Timestamp("2024-03-15"), 120
    got = compute_kpis(frame, as_of, window, ["supplier_id"], KpiParams(on_time_tolerance_days=tolerance))

    known = frame[frame["order_date"] <= as_of]
    delivered = known["delivered_date"].notna() & (known["delivered_date"] <= as_of)
    due = known["promised_date"] + pd.Timedelta(days=tolerance)
    in_window = (known["promised_date"] > as_of - pd.Timedelta(days=window)) & (
        known["promised_date"] <= as_of
    )
    evaluated = in_window & (delivered | (as_of > due))
    on_time = evaluated & delivered & (known["delivered_date"] <= due)
    counts = pd.DataFrame({"s": known["supplier_id"], "n": evaluated, "k": on_time}).groupby("s").sum()
    expected = (counts["k"] / counts["n"].where(counts["n"] > 0)).rename("otd_rate")

    table = got.table.set_index("supplier_id")
    assert list(table.index) == sorted(expected.index)
    assert (table["otd_lines"] == counts["n"]).all()
    pd.testing.assert_series_equal(table["otd_rate"], expected, check_names=False, check_index_type=False)


def test_canonical_columns_are_all_the_history_needs() -> None:
    # compute_kpis works on the canonical schema alone; extras are ignored.
    frame = random_history(3)
    frame["extra_priority"] = "urgent"
    assert set(CANONICAL_FIELDS) <= set(frame.columns)
    assert len(compute_kpis(frame, pd.Timestamp("2024-03-15"), 120, ["category"]).table) == 3


# --- quarterly trend -----------------------------------------------------------------------


def test_quarterly_kpis_judge_each_quarter_as_known_at_its_end() -> None:
    frame = history(
        # Q1: one on time, one delivered late in April (after the quarter's end: overdue then).
        line(order="2024-01-05", promised="2024-02-01", delivered="2024-01-30"),
        line(order="2024-01-05", promised="2024-03-20", delivered="2024-04-10"),
        # Q2: both on time.
        line(order="2024-04-01", promised="2024-05-01", delivered="2024-05-01"),
        line(order="2024-04-01", promised="2024-06-01", delivered="2024-05-20"),
        # Q3 so far (as-of 2024-07-15): one late, one not yet due.
        line(order="2024-06-01", promised="2024-07-01", delivered="2024-07-05"),
        line(order="2024-07-01", promised="2024-07-30"),
    )
    table = quarterly_kpis(frame, pd.Timestamp("2024-07-15"), ["supplier_id"], quarters=3)
    assert table["quarter"].tolist() == ["2024Q1", "2024Q2", "2024Q3"]
    assert table["quarter_end"].tolist() == ["2024-03-31", "2024-06-30", "2024-07-15"]
    assert table["otd_lines"].tolist() == [2, 2, 1]
    assert table["otd_rate"].tolist() == [0.5, 1.0, 0.0]
    lo, hi = wilson_interval(1, 2, 0.90)
    assert table["otd_rate_lo"].iloc[0] == pytest.approx(float(lo))
    assert table["otd_rate_hi"].iloc[0] == pytest.approx(float(hi))
    with pytest.raises(ValueError, match="quarters must be at least 1"):
        quarterly_kpis(frame, pd.Timestamp("2024-07-15"), ["supplier_id"], quarters=0)


def test_kpis_leave_the_history_untouched_and_ignore_columns_they_do_not_read() -> None:
    frame = history(
        line(delivered="2024-06-18"),
        line(supplier="S2", category=None, delivered="2024-06-25"),
        line(supplier="S2", order="2024-06-02", promised="2024-06-10"),
    )
    later = history(line(order=(AS_OF + pd.Timedelta(days=1)).date().isoformat()))
    for lines in (frame, pd.concat([frame, later], ignore_index=True)):  # every line counts / some do not
        wide = lines.assign(ship_mode="Air", extra_colour="red")
        before = wide.copy(deep=True)
        for by in (["supplier_id"], ["category"], ["supplier_id", "category"]):
            pd.testing.assert_frame_equal(kpis(wide, by), kpis(lines, by))
        pd.testing.assert_frame_equal(wide, before)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(_line_strategy, min_size=1, max_size=40),
    no_category=st.sets(st.integers(0, 39)),
    euro=st.sets(st.integers(0, 39), max_size=2),
)
def test_tables_of_several_groupings_are_the_tables_of_one_call_each(
    rows: list[tuple[Any, ...]], no_category: set[int], euro: set[int]
) -> None:
    frame = _from_tuples(rows)
    at = [i for i in no_category if i < len(frame)]
    frame.loc[at, "category"] = None  # some lines without a category: left out of category groups only
    frame.loc[[i for i in euro if i < len(frame)], "currency"] = "EUR"  # mixed currencies skip spend
    tables = compute_kpi_tables(frame, AS_OF, 60, BY_OPTIONS, KpiParams())
    assert list(tables) == [tuple(by) for by in BY_OPTIONS]
    for by in BY_OPTIONS:
        alone = compute_kpis(frame, AS_OF, 60, by, KpiParams())
        pd.testing.assert_frame_equal(tables[tuple(by)].table, alone.table)
        assert tables[tuple(by)].skipped == alone.skipped


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_line_strategy, min_size=1, max_size=40), by=st.sampled_from(BY_OPTIONS))
def test_lines_delivered_and_promised_before_the_window_only_make_their_group_appear(
    rows: list[tuple[Any, ...]], by: list[str]
) -> None:
    # An anchor in the window with every field, so dropping lines cannot change which KPIs are skipped.
    frame = _from_tuples([(0, 0, -20, 5, 0, 10, 1.0, 0.1, 1.0, 1.0), *rows])
    window = 30
    start = AS_OF - pd.Timedelta(days=window)
    done = (frame["promised_date"] <= start) & (frame["delivered_date"] <= AS_OF)
    assume(done.any())
    full = kpis(frame, by=by, window=window)
    kept = kpis(frame.loc[~done], by=by, window=window)
    keys = list(by)
    assert len(full) == frame.loc[frame["order_date"] <= AS_OF].groupby(keys).ngroups
    merged = full.merge(kept, on=keys, how="left", suffixes=("", "_kept"), indicator=True)
    both = merged["_merge"] == "both"
    for column in full.columns.difference(keys):
        # A group's own KPIs; the shares of totals and the concentration of categories too.
        pd.testing.assert_series_equal(
            merged.loc[both, column], merged.loc[both, f"{column}_kept"], check_names=False, check_dtype=False
        )
    # Groups with nothing but such lines: every count 0, every rate missing.
    only_old = merged.loc[~both]
    for column in [c for c in full.columns if c.endswith("_lines")]:
        assert (only_old[column] == 0).all()
    assert only_old["otd_rate"].isna().all()

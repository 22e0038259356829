"""Supplier snapshot features: hand-computed cases, activity, and point-in-time leakage tests."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import FeatureConfig, known_history
from supplierrisk.features.suppliers import SupplierHistoryIndex, active_snapshots, snapshot_dates
from supplierrisk.schema import conform
from tests.unit.features.conftest import random_history
from tests.unit.features.test_leakage import scramble_after

CONFIG = FeatureConfig(windows_days=(90, 180, 365), decay_half_lives_days=(90.0,))
D = pd.Timestamp


def line(supplier: str, order: str, promised: str, delivered: str | None, **fields: object) -> dict:
    row = {
        "po_id": f"P{abs(hash((supplier, order, promised, delivered, str(fields)))) % 10**9}",
        "line_id": "1",
        "supplier_id": supplier,
        "order_date": D(order),
        "promised_date": D(promised),
        "delivered_date": D(delivered) if delivered else pd.NaT,
        "quantity_ordered": 10.0,
        "unit_price": 1.0,
        "category": "bolts",
        "supplier_country": "DE",
    }
    row.update(fields)
    return row


@pytest.fixture
def small() -> pd.DataFrame:
    rows = [
        # A: on time, 20 days late (severe), 3 days late, one open line due soon, one fill shortfall.
        line("A", "2024-01-01", "2024-01-20", "2024-01-19", quantity_received=10.0),
        line("A", "2024-01-05", "2024-02-01", "2024-02-21", quantity_received=10.0),
        line("A", "2024-02-01", "2024-03-01", "2024-03-04", quantity_received=5.0),
        line("A", "2024-03-10", "2024-04-20", None, category="chips", unit_price=3.0),
        # B: one on-time line in chips.
        line("B", "2024-01-10", "2024-02-10", "2024-02-10", category="chips", quantity_received=10.0),
    ]
    return conform(pd.DataFrame(rows))


def features(history: pd.DataFrame, suppliers: list[str], as_of: str) -> pd.DataFrame:
    index = SupplierHistoryIndex(history, CONFIG)
    snaps = pd.DataFrame({"supplier_id": suppliers, "as_of": D(as_of)})
    return index.snapshot_features(snaps).set_index(pd.Index(suppliers))


def test_hand_computed_snapshot_features(small: pd.DataFrame) -> None:
    f = features(small, ["A", "B"], "2024-04-01")
    a = f.loc["A"]
    # Known at 2024-04-01: deliveries of 19 Jan (on time), 21 Feb (20 days late), 4 Mar (3 late).
    assert a["sup_late_lines_90d"] == 2
    assert a["sup_severe_lines_90d"] == 1
    # Settled lines (promised + 13 days before as-of): all three delivered ones; 1 severe.
    # Severe prior: category "bolts" over its 3 settled lines, 1 severe, shrunk to the global rate.
    glob = (1 + 1) / (4 + 2)  # 4 settled lines overall (B's too), 1 severe, Laplace-smoothed
    category = (1 + 10 * glob) / (3 + 10)
    assert a["category_severe_rate_365d"] == pytest.approx(category, rel=1e-6)
    assert a["sup_severe_rate_365d"] == pytest.approx((1 + 10 * category) / (3 + 10), rel=1e-6)
    # Fill: received 25 of 30 ordered on delivered lines.
    assert a["sup_fill_rate_365d"] == pytest.approx(25 / 30)
    # p90 delay on the grid: delays 0, 20, 3 -> 2 of 3 lines >= 3 days, 1 of 3 >= 14 and >= 7 -> 14.
    assert a["sup_delay_p90_days_365d"] == 14
    # One open line (promised 20 Apr) due within 90 days; value 10 x 3.
    assert a["sup_open_lines"] == 1
    assert a["sup_open_lines_due_90d"] == 1
    assert a["sup_open_value_due_90d"] == 30
    # Categories: bolts (3 lines, value 30) and chips (1 line, value 30): tie on value, more lines wins.
    assert a["main_category"] == "bolts"
    assert a["sup_categories_365d"] == 2
    # A holds all of bolts' spend in the year.
    assert a["sup_main_category_spend_share_365d"] == pytest.approx(1.0)
    assert a["supplier_country"] == "DE"
    b = f.loc["B"]
    assert b["main_category"] == "chips"
    # Chips spend: B 10 and A 30.
    assert b["sup_main_category_spend_share_365d"] == pytest.approx(10 / 40)
    assert b["sup_severe_lines_365d"] == 0
    assert b["sup_days_since_severe"] == 3650.0  # none on record: ten years, not missing
    # Country rates shrink toward the global rate, whatever the supplier's category.
    assert a["country_severe_rate_365d"] == pytest.approx(b["country_severe_rate_365d"])


def test_severe_line_counts_only_once_settled(small: pd.DataFrame) -> None:
    # The 1 Feb promise is settled at the end of 14 Feb (not delivered within 13 days): as of
    # 15 Feb it is a severe delay, as of 14 Feb not yet.
    assert features(small, ["A"], "2024-02-14").loc["A", "sup_severe_lines_90d"] == 0
    assert features(small, ["A"], "2024-02-15").loc["A", "sup_severe_lines_90d"] == 1
    # The severe-delay *rate* counts only settled lines as trials: on 14 Feb the 20 Jan line (settled
    # 2 Feb, on time); on 15 Feb also the 1 Feb line (severe).
    index = SupplierHistoryIndex(small, CONFIG)
    code = index.supplier.codes(pd.DataFrame({"supplier_id": ["A", "A"]}))
    days = np.array([D("2024-02-14"), D("2024-02-15")], dtype="datetime64[ns]")
    from supplierrisk.features.events import day_numbers

    settled = index.severity.window_sum(code, day_numbers(days), 90)
    np.testing.assert_array_equal(settled, [[1.0, 0.0], [2.0, 1.0]])


def test_lead_time_variability_change(small: pd.DataFrame) -> None:
    rows = [line("C", f"2023-{m:02d}-01", f"2023-{m:02d}-20", f"2023-{m:02d}-{10 + m}") for m in range(1, 13)]
    rows += [
        line("C", "2024-01-01", "2024-01-20", "2024-01-05"),
        line("C", "2024-01-02", "2024-01-25", "2024-02-25"),
    ]
    history = conform(pd.DataFrame(rows))
    f = features(history, ["C"], "2024-03-01").loc["C"]
    # Deliveries in the 90 days before 1 Mar 2024: 22 Dec 2023 (lead 21), 5 Jan (4), 25 Feb (54).
    leads_short = np.array([21.0, 4.0, 54.0])
    assert f["sup_lead_time_std_days_90d"] == pytest.approx(leads_short.std(), rel=1e-5)
    leads_long = np.array(
        [10.0 + m - 1 for m in range(3, 13)] + [4.0, 54.0]
    )  # deliveries in the last 365 days
    assert f["sup_lead_time_std_days_365d"] == pytest.approx(leads_long.std(), rel=1e-4)
    assert f["sup_lead_time_std_change_90d_vs_365d"] == pytest.approx(
        leads_short.std() / leads_long.std() - 1, rel=1e-4
    )


def test_active_suppliers_ordered_in_the_last_year_or_open(small: pd.DataFrame) -> None:
    index = SupplierHistoryIndex(small, CONFIG)
    snaps = active_snapshots(index, snapshot_dates(D("2024-01-01"), D("2025-06-01")))
    active = snaps.groupby("supplier_id")["as_of"].agg(["min", "max"])
    # B: first order 10 Jan 2024, active from 1 Feb 2024 until a year after its last order.
    assert active.loc["B", "min"] == D("2024-02-01")
    assert active.loc["B", "max"] == D("2025-01-01")
    # A stays active while its line is open (never delivered).
    assert active.loc["A", "max"] == D("2025-06-01")


def test_unknown_supplier_gets_empty_history(small: pd.DataFrame) -> None:
    f = features(small, ["NEW"], "2024-04-01").loc["NEW"]
    assert f["sup_known_lines_365d"] == 0
    assert f["main_category"] is None
    # Without history or a category, the smoothed rate is exactly the global prior.
    assert f["sup_severe_rate_365d"] == pytest.approx(f["global_severe_rate_365d"])
    assert f["sup_days_since_severe"] == 3650.0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("delete", [False, True])
def test_outcomes_after_t_do_not_change_snapshot_features(seed: int, delete: bool) -> None:
    history = random_history(seed)
    t = D("2023-11-01") + pd.Timedelta(days=seed * 23)
    suppliers = sorted(history["supplier_id"].unique())
    before = features(history, suppliers, str(t.date()))
    after = features(scramble_after(history, t, seed, delete), suppliers, str(t.date()))
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("seed", [0, 4])
def test_snapshots_equal_recomputation_from_history_known_then(seed: int) -> None:
    history = random_history(seed)
    index = SupplierHistoryIndex(history, CONFIG)
    snaps = active_snapshots(index, snapshot_dates(D("2023-03-01"), D("2024-04-01")))
    batch = index.snapshot_features(snaps)
    for position in np.random.default_rng(seed).choice(len(snaps), 12, replace=False):
        snap = snaps.iloc[[position]]
        as_of = snap["as_of"].iloc[0]
        # What the store held at the end of the day before: nothing on or after as-of can leak in.
        truncated = known_history(history, as_of - pd.Timedelta(days=1))
        alone = SupplierHistoryIndex(truncated, CONFIG).snapshot_features(snap)
        pd.testing.assert_frame_equal(batch.iloc[[position]], alone, check_dtype=False)


def test_reconfigured_index_equals_a_fresh_one(small: pd.DataFrame) -> None:
    other = FeatureConfig(windows_days=(30, 365), decay_half_lives_days=(21.0,), prior_strength_lines=3.0)
    shared = SupplierHistoryIndex(small, CONFIG).reconfigured(other)
    snaps = pd.DataFrame({"supplier_id": ["A", "B"], "as_of": D("2024-04-01")})
    fresh = SupplierHistoryIndex(small, other).snapshot_features(snaps)
    pd.testing.assert_frame_equal(shared.snapshot_features(snaps), fresh)
    with pytest.raises(ValueError, match="severe_delay_days"):
        SupplierHistoryIndex(small, CONFIG).reconfigured(FeatureConfig(severe_delay_days=7))


def _held_arrays(obj: object, path: str, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every array an index holds (event indexes, coders, pairs), by attribute path."""
    if isinstance(obj, np.ndarray | pd.Index):
        out[path] = np.asarray(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _held_arrays(value, f"{path}[{key}]", out)
    elif isinstance(obj, tuple | list):
        for position, value in enumerate(obj):
            _held_arrays(value, f"{path}[{position}]", out)
    elif type(obj).__module__.startswith("supplierrisk.features"):
        for name, value in vars(obj).items():
            _held_arrays(value, f"{path}.{name}", out)
    return out


def test_indexes_built_on_threads_equal_indexes_built_one_at_a_time() -> None:
    history = random_history(3, n=3000, suppliers=40)
    alone = _held_arrays(SupplierHistoryIndex(history, CONFIG, workers=1), "index", {})
    threaded = _held_arrays(SupplierHistoryIndex(history, CONFIG, workers=4), "index", {})
    assert threaded.keys() == alone.keys()
    expected = {"index.outcome._cumsum", "index.groups[category][1].key", "index.categories.index._cumsum"}
    assert expected <= alone.keys()
    assert len(alone) > 60
    for path, values in alone.items():
        np.testing.assert_array_equal(threaded[path], values, err_msg=path, strict=True)


def test_ties_between_categories_do_not_depend_on_row_order() -> None:
    rows = [
        line("T", "2024-01-01", "2024-01-20", "2024-01-20", category="chips", unit_price=np.nan),
        line("T", "2024-01-02", "2024-01-21", "2024-01-21", category="bolts", unit_price=np.nan),
    ]
    forward = conform(pd.DataFrame(rows))
    backward = conform(pd.DataFrame(rows[::-1]))
    a = features(forward, ["T"], "2024-03-01").loc["T"]
    b = features(backward, ["T"], "2024-03-01").loc["T"]
    assert a["main_category"] == b["main_category"] == "bolts"  # the tie goes to the first in sort order
    pd.testing.assert_series_equal(a, b)


def test_feature_names_follow_the_long_window() -> None:
    config = FeatureConfig(windows_days=(90, 400), long_window_days=400)
    history = random_history(1)
    index = SupplierHistoryIndex(history, config)
    f = index.snapshot_features(pd.DataFrame({"supplier_id": ["S1"], "as_of": D("2024-03-01")}))
    assert {"global_late_rate_400d", "sup_severe_rate_400d", "sup_lead_time_std_days_400d"} <= set(f.columns)
    with pytest.raises(ValueError, match="long_window_days must be one of windows_days"):
        FeatureConfig(windows_days=(90, 180), long_window_days=365)

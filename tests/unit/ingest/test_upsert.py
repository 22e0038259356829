import pandas as pd

from supplierrisk.ingest import plan_upsert, upsert_history
from supplierrisk.schema import PROMISED_DATE_FIRST, conform, empty_history


def lines(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["po_id", "line_id", "delivered_date"])
    frame["supplier_id"] = "V1"
    frame["order_date"] = "2024-01-01"
    frame["promised_date"] = "2024-01-10"
    return conform(frame)


def test_insert_into_empty_store_sorts_by_key() -> None:
    merged, counts = upsert_history(empty_history(), lines(("P2", "1", None), ("P1", "1", None)))
    assert merged["po_id"].tolist() == ["P1", "P2"]
    assert (counts.inserted, counts.updated, counts.unchanged, counts.store_rows) == (2, 0, 0, 2)


def test_same_file_twice_is_idempotent() -> None:
    first, _ = upsert_history(empty_history(), lines(("P1", "1", None), ("P1", "2", "2024-01-09")))
    second, counts = upsert_history(first, lines(("P1", "1", None), ("P1", "2", "2024-01-09")))
    pd.testing.assert_frame_equal(first, second)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 2)


def test_newer_export_delivers_open_line_and_keeps_others() -> None:
    store, _ = upsert_history(empty_history(), lines(("P1", "1", None), ("P1", "2", None)))
    merged, counts = upsert_history(store, lines(("P1", "1", "2024-01-12"), ("P3", "1", None)))
    assert (counts.inserted, counts.updated, counts.unchanged, counts.store_rows) == (1, 1, 0, 3)
    delivered = merged.set_index(["po_id", "line_id"])["delivered_date"]
    assert delivered.loc[("P1", "1")] == pd.Timestamp("2024-01-12")
    assert pd.isna(delivered.loc[("P1", "2")])


def test_fields_a_source_does_not_provide_keep_their_stored_values() -> None:
    stored = lines(("P1", "1", None))
    stored["category"] = "bolts"
    store, _ = upsert_history(empty_history(), stored)
    newer = lines(("P1", "1", "2024-01-09")).drop(columns=["category"])
    plan = plan_upsert(store, newer, provided=("po_id", "line_id", "delivered_date", "supplier_id"))
    line = plan.merged.iloc[0]
    assert line["category"] == "bolts"
    assert line["delivered_date"] == pd.Timestamp("2024-01-09")
    assert plan.field_changes == {"delivered_date": 1}
    assert (plan.updated, plan.unchanged, plan.matched) == (1, 0, 1)


def test_first_promise_is_kept_when_a_newer_export_moves_it() -> None:
    store, _ = upsert_history(empty_history(), lines(("P1", "1", None), ("P1", "2", None)))
    assert store[PROMISED_DATE_FIRST].tolist() == store["promised_date"].tolist()
    moved = lines(("P1", "1", None))
    moved["promised_date"] = pd.Timestamp("2024-02-01")
    plan = plan_upsert(store, moved)
    line = plan.merged.set_index("line_id").loc["1"]
    assert line["promised_date"] == pd.Timestamp("2024-02-01")
    assert line[PROMISED_DATE_FIRST] == pd.Timestamp("2024-01-10")
    assert plan.promises_moved.count == 1
    assert plan.promises_moved.examples == [("P1/1", "2024-01-10", "2024-02-01")]
    again = plan_upsert(plan.merged, moved)
    assert again.unchanged == 1
    assert again.merged[PROMISED_DATE_FIRST].iloc[0] == pd.Timestamp("2024-01-10")


def test_order_time_changes_and_cleared_deliveries_are_listed_with_examples() -> None:
    store, _ = upsert_history(empty_history(), lines(("P1", "1", "2024-01-09"), ("P1", "2", None)))
    newer = lines(("P1", "1", None), ("P1", "2", None))
    newer["supplier_id"] = ["V1", "V2"]
    newer["order_date"] = [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    plan = plan_upsert(store, newer)
    assert set(plan.order_time_changes) == {"supplier_id", "order_date"}
    assert plan.order_time_changes["supplier_id"].examples == [("P1/2", "V1", "V2")]
    assert plan.order_time_changes["order_date"].describe("order_date") == (
        "order_date on 1 stored lines (e.g. P1/2 2024-01-01 -> 2024-01-02)"
    )
    assert plan.deliveries_cleared.count == 1
    assert plan.deliveries_cleared.examples == [("P1/1", "2024-01-09", "(empty)")]
    # The plan changes nothing until written: the store frame given is untouched.
    assert store.loc[0, "delivered_date"] == pd.Timestamp("2024-01-09")

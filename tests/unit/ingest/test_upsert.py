import pandas as pd

from supplierrisk.ingest import upsert_history
from supplierrisk.schema import conform, empty_history


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

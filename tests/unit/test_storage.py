"""The store's content fingerprint."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from supplierrisk.schema import conform, from_records
from supplierrisk.storage import (
    StoreEmptyError,
    data_fingerprint,
    load_store,
    load_store_fingerprinted,
    read_history,
    row_hashes,
    write_parquet,
)


def _history() -> pd.DataFrame:
    rows = [
        {
            "po_id": "P1",
            "line_id": "1",
            "supplier_id": "S1",
            "order_date": "2024-01-02",
            "quantity_ordered": 5.0,
        },
        {
            "po_id": "P1",
            "line_id": "2",
            "supplier_id": "S1",
            "order_date": "2024-01-03",
            "quantity_ordered": 7.0,
        },
        {
            "po_id": "P2",
            "line_id": "1",
            "supplier_id": "S2",
            "order_date": "2024-02-01",
            "quantity_ordered": 1.0,
        },
    ]
    return from_records([{**r, "order_date": pd.Timestamp(r["order_date"]).date()} for r in rows])


def test_fingerprint_ignores_row_order_and_index() -> None:
    history = _history()
    shuffled = history.iloc[[2, 0, 1]].set_axis([10, 11, 12])
    assert data_fingerprint(shuffled) == data_fingerprint(history)


def test_fingerprint_changes_with_any_value_and_counts_rows() -> None:
    history = _history()
    changed = history.copy()
    changed.loc[1, "quantity_ordered"] = 8.0
    assert data_fingerprint(changed)["sha256"] != data_fingerprint(history)["sha256"]
    # Two rows swapping one value between them is a different history, not a reordering.
    swapped = history.copy()
    swapped.loc[[0, 1], "quantity_ordered"] = [7.0, 5.0]
    assert data_fingerprint(swapped)["sha256"] != data_fingerprint(history)["sha256"]
    fingerprint = data_fingerprint(history)
    assert fingerprint["rows"] == 3
    assert (fingerprint["order_date_min"], fingerprint["order_date_max"]) == ("2024-01-02", "2024-02-01")


@pytest.mark.parametrize("rows", [0, 1, 500])
def test_row_hashes_are_pandas_row_hashes(rows: int) -> None:
    rng = np.random.default_rng(rows)
    ids = rng.integers(0, 50, rows)
    frame = pd.DataFrame(
        {
            "po_id": np.array([f"P{i}" for i in ids], dtype=object),
            "category": np.array([None if i % 5 == 0 else f"c{i % 3}" for i in ids], dtype=object),
            "nothing": np.array([None] * rows, dtype=object),
            "mixed": np.array([i if i % 2 else f"{i}" for i in ids], dtype=object),
            "quantity": np.where(ids % 7 == 0, np.nan, ids.astype(float)),
            "order_date": pd.to_datetime(ids, unit="D").where(ids % 4 > 0),
            "flag": ids % 2 == 0,
        }
    )
    expected = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    np.testing.assert_array_equal(row_hashes(frame), expected, strict=True)
    # A missing text value hashes apart from the text "None".
    text = pd.DataFrame({"a": np.array([None, "None"], dtype=object)})
    assert row_hashes(text)[0] != row_hashes(text)[1]


def test_stored_history_reads_back_as_conform_reads_it(tmp_path: Path) -> None:
    history = _history()
    history.loc[1, "category"] = np.nan  # a float NaN in a text column, stored as a null
    history.loc[2, "category"] = "bolts"
    path = write_parquet(history, tmp_path / "store.parquet")
    read = read_history(path)
    # Text read from Parquet skips conform's pass for missing values; the result is the same.
    pd.testing.assert_frame_equal(read, conform(pd.read_parquet(path)))
    assert read.loc[1, "category"] is None
    assert read.loc[0, "category"] is None
    assert read.loc[2, "category"] == "bolts"
    assert data_fingerprint(read) == data_fingerprint(conform(history))


def test_fingerprint_from_the_loaded_store_is_the_fingerprint_of_what_it_loads(tmp_path: Path) -> None:
    history = conform(pd.concat([_history()] * 7, ignore_index=True))
    history["po_id"] = [f"P{i % 5}" for i in range(len(history))]
    history.loc[::3, "category"] = "bolts"  # text with nulls; ship_mode stays all null
    history.loc[4, "supplier_id"] = "Ünïcode S"
    path = tmp_path / "store.parquet"
    history.to_parquet(path, index=False, row_group_size=4)  # several chunks per column
    loaded, fingerprint = load_store_fingerprinted(path)
    assert fingerprint == data_fingerprint(load_store(path))
    assert fingerprint == data_fingerprint(history)
    pd.testing.assert_frame_equal(loaded, load_store(path))
    with pytest.raises(StoreEmptyError, match="run 'supplierrisk ingest' first"):
        load_store_fingerprinted(tmp_path / "absent.parquet")


def test_dates_stored_as_text_are_fingerprinted_as_the_dates_they_load_as(tmp_path: Path) -> None:
    history = conform(_history())
    stored = history.assign(order_date=history["order_date"].dt.strftime("%Y-%m-%d"))
    path = tmp_path / "store.parquet"
    stored.to_parquet(path, index=False)
    loaded, fingerprint = load_store_fingerprinted(path)
    assert loaded["order_date"].dtype == "datetime64[ns]"
    assert fingerprint == data_fingerprint(load_store(path)) == data_fingerprint(history)


def test_text_columns_of_any_shape_read_back_as_pandas_reads_them(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 9
    table = pa.table(
        {
            "po_id": pa.array([f"P{i % 4}" for i in range(rows)], pa.large_string()),
            "supplier_id": pa.array(["Ünïcode", None, "S"] * 3, pa.string()),
            "category": pa.array([None] * rows, pa.string()),  # text typed, never a value
            "ship_mode": pa.array([""] * rows, pa.string()),  # empty text is a value, not missing
            "order_date": pa.array([pd.Timestamp("2024-01-02")] * rows, pa.timestamp("ns")),
        }
    )
    path = tmp_path / "store.parquet"
    pq.write_table(table, path, row_group_size=4)  # several chunks per column
    loaded, fingerprint = load_store_fingerprinted(path)
    expected = conform(pd.read_parquet(path))
    pd.testing.assert_frame_equal(loaded, expected)
    assert fingerprint == data_fingerprint(expected)
    assert loaded["category"].map(type).eq(type(None)).all()
    assert loaded["supplier_id"].tolist() == ["Ünïcode", None, "S"] * 3
    assert loaded["ship_mode"].eq("").all()

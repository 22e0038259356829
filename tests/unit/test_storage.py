"""The store's content fingerprint."""

import pandas as pd

from supplierrisk.schema import from_records
from supplierrisk.storage import data_fingerprint


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

"""The canonical frame: ``from_records`` (the online path) builds exactly what ``conform`` builds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from supplierrisk.schema import CANONICAL_FIELDS, conform, from_records


def test_from_records_equals_conform_on_typed_records() -> None:
    records = [
        {
            "po_id": "P1",
            "line_id": None,
            "supplier_id": "S1",
            "order_date": dt.date(2024, 1, 2),
            "promised_date": dt.date(2024, 2, 1),
            "quantity_ordered": 3,
            "unit_price": 2.5,
            "extra_priority": "high",
            "extra_distance_km": 12.5,
        },
        {
            "po_id": "P2",
            "supplier_id": "S2",
            "order_date": dt.date(2024, 1, 3),
            "promised_date": dt.date(2024, 3, 1),
            "delivered_date": None,
            "extra_distance_km": None,
        },
    ]
    fast = from_records(records)
    slow = conform(pd.DataFrame.from_records(records))
    # Missing text is None in the canonical frame; pandas fills absent keys of extra columns with NaN.
    slow["extra_priority"] = slow["extra_priority"].where(slow["extra_priority"].notna(), None)
    pd.testing.assert_frame_equal(fast, slow)
    assert list(fast.columns[: len(CANONICAL_FIELDS)]) == list(CANONICAL_FIELDS)
    assert fast["extra_distance_km"].dtype == "float64"
    assert fast["order_date"].dtype == "datetime64[ns]"


def test_records_dates_convert_like_numpy_whatever_their_type() -> None:
    dates = [dt.date(2024, 1, 31), None, dt.date(1999, 12, 31), pd.Timestamp("2024-02-29 13:00"), pd.NaT]
    records = [{"po_id": "P", "supplier_id": "S", "order_date": d} for d in dates]
    expected = np.array([None if d is pd.NaT else d for d in dates], dtype="datetime64[D]").astype(
        "datetime64[ns]"
    )
    np.testing.assert_array_equal(from_records(records)["order_date"].to_numpy(), expected)
    texts = [{"po_id": "P", "supplier_id": "S", "order_date": "2024-01-02"}]
    assert from_records(texts)["order_date"].iloc[0] == pd.Timestamp("2024-01-02")


def test_conform_shares_no_data_with_its_input_unless_handed_over() -> None:
    frame = pd.DataFrame(
        {
            "po_id": np.array(["P1", "P2"], dtype=object),
            "supplier_id": np.array(["S1", "S2"], dtype=object),
            "order_date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
            "quantity_ordered": [1.0, 2.0],
            "extra_priority": np.array(["high", "low"], dtype=object),
        }
    )
    before = frame.copy(deep=True)
    out = conform(frame, text_columns=["po_id", "supplier_id", "extra_priority"])
    for name in ("po_id", "supplier_id", "order_date", "quantity_ordered", "extra_priority"):
        assert not np.shares_memory(out[name].to_numpy(), frame[name].to_numpy()), name
    out.loc[0, ["po_id", "extra_priority", "quantity_ordered"]] = ["X", "X", 9.0]
    pd.testing.assert_frame_equal(frame, before)
    # Handed over: canonical text and extra columns are taken as they are (no copy).
    owned = conform(frame, text_columns=["po_id", "supplier_id", "extra_priority"], owned=True)
    assert np.shares_memory(owned["po_id"].to_numpy(), frame["po_id"].to_numpy())
    assert np.shares_memory(owned["extra_priority"].to_numpy(), frame["extra_priority"].to_numpy())
    pd.testing.assert_frame_equal(
        owned, out.assign(po_id=["P1", "P2"], extra_priority=["high", "low"], quantity_ordered=[1.0, 2.0])
    )


def test_absent_text_fields_are_none_not_nan() -> None:
    out = conform(pd.DataFrame({"po_id": ["P1"], "supplier_id": ["S1"], "order_date": ["2024-01-02"]}))
    for name in ("supplier_name", "category", "item_id", "currency"):
        assert out[name].dtype == object
        assert out[name].tolist() == [None]

import pandas as pd
import pytest

from supplierrisk.ingest import IngestError, to_canonical
from supplierrisk.ingest.mapping import parse_mapping
from supplierrisk.schema import CANONICAL_FIELDS

BASE = {
    "columns": {
        "po_id": "PO",
        "line_id": "Item",
        "supplier_id": "Vendor",
        "order_date": "Ordered",
        "promised_date": "Due",
        "delivered_date": "Received",
        "quantity_ordered": "Qty",
    },
    "date_formats": {"order_date": "%d.%m.%Y", "promised_date": "%d.%m.%Y", "delivered_date": "%d.%m.%Y"},
}


def raw(*rows: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["PO", "Item", "Vendor", "Ordered", "Due", "Received", "Qty"])


def convert(frame: pd.DataFrame, **overrides: object):
    return to_canonical(frame, parse_mapping({**BASE, **overrides}, "m.yaml"), "export.csv")


def test_good_rows_become_canonical() -> None:
    result = convert(raw(("P1", "10", "V1", "01.02.2024", "15.02.2024", "14.02.2024", "5")))
    assert result.rows_read == 1
    assert result.rows_rejected == 0
    line = result.accepted.iloc[0]
    assert list(result.accepted.columns[: len(CANONICAL_FIELDS)]) == list(CANONICAL_FIELDS)
    assert line["order_date"] == pd.Timestamp("2024-02-01")
    assert line["delivered_date"] == pd.Timestamp("2024-02-14")
    assert line["quantity_ordered"] == 5.0
    assert line["order_date_source"] == "source"
    assert any("supplier_country" in note for note in result.notes)


def test_empty_receipt_date_means_open_line() -> None:
    result = convert(raw(("P1", "10", "V1", "01.02.2024", "15.02.2024", "", "5")))
    assert pd.isna(result.accepted.loc[0, "delivered_date"])
    assert result.rows_rejected == 0


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (("P1", "10", "V1", "2024-02-01", "15.02.2024", "", "5"), "order_date", "unparseable_date"),
        (("P1", "10", "V1", "", "15.02.2024", "", "5"), "order_date", "missing_required"),
        (("P1", "10", "N/A", "01.02.2024", "15.02.2024", "", "5"), "supplier_id", "missing_required"),
        (("P1", "10", "V1", "01.02.2024", "15.01.2024", "", "5"), "promised_date", "promised_before_order"),
        (
            ("P1", "10", "V1", "01.02.2024", "15.02.2024", "01.01.2024", "5"),
            "delivered_date",
            "delivered_before_order",
        ),
        (("P1", "10", "V1", "01.02.2024", "15.02.2024", "", "-5"), "quantity_ordered", "negative_value"),
        (
            ("P1", "10", "V1", "01.02.2024", "15.02.2024", "", "five"),
            "quantity_ordered",
            "unparseable_number",
        ),
        (
            ("P1", "10", "V1", "01.02.2024", "15.02.2024", "31.02.2024", "5"),
            "delivered_date",
            "unparseable_date",
        ),
    ],
)
def test_bad_rows_are_rejected_with_field_and_reason(row: tuple[str, ...], field: str, reason: str) -> None:
    good = ("P0", "1", "V1", "01.02.2024", "15.02.2024", "", "1")
    result = convert(raw(good, row))
    assert result.rows_read == 2
    assert result.rows_accepted == 1
    reject = result.rejects.iloc[0]
    assert reject["source_row"] == 2
    assert reject["field"] == field
    assert reject["reason"] == reason
    assert reject["Vendor"] == row[2]
    assert result.rejects_by_reason() == {reason: 1}


def test_dates_in_two_formats() -> None:
    frame = raw(
        ("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "5"),
        ("P1", "2", "V1", "2024-02-01", "2024-02-15", "", "5"),
    )
    one_format = convert(frame)
    assert one_format.rows_rejected == 1
    assert "does not match %d.%m.%Y" in one_format.rejects.loc[0, "detail"]
    both = {f: ["%d.%m.%Y", "%Y-%m-%d"] for f in ("order_date", "promised_date", "delivered_date")}
    two_formats = convert(frame, date_formats=both)
    assert two_formats.rows_rejected == 0
    assert (two_formats.accepted["order_date"] == pd.Timestamp("2024-02-01")).all()


def test_numbers_mixed_with_text_and_decimal_comma() -> None:
    frame = raw(
        ("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "1.234,5"),
        ("P1", "2", "V1", "01.02.2024", "15.02.2024", "", "See ASN-93 (ID#:1281)"),
        ("P1", "3", "V1", "01.02.2024", "15.02.2024", "", "N/A"),
    )
    result = convert(frame, decimal=",", thousands=".")
    assert result.accepted["quantity_ordered"].tolist()[0] == 1234.5
    assert pd.isna(result.accepted["quantity_ordered"].tolist()[1])
    assert result.rejects["reason"].tolist() == ["unparseable_number"]
    assert "See ASN-93" in result.rejects.loc[0, "detail"]


def test_all_problems_of_a_row_are_listed() -> None:
    result = convert(raw(("P1", "1", "", "bad", "15.02.2024", "", "-1")))
    problems = result.rejects.loc[0, "problems"]
    assert "order_date: unparseable_date" in problems
    assert "supplier_id: missing_required" in problems
    assert "quantity_ordered: negative_value" in problems
    assert result.rows_read == result.rows_accepted + result.rows_rejected


def test_duplicate_keys_keep_first_and_reject_later() -> None:
    frame = raw(
        ("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "5"),
        ("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "6"),
    )
    result = convert(frame)
    assert result.accepted["quantity_ordered"].tolist() == [5.0]
    assert result.rejects.loc[0, "reason"] == "duplicate_key"
    assert "first seen at source row 1" in result.rejects.loc[0, "detail"]


def test_several_receipts_aggregate_to_last_date_and_summed_quantity() -> None:
    frame = pd.DataFrame(
        [
            ("P1", "1", "V1", "01.02.2024", "15.02.2024", "10.02.2024", "10", "4"),
            ("P1", "1", "V1", "01.02.2024", "15.02.2024", "20.02.2024", "10", "6"),
            ("P2", "1", "V1", "01.02.2024", "15.02.2024", "", "3", ""),
        ],
        columns=["PO", "Item", "Vendor", "Ordered", "Due", "Received", "Qty", "GR Qty"],
    )
    columns = {**BASE["columns"], "quantity_received": "GR Qty"}  # type: ignore[dict-item]
    result = convert(frame, columns=columns, receipts="aggregate")
    assert result.rows_read == 3
    assert result.rows_accepted == 3
    assert len(result.accepted) == 2
    line = result.accepted.set_index("po_id").loc["P1"]
    assert line["delivered_date"] == pd.Timestamp("2024-02-20")
    assert line["quantity_received"] == 10.0
    assert any("merged" in note for note in result.notes)


def test_constants_and_extra_columns() -> None:
    frame = raw(("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "5")).assign(Terms="NT30", Km="12,5")
    result = convert(
        frame,
        constants={"currency": "EUR"},
        decimal=",",
        extra_columns={
            "payment_terms": {"column": "Terms", "type": "categorical"},
            "distance_km": {"column": "Km", "type": "numeric"},
        },
    )
    line = result.accepted.iloc[0]
    assert line["currency"] == "EUR"
    assert line["extra_payment_terms"] == "NT30"
    assert line["extra_distance_km"] == 12.5


def test_missing_source_columns_name_file_column_and_entry() -> None:
    frame = raw(("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "5")).drop(columns=["Due"])
    with pytest.raises(
        IngestError, match=r"export.csv: column 'Due' named by mapping entry 'columns.promised_date'"
    ):
        convert(frame)
    with pytest.raises(IngestError, match="'Nope' named by mapping entry 'extra_columns.x'"):
        convert(
            raw(("P1", "1", "V1", "01.02.2024", "15.02.2024", "", "5")),
            extra_columns={"x": {"column": "Nope", "type": "numeric"}},
        )


def test_unmapped_line_id_numbers_lines_within_po() -> None:
    columns = {k: v for k, v in BASE["columns"].items() if k != "line_id"}  # type: ignore[attr-defined]
    frame = raw(
        ("P1", "", "V1", "01.02.2024", "15.02.2024", "", "5"),
        ("P1", "", "V1", "01.02.2024", "15.02.2024", "", "5"),
        ("P2", "", "V1", "01.02.2024", "15.02.2024", "", "5"),
    )
    result = convert(frame, columns=columns)
    assert result.accepted[["po_id", "line_id"]].values.tolist() == [["P1", "1"], ["P1", "2"], ["P2", "1"]]


def test_parquet_typed_columns() -> None:
    frame = pd.DataFrame(
        {
            "PO": ["P1"],
            "Item": [10],
            "Vendor": ["V1"],
            "Ordered": pd.to_datetime(["2024-02-01 13:45"]),
            "Due": pd.to_datetime(["2024-02-15"]),
            "Received": [pd.NaT],
            "Qty": [5],
        }
    )
    result = convert(frame)
    line = result.accepted.iloc[0]
    assert line["line_id"] == "10"
    assert line["order_date"] == pd.Timestamp("2024-02-01")
    assert pd.isna(line["delivered_date"])

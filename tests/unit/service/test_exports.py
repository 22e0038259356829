"""Exports: the table's rows in its order, intervals as three columns, counts beside values, safe cells."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from supplierrisk.service.exports import export_frame, export_name, render, to_csv, to_xlsx
from supplierrisk.service.workspace import Column, Table

TABLE = Table(
    "suppliers",
    "Suppliers of ARV",
    (
        Column("supplier_id", "Supplier", "link", link="/ui/suppliers/{supplier_id}"),
        Column("otd_rate", "OTD [90% interval]", "interval", count="otd_lines"),
        Column("spend_share", "Spend share", "pct"),
    ),
    pd.DataFrame(
        {
            "supplier_id": ["=HYPERLINK(1)", "Zoë AG"],
            "otd_rate": [0.5, np.nan],
            "otd_rate_lo": [0.2, np.nan],
            "otd_rate_hi": [0.8, np.nan],
            "otd_lines": [4, 0],
            "spend_share": [0.75, 0.25],
        }
    ),
)


def test_export_columns_split_intervals_and_keep_counts() -> None:
    frame = export_frame(TABLE)
    assert list(frame.columns) == [
        "Supplier",
        "OTD",
        "OTD 90% low",
        "OTD 90% high",
        "otd_lines (lines)",
        "Spend share",
    ]


def test_csv_has_the_rows_in_order_with_plain_values_and_no_formulas() -> None:
    text = to_csv(TABLE).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["'=HYPERLINK(1)", "0.5", "0.2", "0.8", "4", "0.75"]
    assert rows[2] == ["Zoë AG", "", "", "", "0", "0.25"]
    assert len(rows) == 3


def test_xlsx_holds_the_same_rows_under_a_subtitle() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(TABLE, "Suppliers of ARV, batch as of 2024-06-30")))
    sheet = book["suppliers"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Suppliers of ARV, batch as of 2024-06-30"
    assert values[1] == list(export_frame(TABLE).columns)
    assert values[2] == ["'=HYPERLINK(1)", 0.5, 0.2, 0.8, 4, 0.75]
    assert values[3] == ["Zoë AG", None, None, None, 0, 0.25]


def test_file_name_says_what_and_as_of_when() -> None:
    as_of = pd.Timestamp("2024-06-30")
    assert (
        export_name(TABLE, "ARV / Kits_365d", as_of, "csv")
        == "supplierrisk_suppliers_ARV-Kits_365d_as-of-2024-06-30.csv"
    )
    assert export_name(TABLE, None, as_of, "xlsx") == "supplierrisk_suppliers_as-of-2024-06-30.xlsx"
    with pytest.raises(ValueError, match="format must be one of csv, xlsx"):
        render(TABLE, "pdf", "")

"""Excel workbooks: an ERP layout with a title block, serial dates and the zero date, against its CSV twin."""

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines.ingest import run_ingest
from supplierrisk.ingest import IngestError, read_source
from supplierrisk.ingest.mapping import parse_mapping
from supplierrisk.settings import Settings
from supplierrisk.storage import read_history

MAPPING = """
columns:
  po_id: Purchasing Document
  line_id: Item
  supplier_id: Vendor
  category: Material Group
  order_date: Document Date
  promised_date: Delivery Date
  delivered_date: GR Date
  quantity_ordered: Order Quantity
  unit_price: Net Price
date_formats:
  order_date: "%d.%m.%Y"
  promised_date: "%d.%m.%Y"
  delivered_date: "%d.%m.%Y"
"""
HEADER = [
    "Purchasing Document",
    "Item",
    "Vendor",
    "Material Group",
    "Document Date",
    "Delivery Date",
    "GR Date",
    "Order Quantity",
    "Net Price",
]
# Each line: PO, item, vendor, group, ordered on, due on, received on (or None), quantity, price.
LINES = [
    (
        4500000101,
        10,
        "100234",
        "ELEC",
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 16),
        dt.date(2024, 1, 15),
        1000,
        0.25,
    ),
    (4500000101, 20, "100234", "ELEC", dt.date(2024, 1, 2), dt.date(2024, 1, 23), None, 500, 1.5),
    (
        4500000102,
        10,
        "200871",
        "MECH",
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 5),
        10,
        120.0,
    ),
    (
        4500000103,
        10,
        "200871",
        "MECH",
        dt.date(2024, 2, 14),
        dt.date(2024, 3, 1),
        dt.date(2024, 2, 29),
        4,
        99.9,
    ),
]
EXCEL_EPOCH = dt.date(1899, 12, 30)


def write_workbook(path: Path) -> None:
    """A typical ERP export: a title and filter block above the header, dates of three kinds."""
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Exported by user BUYER01"])
    sheet = book.create_sheet("EKPO export")
    sheet.append(["Purchase order lines, plant 1000"])
    sheet.append(["Selection: document date 01.01.2024 - 29.02.2024"])
    sheet.append([])
    sheet.append(HEADER)
    for i, (po, item, vendor, group, ordered, due, received, qty, price) in enumerate(LINES):
        # Order dates as real date cells; due dates as bare serial numbers (General format) on odd
        # rows and as text on even ones; receipts as dates, or Excel's zero date for open lines.
        due_cell: object = (due - EXCEL_EPOCH).days if i % 2 else due.strftime("%d.%m.%Y")
        sheet.append(
            [po, item, vendor, group, dt.datetime.combine(ordered, dt.time()), due_cell, None, qty, price]
        )
        receipt = sheet.cell(row=sheet.max_row, column=7)
        receipt.value = received if received is not None else 0
        receipt.number_format = "dd.mm.yyyy"
    sheet.append([])
    book.save(path)


def write_csv_twin(path: Path) -> None:
    rows = [";".join(HEADER)]
    for po, item, vendor, group, ordered, due, received, qty, price in LINES:
        got = received.strftime("%d.%m.%Y") if received else ""
        rows.append(f"{po};{item};{vendor};{group};{ordered:%d.%m.%Y};{due:%d.%m.%Y};{got};{qty};{price}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_workbook_ingests_to_the_same_store_as_its_csv_twin(tmp_path: Path) -> None:
    mapping = tmp_path / "erp.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    workbook, twin = tmp_path / "ekpo.xlsx", tmp_path / "ekpo.csv"
    write_workbook(workbook)
    write_csv_twin(twin)
    from_excel = Settings(home=tmp_path / "excel")
    from_csv = Settings(home=tmp_path / "csv")
    report = run_ingest(workbook, from_excel, mapping_path=mapping)
    run_ingest(twin, from_csv, mapping_path=mapping)
    assert (report.rows_read, report.rows_rejected) == (4, 0)
    assert "sheet 'EKPO export', header on row 4" in report.read_as
    excel_store = read_history(from_excel.store_path)
    pd.testing.assert_frame_equal(excel_store, read_history(from_csv.store_path))
    line = excel_store.set_index(["po_id", "line_id"]).loc[("4500000101", "20")]
    assert pd.isna(line["delivered_date"])  # the zero date is a missing value, not 1899-12-30
    assert line["promised_date"] == pd.Timestamp("2024-01-23")  # a serial date
    assert line["supplier_id"] == "100234"  # a number cell read as the id it is


def test_sheet_from_the_mapping_and_clear_errors(tmp_path: Path) -> None:
    workbook = tmp_path / "ekpo.xlsx"
    write_workbook(workbook)
    base = {"columns": {"po_id": "Purchasing Document", "supplier_id": "Vendor"}}
    chosen = read_source(workbook, parse_mapping({**base, "sheet": 1}, "m"))
    assert (chosen.sheet, chosen.header_row, len(chosen.frame)) == ("EKPO export", 4, 4)
    with pytest.raises(IngestError, match="no sheet named 'Lines'"):
        read_source(workbook, parse_mapping({**base, "sheet": "Lines"}, "m"))
    with pytest.raises(IngestError, match="no sheet has a header row with every mapped column"):
        read_source(workbook, parse_mapping({"columns": {"po_id": "Bestellung"}}, "m"))


def test_excel_by_magic_bytes_and_bad_serials_are_rejected(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["PO", "Vendor", "Ordered", "Due"])
    sheet.append(["P1", "V1", 45292, 45300])
    sheet.append(["P2", "V1", 45292, -3])
    path = tmp_path / "export.bin"
    book.save(path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "columns: {po_id: PO, supplier_id: Vendor, order_date: Ordered, promised_date: Due}\n",
        encoding="utf-8",
    )
    settings = Settings(home=tmp_path / "home")
    from supplierrisk.ingest import IngestOptions

    report = run_ingest(path, settings, mapping_path=mapping, options=IngestOptions(max_reject_share=1.0))
    assert report.rejects_by_reason == {"unparseable_date": 1}
    rejects = pd.read_csv(report.rejects_path, dtype=str)
    assert rejects.loc[0, "sheet_row"] == "3"
    assert "is not an Excel date" in rejects.loc[0, "detail"]
    assert read_history(settings.store_path)["order_date"].iloc[0] == pd.Timestamp("2024-01-01")

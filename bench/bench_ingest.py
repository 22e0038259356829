"""Benchmark: ingesting a large CSV export with validation, against a bare ``pyarrow.csv.read_csv``.

A synthetic history of about ``--lines`` lines (the generator's export, with a buyer's
own column names and ISO dates) is written as CSV. Measured in the same run:

- ``supplierrisk ingest`` (``run_ingest``): read, map, parse and validate every field,
  plan against the (empty) store, write the store and the report atomically;
- the floor: ``pyarrow.csv.read_csv`` of the same file, which only parses it.

Ends with ``target <name>: <value> (goal <goal>) MET|MISSED`` lines.
Run: ``.venv/bin/python bench/bench_ingest.py [--lines 1000000]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pyarrow.csv
from targets import target_line  # bench/targets.py, beside this script

from pipelines.ingest import run_ingest
from supplierrisk.settings import Settings
from supplierrisk.synth import SynthConfig, generate_history

# The buyer's column names for the canonical fields (an ERP-style export).
COLUMNS = {
    "po_id": "PO Number",
    "line_id": "Line",
    "supplier_id": "Vendor ID",
    "supplier_name": "Vendor Name",
    "supplier_country": "Vendor Country",
    "category": "Category",
    "item_id": "Item",
    "order_date": "PO Date",
    "promised_date": "Promised Date",
    "delivered_date": "Receipt Date",
    "quantity_ordered": "Qty Ordered",
    "quantity_received": "Qty Received",
    "quantity_rejected": "Qty Rejected",
    "unit_price": "Unit Price",
    "invoice_unit_price": "Invoice Price",
    "currency": "Currency",
    "ship_mode": "Ship Via",
    "incoterm": "Incoterm",
    "destination": "Ship To",
}


def write_export(lines: int, folder: Path) -> tuple[Path, Path, int]:
    """The CSV export and its mapping; returns their paths and the row count."""
    suppliers = max(5, lines // 1000)
    history = generate_history(
        SynthConfig(
            suppliers=suppliers, years=4.0, seed=11, lines_per_supplier_per_year=lines / suppliers / 4.0
        )
    ).history
    export = history.reindex(columns=list(COLUMNS)).rename(columns=COLUMNS)
    source = folder / "export.csv"
    export.to_csv(source, index=False, date_format="%Y-%m-%d")
    mapping = folder / "mapping.yaml"
    body = "\n".join(f'  {field}: "{column}"' for field, column in COLUMNS.items())
    dates = "\n".join(f'  {field}: "%Y-%m-%d"' for field in ("order_date", "promised_date", "delivered_date"))
    mapping.write_text(f"columns:\n{body}\ndate_formats:\n{dates}\n", encoding="utf-8")
    return source, mapping, len(export)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source, mapping, rows = write_export(args.lines, folder)
        size_mb = source.stat().st_size / 1e6
        print(f"export: {rows:,} lines, {size_mb:.0f} MB CSV, {len(COLUMNS)} columns")
        start = time.perf_counter()
        table = pyarrow.csv.read_csv(source)
        bare = time.perf_counter() - start
        assert table.num_rows == rows
        del table
        settings = Settings(home=folder / "home")
        start = time.perf_counter()
        report = run_ingest(source, settings, mapping_path=mapping)
        ingest = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"pyarrow.csv.read_csv: {bare:.2f} s")
    print(f"ingest with validation: {ingest:.2f} s ({rows / ingest:,.0f} lines/s); peak {peak:.1f} GB")
    print(f"  accepted {report.rows_accepted:,}, rejected {report.rows_rejected:,}, outcome {report.outcome}")
    ratio = ingest / bare
    print(target_line("ingest_vs_pyarrow_read_csv", f"{ratio:.1f}x", "<= 3x", ratio <= 3))


if __name__ == "__main__":
    main()

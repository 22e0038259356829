"""An ingest can only make the store better: refusals leave it byte-identical, with the reason and fix."""

import contextlib
import json
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from typer.testing import CliRunner

from pipelines.cli import EXIT_INGEST_REFUSED, app
from pipelines.ingest import run_ingest
from supplierrisk.ingest import IngestOptions, IngestRefusedError
from supplierrisk.settings import Settings
from supplierrisk.storage import read_history

runner = CliRunner()

MAPPING = """
columns:
  po_id: PO
  line_id: Line
  supplier_id: Vendor
  order_date: Ordered
  promised_date: Due
  delivered_date: Received
  quantity_ordered: Qty
date_formats:
  order_date: "{fmt}"
  promised_date: "{fmt}"
  delivered_date: "{fmt}"
"""


def us_export(path: Path, n: int = 400, fmt: str = "%m/%d/%Y", delivered: bool = True) -> pd.DataFrame:
    """A month-first export: orders every 2 days, promised 3 days later, delivered after 2.

    Read day-first, a row parses only when all its days are 12 or less: about a third of them.
    """
    ordered = pd.date_range("2022-01-03", periods=n, freq="2D")
    frame = pd.DataFrame(
        {
            "PO": [f"PO{i:05d}" for i in range(n)],
            "Line": "10",
            "Vendor": [f"V{i % 7}" for i in range(n)],
            "Ordered": ordered.strftime(fmt),
            "Due": (ordered + pd.Timedelta(days=3)).strftime(fmt),
            "Received": (ordered + pd.Timedelta(days=2)).strftime(fmt) if delivered else "",
            "Qty": [str(10 + i % 5) for i in range(n)],
        }
    )
    frame.to_csv(path, index=False)
    return frame


def mapping_file(tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"mapping-{fmt.replace('/', '')}.yaml"
    path.write_text(MAPPING.format(fmt=fmt), encoding="utf-8")
    return path


@pytest.fixture
def stored(tmp_path: Path, home: Path) -> tuple[Path, bytes]:
    """A store holding the US export ingested with the right format."""
    source = tmp_path / "po_lines.csv"
    us_export(source)
    result = runner.invoke(app, ["ingest", str(source), "--mapping", str(mapping_file(tmp_path, "%m/%d/%Y"))])
    assert result.exit_code == 0, result.output
    return source, (home / "store" / "po_lines.parquet").read_bytes()


def refused(result_output: str, exit_code: int, store: Path, before: bytes) -> None:
    assert exit_code == EXIT_INGEST_REFUSED, result_output
    assert store.read_bytes() == before
    assert "ingest refused, store untouched" in result_output


def test_the_wrong_day_month_order_is_refused_naming_field_share_and_format(
    tmp_path: Path, home: Path, stored: tuple[Path, bytes]
) -> None:
    """The issue's case: a US-dated file read with %d/%m/%Y used to rewrite thousands of stored lines."""
    source, before = stored
    wrong = mapping_file(tmp_path, "%d/%m/%Y")
    result = runner.invoke(app, ["ingest", str(source), "--mapping", str(wrong)])
    refused(result.output, result.exit_code, home / "store" / "po_lines.parquet", before)
    assert "order_date values do not match '%d/%m/%Y' but match '%m/%d/%Y'" in result.output
    assert "set date_formats.order_date: '%m/%d/%Y'" in result.output
    # The report and the rejects are still written, so the user can see why.
    report = json.loads((home / "reports" / "ingest-po_lines.json").read_text())
    assert report["outcome"] == "refused"
    assert {r["check"] for r in report["refusals"]} == {"date_format", "reject_share", "history_rewrite"}
    assert (home / "rejects" / "po_lines.rejects.csv").stat().st_size > 0


def test_trusting_the_dates_still_cannot_rewrite_history(
    tmp_path: Path, home: Path, stored: tuple[Path, bytes]
) -> None:
    source, before = stored
    wrong = mapping_file(tmp_path, "%d/%m/%Y")
    args = ["ingest", str(source), "--mapping", str(wrong), "--trust-date-formats", "--max-reject-share", "1"]
    result = runner.invoke(app, args)
    refused(result.output, result.exit_code, home / "store" / "po_lines.parquet", before)
    assert "this export would rewrite stored history: order_date on" in result.output
    assert "--allow-history-rewrite accepts it" in result.output


def test_reject_share_refusal(tmp_path: Path, home: Path, stored: tuple[Path, bytes]) -> None:
    _, before = stored
    bad = tmp_path / "bad.csv"
    frame = us_export(bad, n=40)
    frame.loc[:9, "Qty"] = "lots"
    frame.assign(PO=frame["PO"] + "-new").to_csv(bad, index=False)
    result = runner.invoke(app, ["ingest", str(bad), "--mapping", str(mapping_file(tmp_path, "%m/%d/%Y"))])
    refused(result.output, result.exit_code, home / "store" / "po_lines.parquet", before)
    assert "25% of 40 rows rejected (10 unparseable_number)" in result.output
    assert "--max-reject-share" in result.output


def test_newer_export_adding_deliveries_is_accepted_and_dry_run_writes_nothing(
    tmp_path: Path, home: Path
) -> None:
    mapping = mapping_file(tmp_path, "%m/%d/%Y")
    first = tmp_path / "open.csv"
    us_export(first, delivered=False)
    assert runner.invoke(app, ["ingest", str(first), "--mapping", str(mapping)]).exit_code == 0
    store = home / "store" / "po_lines.parquet"
    before = store.read_bytes()
    newer = tmp_path / "newer.csv"
    us_export(newer)
    dry = runner.invoke(app, ["ingest", str(newer), "--mapping", str(mapping), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would be: 400 lines (0 new, 400 updated, 0 unchanged)" in dry.output
    assert "stored lines whose field changes: delivered_date 400" in dry.output
    assert "this ingest would be committed" in dry.output
    assert store.read_bytes() == before
    assert not (home / "reports" / "ingest-newer.json").exists()
    result = runner.invoke(app, ["ingest", str(newer), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    assert read_history(store)["delivered_date"].notna().all()


def test_dry_run_of_a_refused_ingest_exits_with_the_refusal_code(
    tmp_path: Path, home: Path, stored: tuple[Path, bytes]
) -> None:
    source, before = stored
    result = runner.invoke(
        app, ["ingest", str(source), "--mapping", str(mapping_file(tmp_path, "%d/%m/%Y")), "--dry-run"]
    )
    assert result.exit_code == EXIT_INGEST_REFUSED
    assert "this ingest would be refused" in result.output
    assert (home / "store" / "po_lines.parquet").read_bytes() == before


ORDER_TIME = ["order_date", "supplier_id", "quantity_ordered"]
EDITS = st.lists(
    st.tuples(
        st.integers(0, 29),
        st.sampled_from(["order", "supplier", "qty", "promise", "deliver", "garbage", "new"]),
    ),
    max_size=25,
)


@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS, allow=st.booleans())
def test_no_mix_of_rows_changes_stored_order_time_facts_unless_allowed(
    tmp_path: Path, edits: list[tuple[int, str]], allow: bool
) -> None:
    settings = Settings(home=tmp_path / f"home-{abs(hash((tuple(edits), allow)))}")
    mapping = mapping_file(tmp_path, "%m/%d/%Y")
    source = tmp_path / "base.csv"
    base = us_export(source, n=30, delivered=False)
    run_ingest(source, settings, mapping_path=mapping)
    stored = read_history(settings.store_path).set_index(["po_id", "line_id"])[ORDER_TIME]
    frame = base.copy()
    for row, kind in edits:
        if kind == "order":
            frame.loc[row, "Ordered"] = "01/01/2022"
        elif kind == "supplier":
            frame.loc[row, "Vendor"] = "V-other"
        elif kind == "qty":
            frame.loc[row, "Qty"] = "999"
        elif kind == "promise":
            frame.loc[row, "Due"] = "12/31/2023"
        elif kind == "deliver":
            frame.loc[row, "Received"] = frame.loc[row, "Due"]
        elif kind == "garbage":
            frame.loc[row, "Ordered"] = "31/31/2022"
        else:
            frame.loc[len(frame)] = [f"NEW{row}", "10", "V1", "01/05/2023", "02/05/2023", "", "5"]
    newer = tmp_path / "newer.csv"
    frame.to_csv(newer, index=False)
    options = IngestOptions(max_reject_share=1.0, allow_history_rewrite=allow)
    with contextlib.suppress(IngestRefusedError):
        run_ingest(newer, settings, mapping_path=mapping, options=options)
    after = read_history(settings.store_path).set_index(["po_id", "line_id"])[ORDER_TIME].loc[stored.index]
    if not allow:
        pd.testing.assert_frame_equal(after, stored)

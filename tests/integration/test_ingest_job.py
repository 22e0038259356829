from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.cli_support import EXIT_LOCKED
from pipelines.ingest import run_ingest
from supplierrisk.ingest import IngestError, IngestOptions
from supplierrisk.settings import Settings
from supplierrisk.storage import LockedError, read_history, store_lock

ERP_MAPPING = """
# A German ERP export: semicolon separated, Latin-1, dd.mm.yyyy dates.
delimiter: ";"
encoding: latin-1
decimal: ","
thousands: "."
columns:
  po_id: Bestellnummer
  line_id: Position
  supplier_id: Lieferant
  supplier_country: Lieferland
  category: Warengruppe
  order_date: Bestelldatum
  promised_date: Liefertermin
  delivered_date: Wareneingang
  quantity_ordered: Menge
  quantity_received: WE-Menge
  unit_price: Preis
date_formats:
  order_date: "%d.%m.%Y"
  promised_date: "%d.%m.%Y"
  delivered_date: "%d.%m.%Y"
constants:
  currency: EUR
extra_columns:
  buyer_group: {column: Einkäufergruppe, type: categorical}
"""

# The sample export has 1 bad row of 4: above the default reject share, so these tests allow it.
LENIENT = IngestOptions(max_reject_share=0.5)

ERP_ROWS = [
    "Bestellnummer;Position;Lieferant;Lieferland;Warengruppe;Bestelldatum;Liefertermin;Wareneingang;Menge;WE-Menge;Preis;Einkäufergruppe",
    "4500001;10;Müller GmbH;DE;Schrauben;02.01.2024;16.01.2024;15.01.2024;1.000;1.000;0,25;E01",
    "4500001;20;Müller GmbH;DE;Schrauben;02.01.2024;16.01.2024;;500;;0,30;E01",
    "4500002;10;Brembo SpA;IT;Bremsen;03.01.2024;31.01.2024;05.02.2024;10;8;120,00;E02",
    "4500003;10;Brembo SpA;IT;Bremsen;03.01.2024;01.01.2024;;10;;120,00;E02",
]


@pytest.fixture
def erp_export(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "erp_export.csv"
    source.write_bytes("\r\n".join(ERP_ROWS).encode("latin-1"))
    mapping = tmp_path / "erp.yaml"
    mapping.write_text(ERP_MAPPING, encoding="utf-8")
    return source, mapping


def test_erp_export_through_mapping(erp_export: tuple[Path, Path], settings: Settings) -> None:
    source, mapping = erp_export
    report = run_ingest(source, settings, mapping_path=mapping, options=LENIENT)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (4, 3, 1)
    assert report.rejects_by_reason == {"promised_before_order": 1}
    store = read_history(settings.store_path).set_index(["po_id", "line_id"])
    assert store.loc[("4500001", "10"), "quantity_ordered"] == 1000.0
    assert store.loc[("4500001", "10"), "unit_price"] == 0.25
    assert store.loc[("4500001", "10"), "supplier_id"] == "Müller GmbH"
    assert pd.isna(store.loc[("4500001", "20"), "delivered_date"])
    assert store.loc[("4500002", "10"), "supplier_country"] == "IT"
    assert store.loc[("4500002", "10"), "extra_buyer_group"] == "E02"
    rejects = pd.read_csv(report.rejects_path, dtype=str)
    assert rejects.loc[0, "source_row"] == "4"
    assert rejects.loc[0, "Bestellnummer"] == "4500003"
    assert (settings.reports_dir / "erp_export.json").exists() or (
        settings.reports_dir / "ingest-erp_export.json"
    ).exists()


def test_reingest_is_idempotent_and_newer_export_upserts(
    erp_export: tuple[Path, Path], settings: Settings, tmp_path: Path
) -> None:
    source, mapping = erp_export
    run_ingest(source, settings, mapping_path=mapping, options=LENIENT)
    first = settings.store_path.read_bytes()
    again = run_ingest(source, settings, mapping_path=mapping, options=LENIENT)
    assert again.lines_unchanged == 3
    assert again.lines_inserted == again.lines_updated == 0
    assert settings.store_path.read_bytes() == first
    newer = tmp_path / "newer.csv"
    rows = [*ERP_ROWS[:2], ERP_ROWS[2].replace(";;500;;", ";20.01.2024;500;500;")]
    newer.write_bytes("\n".join(rows).encode("latin-1"))
    report = run_ingest(newer, settings, mapping_path=mapping, options=LENIENT)
    assert (report.lines_updated, report.lines_unchanged, report.store_lines) == (1, 1, 3)
    store = read_history(settings.store_path).set_index(["po_id", "line_id"])
    assert store.loc[("4500001", "20"), "delivered_date"] == pd.Timestamp("2024-01-20")


def test_crash_while_writing_leaves_previous_store(
    erp_export: tuple[Path, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source, mapping = erp_export
    run_ingest(source, settings, mapping_path=mapping, options=LENIENT)
    before = settings.store_path.read_bytes()

    def crash(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"half a parquet file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash)
    newer = tmp_path / "newer.csv"
    newer.write_bytes("\n".join([ERP_ROWS[0], ERP_ROWS[1].replace("4500001", "4500009")]).encode("latin-1"))
    with pytest.raises(OSError, match="disk full"):
        run_ingest(newer, settings, mapping_path=mapping, options=LENIENT)
    assert settings.store_path.read_bytes() == before
    # No temporary file is left; the lock file stays (it is empty while no ingest runs).
    assert sorted(p.name for p in settings.store_path.parent.iterdir()) == [".lock", "po_lines.parquet"]


def test_an_ingest_while_another_writes_the_store_fails_at_once_and_changes_nothing(
    erp_export: tuple[Path, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, mapping = erp_export
    run_ingest(source, settings, mapping_path=mapping, options=LENIENT)
    before = settings.store_path.read_bytes()
    with store_lock(settings.store_path):  # another ingest, mid-commit
        with pytest.raises(LockedError, match=r"another ingest is running \(lock .*\.lock held by pid \d+\)"):
            run_ingest(source, settings, mapping_path=mapping, options=LENIENT)
        monkeypatch.setenv("SUPPLIERRISK_HOME", str(settings.home))
        done = CliRunner().invoke(
            app, ["ingest", str(source), "--mapping", str(mapping), "--max-reject-share", "0.5"]
        )
        # A dry run plans against the store as it is and needs no lock.
        dry = run_ingest(source, settings, mapping_path=mapping, options=LENIENT, dry_run=True)
    assert done.exit_code == EXIT_LOCKED
    said = [x for x in done.output.splitlines() if not x.startswith("progress: ")]
    assert len(said) == 1
    assert said[0].startswith("error: another ingest is running")
    assert dry.outcome == "dry run"
    assert settings.store_path.read_bytes() == before
    run_ingest(source, settings, mapping_path=mapping, options=LENIENT)  # released: the next one runs


def test_mapping_or_preset_exactly_one(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="exactly one"):
        run_ingest(tmp_path / "x.csv", settings)


runner = CliRunner()


def test_cli_ingest_prints_summary(erp_export: tuple[Path, Path], home: Path) -> None:
    source, mapping = erp_export
    result = runner.invoke(
        app, ["ingest", str(source), "--mapping", str(mapping), "--max-reject-share", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert "read:     4 rows = 3 accepted + 1 rejected" in result.output
    assert "promised_before_order" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"Bestellnummer;Position\n", "header but no data rows"),
        (b"Bestellnummer;Position\n1;2\n", "column 'Lieferant' named by mapping entry 'columns.supplier_id'"),
    ],
)
def test_cli_user_errors_exit_2_without_traceback_or_store(
    erp_export: tuple[Path, Path], home: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    _, mapping = erp_export
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    result = runner.invoke(app, ["ingest", str(bad), "--mapping", str(mapping)])
    assert result.exit_code == 2
    assert message in result.output
    assert str(bad) in result.output
    assert "Traceback" not in result.output
    assert not (home / "store" / "po_lines.parquet").exists()


def test_every_subcommand_has_help() -> None:
    for command in ["ingest", "kpis", "synth", "demo"]:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "--help" in result.output


def test_progress_lines_off_a_terminal_and_none_with_quiet(
    erp_export: tuple[Path, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, mapping = erp_export
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(settings.home))
    args = ["ingest", str(source), "--mapping", str(mapping), "--max-reject-share", "0.5"]
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "progress: ingest erp_export.csv: started (0/3)" in shown.output
    assert "progress: ingest erp_export.csv: done 3/3 in " in shown.output
    quiet = CliRunner().invoke(app, ["--quiet", *args])
    assert quiet.exit_code == 0, quiet.output
    assert "progress:" not in quiet.output
    assert "3 accepted" in quiet.output

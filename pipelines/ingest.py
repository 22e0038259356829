"""Ingest job: read a source export, convert it, write rejects, upsert the store, write a report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from supplierrisk.ingest import (
    IngestError,
    IngestReport,
    get_preset,
    load_mapping,
    read_source,
    to_canonical,
    upsert_history,
)
from supplierrisk.settings import Settings
from supplierrisk.storage import read_history, write_csv, write_parquet, write_text


def _source_stem(source: Path) -> str:
    return source.name.split(".")[0] or "source"


def run_ingest(
    source: Path,
    settings: Settings,
    mapping_path: Path | None = None,
    preset: str | None = None,
) -> IngestReport:
    """Ingest one file into the store in the data home and return the report."""
    if (mapping_path is None) == (preset is None):
        raise IngestError("give exactly one of --mapping FILE or --preset NAME")
    derive: Callable[[pd.DataFrame], pd.DataFrame]
    if preset is not None:
        chosen = get_preset(preset)
        mapping, derive = chosen.mapping, chosen.derive
    else:
        assert mapping_path is not None  # noqa: S101 - narrowed by the check above
        mapping = load_mapping(mapping_path)

        def derive(raw: pd.DataFrame) -> pd.DataFrame:
            return raw

    mapping.check_required(str(source), provided=set())
    raw = read_source(source, mapping)
    conversion = to_canonical(derive(raw), mapping, str(source))
    merged, counts = upsert_history(read_history(settings.store_path), conversion.accepted)
    stem = _source_stem(source)
    rejects_path = settings.rejects_dir / f"{stem}.rejects.csv"
    # Rejects first, store last: the store's rename is the commit point of an ingest.
    write_csv(conversion.rejects, rejects_path)
    write_parquet(merged, settings.store_path)
    report = IngestReport(
        source=str(source),
        rows_read=conversion.rows_read,
        rows_accepted=conversion.rows_accepted,
        rows_rejected=conversion.rows_rejected,
        rejects_by_reason=conversion.rejects_by_reason(),
        lines_inserted=counts.inserted,
        lines_updated=counts.updated,
        lines_unchanged=counts.unchanged,
        store_lines=counts.store_rows,
        store_path=str(settings.store_path),
        rejects_path=str(rejects_path),
        notes=conversion.notes,
    )
    write_text(report.to_json(), settings.reports_dir / f"ingest-{stem}.json")
    return report

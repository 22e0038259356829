"""Ingest job: read a source export, plan the ingest, write rejects and report, then commit or refuse."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from supplierrisk.ingest import (
    COMMITTED,
    DRY_RUN,
    REFUSED,
    IngestError,
    IngestOptions,
    IngestRefusedError,
    IngestReport,
    get_preset,
    load_mapping,
    plan_ingest,
    read_source,
    to_canonical,
)
from supplierrisk.ingest.mapping import Mapping
from supplierrisk.ingest.plan import IngestPlan
from supplierrisk.ingest.reader import Source
from supplierrisk.ingest.validate import Conversion
from supplierrisk.progress import task
from supplierrisk.settings import Settings
from supplierrisk.storage import read_history, store_lock, write_csv, write_parquet, write_text


def _source_stem(source: Path) -> str:
    return source.name.split(".")[0] or "source"


def _mapping(
    mapping_path: Path | None, preset: str | None
) -> tuple[Mapping, Callable[[pd.DataFrame], pd.DataFrame]]:
    if (mapping_path is None) == (preset is None):
        raise IngestError("give exactly one of --mapping FILE or --preset NAME")
    if preset is not None:
        chosen = get_preset(preset)
        return chosen.mapping, chosen.derive
    assert mapping_path is not None  # noqa: S101 - narrowed by the check above
    return load_mapping(mapping_path), lambda raw: raw


def run_ingest(
    source: Path,
    settings: Settings,
    mapping_path: Path | None = None,
    preset: str | None = None,
    options: IngestOptions | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Ingest one file into the store; a refused run raises ``IngestRefusedError`` with its report.

    A dry run writes nothing and returns the report of what would happen. A real run
    plans and commits under the store's lock: a second ingest meanwhile fails at once
    (``LockedError``) and the store keeps one writer's whole result.
    """
    mapping, derive = _mapping(mapping_path, preset)
    mapping.check_required(str(source), provided=set())
    lock = contextlib.nullcontext() if dry_run else store_lock(settings.store_path)
    with task(f"ingest {source.name}", total=3) as step:
        read = read_source(source, mapping)
        step(detail=f"validating {len(read.frame):,} rows")
        conversion = to_canonical(derive(read.frame), mapping, str(source), excel=read.format == "excel")
        step(detail="planning against the store")
        with lock:
            report, plan = _plan_and_commit(read, conversion, source, settings, options, dry_run)
        step()
    if plan.refused and not dry_run:
        raise IngestRefusedError(report, [r.message for r in plan.refusals])
    return report


def _plan_and_commit(
    read: Source,
    conversion: Conversion,
    source: Path,
    settings: Settings,
    options: IngestOptions | None,
    dry_run: bool,
) -> tuple[IngestReport, IngestPlan]:
    """Plan against the store; unless a dry run, write rejects, the store (when accepted) and the report."""
    plan = plan_ingest(read, conversion, read_history(settings.store_path), options or IngestOptions())
    stem = _source_stem(source)
    rejects_path = settings.rejects_dir / f"{stem}.rejects.csv"
    outcome = DRY_RUN if dry_run else REFUSED if plan.refused else COMMITTED
    report = IngestReport.from_plan(plan, str(source), str(settings.store_path), str(rejects_path), outcome)
    if dry_run:
        return report, plan
    # Rejects first, store last: the store's rename is the commit point of an ingest.
    write_csv(read.locate(conversion.rejects), rejects_path)
    if not plan.refused:
        write_parquet(plan.upsert.merged, settings.store_path)
    write_text(report.to_json(), settings.reports_dir / f"ingest-{stem}.json")
    return report, plan

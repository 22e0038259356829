"""Publishing a batch: an immutable versioned folder, its results rows and the LATEST pointers.

Stages, under the batch lock: score and roll up (``compute_batch``), write the
files into a temporary folder, run the checks (drift, feedback, retrain policy:
injected, see ``supplierrisk.monitoring.checks``), write the manifest, publish the
folder with a rename, store the tables in the results database, point LATEST at
it, apply retention. A re-run of the same batch keeps the published files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from supplierrisk.batch import folders, results
from supplierrisk.batch.compute import TABLES, BatchTables, batch_id, compute_batch, manifest
from supplierrisk.kpis import kpi_params
from supplierrisk.logs import collected_warnings
from supplierrisk.progress import task
from supplierrisk.settings import Settings
from supplierrisk.storage import Fingerprint, data_fingerprint, write_parquet, write_text

Progress = Callable[[str, dict[str, Any]], None]
# The checks of a new batch, given its tables and temporary folder: the summary (written as
# drift.json) and its headline numbers (for the manifest).
Check = Callable[[BatchTables, Path], tuple[dict[str, Any], dict[str, float]]]
# Called after the stages "files", "publish" and "database": the crash tests stop the run there.
Pause = Callable[[str], None]


@dataclass(frozen=True)
class Champions:
    """The two models a batch scores with, and their registry records (name, version, run id)."""

    otd: Any
    disruption: Any
    models: dict[str, dict[str, str]]


@dataclass
class BatchReport:
    """What a batch run did."""

    batch_id: str
    folder: Path
    published: bool
    manifest: dict[str, Any]
    pruned: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    retrain: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def format_text(self) -> str:
        """A short summary for the terminal and logs."""
        m = self.manifest
        state = "published" if self.published else "identical to the batch already published (kept)"
        lines = [
            f"batch {self.batch_id} as of {m['as_of']}: {state}",
            f"  folder:   {self.folder}",
            f"  models:   otd v{m['models']['otd']['version']},"
            f" disruption v{m['models']['disruption']['version']}",
            f"  rows:     {m['rows_read']} read; scored {m['rows_scored']['open_lines']} open lines and"
            f" {m['rows_scored']['suppliers']} suppliers",
            "  skipped:  " + "; ".join(f"{n} {reason}" for reason, n in m["rows_skipped"].items()),
            "  seconds:  " + ", ".join(f"{k} {v:.1f}" for k, v in m["durations_seconds"].items()),
        ]
        if self.pruned:
            lines.append(f"  removed old batches: {', '.join(self.pruned)}")
        lines.extend(f"  note:     {note}" for note in m.get("notes", []))
        return "\n".join(lines)


def _write_files(folder: Path, tables: BatchTables) -> list[str]:
    names = []
    for name in TABLES:
        write_parquet(tables.tables[name], folder / f"{name}.parquet")
        names.append(f"{name}.parquet")
    # The scoring rows, kept so that later batches can compare their own with them (drift).
    for model, file_name in folders.FEATURES_FILES.items():
        write_parquet(tables.features[model].reset_index(drop=True), folder / file_name)
        names.append(file_name)
    return names


def _new_folder(
    tables: BatchTables,
    folder: Path,
    data_files: list[str],
    check: Check,
    pause: Pause,
    stamp: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, float], list[str]]:
    """Checks and manifest of a new batch in its temporary folder: the summary, its headline, warnings."""
    with collected_warnings() as caught:
        summary, headline = check(tables, folder)
    pause("files")
    files = folders.file_hashes(folder, data_files)
    content = manifest(
        tables,
        stamp["id"],
        stamp["models"],
        stamp["data"],
        stamp["started"],
        pd.Timestamp.now(tz="UTC"),
        files,
    )
    content["drift"] = headline
    write_text(json.dumps(content, indent=2, sort_keys=True, default=str), folder / folders.MANIFEST)
    return summary, headline, caught


def publish_batch(
    settings: Settings,
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    champions: Champions,
    check: Check,
    keep: int | None = None,
    progress: Progress | None = None,
    pause: Pause | None = None,
    fingerprint: Fingerprint | None = None,
) -> BatchReport:
    """Score ``history`` at ``as_of`` with the champions and publish the batch (see the module docstring).

    ``fingerprint`` is ``history``'s ``data_fingerprint`` when the caller has it (computed if not).
    """
    say = progress or (lambda stage, fields: None)
    stop = pause or (lambda stage: None)
    started = pd.Timestamp.now(tz="UTC")
    root = settings.batches_dir
    with folders.batch_lock(root), task("batch", total=4) as step:
        cleaned = folders.clean_temporary(root)
        params = kpi_params(settings)
        if fingerprint is None:
            fingerprint = data_fingerprint(history)
        identifier = batch_id(as_of, champions.models, str(fingerprint["sha256"]), params)
        say("start", {"batch_id": identifier, "as_of": as_of.date().isoformat(), "rows": len(history)})
        with collected_warnings() as caught:
            tables = compute_batch(history, as_of, champions.otd, champions.disruption, params)
        scored = {
            "open_lines": len(tables.tables["open_lines"]),
            "suppliers": len(tables.tables["suppliers"]),
        }
        say("scored", scored)
        step(detail="writing the batch files and running the checks")
        folder = folders.temporary_folder(root, identifier)
        data_files = _write_files(folder, tables)
        final = root / identifier
        if folders.same_data(final, folder, data_files):
            # The same batch is already published (a re-run): its files are identical, so its checks and
            # manifest stand; only the database and LATEST are (re)written below, in case a crash
            # interrupted the earlier run after publishing.
            shutil.rmtree(folder)
            published = False
            summary = json.loads((final / folders.DRIFT_JSON).read_text(encoding="utf-8"))
        else:
            stamp = {"id": identifier, "models": champions.models, "data": fingerprint, "started": started}
            summary, headline, check_warnings = _new_folder(tables, folder, data_files, check, stop, stamp)
            caught += check_warnings
            say("drift", {"alert": summary["alert"], **headline})
            published = folders.publish(root, identifier, folder, data_files)
            stop("publish")
        step(detail="storing the tables in the results database")
        content = folders.read_manifest(final)
        results.write_batch(settings.results_url, identifier, tables.tables, content)
        stop("database")
        results.set_latest(settings.results_url, identifier)
        folders.set_latest(root, identifier)
        step(detail="retention")
        say("published", {"batch_id": identifier, "folder": str(final), "new": published})
        pruned = folders.prune(root, keep) if keep is not None else []
        step()
    return BatchReport(identifier, final, published, content, pruned, cleaned, summary["retrain"], caught)

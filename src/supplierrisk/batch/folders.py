"""Published batches on disk: immutable folders, an atomic LATEST pointer, a lock, retention.

Layout under the batches folder::

    <batch_id>/            one folder per batch: *.parquet, drift.json, drift*.html, manifest.json
    LATEST                 the id of the latest complete batch (replaced atomically)
    .lock                  held (flock) while a batch runs
    .tmp-<id>-<pid>/       a batch being written; renamed to <batch_id>/ only when complete

A batch is written into a temporary folder and published with one ``rename``,
then LATEST is replaced; a crash or kill at any point leaves the previous batch
as the latest and no half batch visible. Leftover temporary folders are removed
by the next run (under the lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from supplierrisk.storage import LockedError, exclusive_lock, write_text

LATEST = "LATEST"
MANIFEST = "manifest.json"
DRIFT_JSON = "drift.json"
DRIFT_HTML = "drift.html"
DRIFT_SUPPLIERS_HTML = "drift_suppliers.html"
DRIFT_OTD_SUPPLIERS_HTML = "drift_otd_suppliers.html"
# Each model's scoring rows (features and supplier ids): later batches' drift reference.
FEATURES_FILES = {"otd": "drift_features_otd.parquet", "disruption": "drift_features_disruption.parquet"}
_LOCK = ".lock"
_TEMPORARY_PREFIXES = (".tmp-", ".old-")


def drift_html_name(model: str, unit: str) -> str:
    """The Evidently page of one model's features in one unit (line or supplier rows)."""
    if model == "disruption":
        return DRIFT_SUPPLIERS_HTML
    return DRIFT_HTML if unit == "line" else DRIFT_OTD_SUPPLIERS_HTML


class BatchLockedError(LockedError):
    """Another batch holds the lock."""


def batch_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the batch lock for the block; fail at once (no waiting) when another process holds it."""
    return exclusive_lock(root / _LOCK, "batch", BatchLockedError)


def clean_temporary(root: Path) -> list[str]:
    """Remove folders left by interrupted runs; call only while holding the lock."""
    removed = []
    if root.exists():
        for entry in root.iterdir():
            if entry.is_dir() and entry.name.startswith(_TEMPORARY_PREFIXES):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
    return sorted(removed)


def temporary_folder(root: Path, identifier: str) -> Path:
    """A fresh folder to write a batch into before publishing it."""
    folder = root / f".tmp-{identifier}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def file_hashes(folder: Path, names: list[str]) -> dict[str, str]:
    """SHA-256 of the named files in ``folder``."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in sorted(names)}


def _sync_folder(folder: Path) -> None:
    for entry in folder.iterdir():
        with entry.open("rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def same_data(published: Path, folder: Path, data_files: list[str]) -> bool:
    """Whether a published batch folder holds exactly the data files just written to ``folder``."""
    if not (published / MANIFEST).exists():
        return False
    if not all((published / name).exists() for name in data_files):
        return False
    return file_hashes(published, data_files) == file_hashes(folder, data_files)


def publish(root: Path, identifier: str, folder: Path, data_files: list[str]) -> bool:
    """Move a complete ``folder`` to ``root/identifier``; return False when an identical batch exists.

    An existing batch with the same id and identical data files is kept as it is (a
    re-run of the same as-of, models and data). A different one is swapped out by two
    renames, never deleted before the new one is in place.
    """
    _sync_folder(folder)
    final = root / identifier
    if final.exists():
        if same_data(final, folder, data_files):
            shutil.rmtree(folder)
            return False
        retired = root / f".old-{identifier}-{os.getpid()}"
        final.rename(retired)
        folder.rename(final)
        shutil.rmtree(retired, ignore_errors=True)
        return True
    folder.rename(final)
    return True


def set_latest(root: Path, identifier: str) -> None:
    """Point LATEST at a published batch (atomic replace)."""
    if not (root / identifier / MANIFEST).exists():
        raise FileNotFoundError(f"batch {identifier} is not published under {root}")
    write_text(identifier + "\n", root / LATEST)


def latest_batch(root: Path) -> Path | None:
    """The folder of the latest complete batch, or None before the first one."""
    pointer = root / LATEST
    if not pointer.exists():
        return None
    folder = root / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / MANIFEST).exists() else None


def read_manifest(folder: Path) -> dict[str, Any]:
    """A batch's manifest."""
    return dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))


def list_batches(root: Path) -> list[dict[str, Any]]:
    """Manifests of every published batch, by as-of day then finish time (oldest first)."""
    if not root.exists():
        return []
    manifests = [
        read_manifest(entry)
        for entry in root.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / MANIFEST).exists()
    ]
    return sorted(manifests, key=lambda m: (m["as_of"], m["finished_at"], m["batch_id"]))


def prune(root: Path, keep: int) -> list[str]:
    """Delete all but the ``keep`` batches with the latest as-of days; the LATEST one is always kept."""
    if keep < 1:
        raise ValueError("--keep must be at least 1")
    latest = latest_batch(root)
    batches = [m["batch_id"] for m in list_batches(root)]
    doomed = [b for b in batches[: max(0, len(batches) - keep)] if latest is None or b != latest.name]
    for identifier in doomed:
        shutil.rmtree(root / identifier, ignore_errors=True)
    return doomed

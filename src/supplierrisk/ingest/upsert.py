"""Upsert newly ingested lines into the canonical store by (po_id, line_id)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from supplierrisk.schema import KEY_FIELDS, conform


@dataclass(frozen=True)
class UpsertCounts:
    """How an upsert changed the store."""

    inserted: int
    updated: int
    unchanged: int
    store_rows: int


def upsert_history(existing: pd.DataFrame, incoming: pd.DataFrame) -> tuple[pd.DataFrame, UpsertCounts]:
    """Replace existing lines by incoming ones with the same key and add new lines.

    The result is sorted by key, so ingesting the same file twice gives the same store.
    """
    keys = list(KEY_FIELDS)
    incoming = conform(incoming)
    existing = conform(existing)
    old_keys = existing.set_index(keys).index
    new_keys = incoming.set_index(keys).index
    present = new_keys.isin(old_keys)
    inserted = int((~present).sum())
    unchanged = 0
    if present.any():
        columns = sorted(set(existing.columns) | set(incoming.columns))
        before = existing.reindex(columns=columns).set_index(keys)
        after = incoming.reindex(columns=columns).set_index(keys).loc[new_keys[present]]
        before = before.loc[after.index]
        unchanged = int(sum(_rows_equal(before, after)))
    updated = int(present.sum()) - unchanged
    kept = existing.loc[~old_keys.isin(new_keys)]
    merged = pd.concat([kept, incoming], ignore_index=True)
    merged = merged.sort_values(keys, kind="mergesort").reset_index(drop=True)
    merged = conform(merged)
    return merged, UpsertCounts(inserted, updated, unchanged, len(merged))


def _rows_equal(before: pd.DataFrame, after: pd.DataFrame) -> list[bool]:
    equal = (before.to_numpy(dtype=object) == after.to_numpy(dtype=object)) | (
        before.isna().to_numpy() & after.isna().to_numpy()
    )
    return [bool(x) for x in equal.all(axis=1)]

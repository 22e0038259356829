"""Upsert newly ingested lines into the canonical store by (po_id, line_id), and say what would change.

``plan_upsert`` computes the merged store without writing it, with every change
counted by field, so the ingest can decide before it commits:

- a line already stored keeps the fields this source says nothing about (an
  export without ``category`` does not erase the stored categories);
- ``promised_date_first`` keeps the first promise ever stored for a line, so OTD
  can be judged against the original promise as well as the last one;
- changes to what was fixed when the line was ordered (``order_date``,
  ``supplier_id``, ``quantity_ordered``), recorded deliveries that disappear, and
  moved promises are listed with examples: the ingest refuses the first two, and
  the last beyond a small share (see ``supplierrisk.ingest.plan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.schema import KEY_FIELDS, PROMISED_DATE_FIRST, conform

# Facts fixed when a line is ordered: a newer export of the same line never changes them.
ORDER_TIME_FIELDS: Final = ("order_date", "supplier_id", "quantity_ordered")
EXAMPLES: Final = 3


@dataclass(frozen=True)
class FieldChange:
    """How many stored lines a change touches, with a few examples (key, before, after)."""

    count: int
    examples: list[tuple[str, str, str]] = field(default_factory=list)

    def describe(self, name: str) -> str:
        """``name``: count and examples in one phrase."""
        shown = "; ".join(f"{key} {before} -> {after}" for key, before, after in self.examples)
        return f"{name} on {self.count} stored lines (e.g. {shown})"


@dataclass(frozen=True)
class UpsertPlan:
    """The store after the upsert and what it changes."""

    merged: pd.DataFrame
    inserted: int
    updated: int
    unchanged: int
    matched: int
    field_changes: dict[str, int]
    order_time_changes: dict[str, FieldChange]
    deliveries_cleared: FieldChange
    promises_moved: FieldChange

    @property
    def store_rows(self) -> int:
        """Lines in the store after the upsert."""
        return len(self.merged)


def _equal(before: pd.Series, after: pd.Series) -> np.ndarray:
    same = before.to_numpy(dtype=object) == after.to_numpy(dtype=object)
    both_missing = before.isna().to_numpy() & after.isna().to_numpy()
    return np.asarray(same | both_missing, dtype=bool)


def _shown(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "(empty)"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _change(mask: np.ndarray, keys: pd.DataFrame, before: pd.Series, after: pd.Series) -> FieldChange:
    rows = np.flatnonzero(mask)[:EXAMPLES]
    examples = [
        (
            f"{keys['po_id'].iat[i]}/{keys['line_id'].iat[i]}",
            _shown(before.iat[i]),
            _shown(after.iat[i]),
        )
        for i in rows
    ]
    return FieldChange(int(mask.sum()), examples)


def _overlay(before: pd.DataFrame, incoming: pd.DataFrame, provided: tuple[str, ...]) -> pd.DataFrame:
    """Stored lines with the fields this source provides taken from it."""
    after = before.copy()
    for name in incoming.columns:
        if name in KEY_FIELDS or name == PROMISED_DATE_FIRST:
            continue
        if name in provided or name not in after.columns:
            after[name] = incoming[name].to_numpy()
    first = before[PROMISED_DATE_FIRST] if PROMISED_DATE_FIRST in before else before["promised_date"]
    after[PROMISED_DATE_FIRST] = first.fillna(before["promised_date"]).to_numpy()
    return after


def plan_upsert(
    existing: pd.DataFrame, incoming: pd.DataFrame, provided: tuple[str, ...] | None = None
) -> UpsertPlan:
    """The store after upserting ``incoming`` (``provided``: the fields it has; default all its columns).

    The result is sorted by key, so ingesting the same file twice gives the same store.
    """
    keys = list(KEY_FIELDS)
    incoming = conform(incoming)
    existing = conform(existing)
    provided = tuple(incoming.columns) if provided is None else provided
    old_keys = pd.MultiIndex.from_frame(existing[keys])
    new_keys = pd.MultiIndex.from_frame(incoming[keys])
    present = new_keys.isin(old_keys)
    before = existing.iloc[old_keys.get_indexer(new_keys[present])].reset_index(drop=True)
    after = _overlay(before, incoming.loc[present].reset_index(drop=True), provided)
    fresh = incoming.loc[~present].copy()
    fresh[PROMISED_DATE_FIRST] = fresh["promised_date"]
    columns = list(dict.fromkeys([*after.columns, *fresh.columns]))
    before = before.reindex(columns=columns)
    after = after.reindex(columns=columns)
    diffs = {name: ~_equal(before[name], after[name]) for name in columns if name not in keys}
    changed = np.zeros(len(after), dtype=bool)
    for mask in diffs.values():
        changed |= mask
    key_frame = after[keys]
    order_time = {
        name: _change(diffs[name], key_frame, before[name], after[name])
        for name in ORDER_TIME_FIELDS
        if name in diffs and diffs[name].any()
    }
    cleared = before["delivered_date"].notna().to_numpy() & after["delivered_date"].isna().to_numpy()
    moved = diffs.get("promised_date", np.zeros(len(after), dtype=bool))
    kept = existing.loc[~old_keys.isin(new_keys)]
    merged = pd.concat([kept, after, fresh], ignore_index=True)
    merged = conform(merged.sort_values(keys, kind="mergesort").reset_index(drop=True))
    return UpsertPlan(
        merged=merged,
        inserted=int((~present).sum()),
        updated=int(changed.sum()),
        unchanged=int((~changed).sum()),
        matched=int(present.sum()),
        field_changes={name: int(mask.sum()) for name, mask in diffs.items() if mask.any()},
        order_time_changes=order_time,
        deliveries_cleared=_change(cleared, key_frame, before["delivered_date"], after["delivered_date"]),
        promises_moved=_change(moved, key_frame, before["promised_date"], after["promised_date"]),
    )


@dataclass(frozen=True)
class UpsertCounts:
    """How an upsert changed the store."""

    inserted: int
    updated: int
    unchanged: int
    store_rows: int


def upsert_history(existing: pd.DataFrame, incoming: pd.DataFrame) -> tuple[pd.DataFrame, UpsertCounts]:
    """The merged store and its counts (``plan_upsert`` without the change details)."""
    plan = plan_upsert(existing, incoming)
    return plan.merged, UpsertCounts(plan.inserted, plan.updated, plan.unchanged, plan.store_rows)

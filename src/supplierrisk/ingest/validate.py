"""Turn a raw source frame into canonical PO lines, rejecting bad rows with their reasons.

Each rejected row keeps its 1-based ``source_row`` (data rows, header excluded),
the first failing ``field``, a ``reason`` code, a human ``detail`` and every
problem found on that row, plus the original cell values: nothing is lost.
``rows_read == rows_accepted + rows_rejected`` always holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import pandas as pd

from supplierrisk.ingest.cells import (
    control_character_mask,
    parse_numbers,
    strip_control_characters,
    to_text,
    visible,
)
from supplierrisk.ingest.dates import DateFormatFinding, parse_dates
from supplierrisk.ingest.errors import IngestError
from supplierrisk.ingest.mapping import Mapping
from supplierrisk.schema import (
    CANONICAL_FIELDS,
    DATE_FIELDS,
    EXTRA_PREFIX,
    KEY_FIELDS,
    NUMERIC_FIELDS,
    ORDER_DATE_SOURCE,
    REQUIRED_FIELDS,
    conform,
)

REJECT_COLUMNS: Final = ("source_row", "field", "reason", "detail", "problems")


@dataclass
class Conversion:
    """The result of converting one source: accepted lines, rejected rows, notes and findings."""

    accepted: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    rows_accepted: int
    notes: list[str] = field(default_factory=list)
    # Canonical and extra fields this source gives values for (the rest it says nothing about).
    provided: tuple[str, ...] = ()
    date_findings: list[DateFormatFinding] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        """Number of source rows rejected."""
        return len(self.rejects)

    def rejects_by_reason(self) -> dict[str, int]:
        """Rejected rows counted by their first reason code."""
        if self.rejects.empty:
            return {}
        counts = self.rejects["reason"].value_counts().sort_index()
        return {str(k): int(v) for k, v in counts.items()}


# A problem's detail: one text, one per row, or built from the bad rows (messages cost time at scale).
Detail: TypeAlias = pd.Series | str | Callable[[pd.Index], "pd.Series | str"]


class _Problems:
    """Collects (row, field, reason, detail) problems found while parsing."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, rows: pd.Index, field_name: str, reason: str, detail: Detail) -> None:
        """Record ``rows``; a callable ``detail`` is given the rows and called only when there are some."""
        if len(rows) == 0:
            return
        if callable(detail):
            detail = detail(rows)
        details = detail.loc[rows].astype(str) if isinstance(detail, pd.Series) else detail
        self._parts.append(
            pd.DataFrame({"row": rows, "field": field_name, "reason": reason, "detail": details})
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(columns=["row", "field", "reason", "detail"])
        return pd.concat(self._parts, ignore_index=True)


def _parse_dates(
    series: pd.Series,
    formats: list[str],
    missing: frozenset[str],
    name: str,
    problems: _Problems,
    excel: bool,
) -> tuple[pd.Series, DateFormatFinding | None]:
    result = parse_dates(series, formats, missing, name, excel)
    problems.add(result.bad, name, "unparseable_date", result.detail)
    return result.values, result.finding


def _parse_numbers(
    series: pd.Series, mapping: Mapping, missing: frozenset[str], name: str, problems: _Problems
) -> pd.Series:
    values, bad = parse_numbers(series, missing, mapping.decimal, mapping.thousands)

    def detail(rows: pd.Index) -> pd.Series:
        return "'" + series.loc[rows].astype(object).map(visible) + "' is not a number"

    problems.add(series.index[bad], name, "unparseable_number", detail)
    return values


def _check_columns_exist(raw: pd.DataFrame, mapping: Mapping, source: str) -> None:
    entries = [(f"columns.{name}", column) for name, column in mapping.columns.items()]
    entries += [(f"extra_columns.{name}", extra.column) for name, extra in mapping.extra_columns.items()]
    for entry, column in entries:
        if column not in raw.columns:
            raise IngestError(
                f"{source}: column '{column}' named by mapping entry '{entry}' is not in the "
                f"file (columns: {', '.join(map(str, raw.columns[:30]))})"
            )


def _convert_fields(
    raw: pd.DataFrame, mapping: Mapping, problems: _Problems, excel: bool
) -> tuple[pd.DataFrame, list[DateFormatFinding]]:
    """Canonical and extra fields from the mapped columns and constants."""
    missing = mapping.missing_tokens()
    out = pd.DataFrame(index=raw.index)
    findings: list[DateFormatFinding] = []
    for name in CANONICAL_FIELDS:
        if name in mapping.constants:
            out[name] = str(mapping.constants[name])
            continue
        if name not in mapping.columns:
            continue
        series = raw[mapping.columns[name]]
        if name in DATE_FIELDS:
            out[name], finding = _parse_dates(
                series, mapping.formats_for(name), missing, name, problems, excel
            )
            findings += [finding] if finding is not None else []
        elif name in NUMERIC_FIELDS:
            out[name] = _parse_numbers(series, mapping, missing, name, problems)
        else:
            out[name] = to_text(series, missing)
    for extra_name, extra in mapping.extra_columns.items():
        series = raw[extra.column]
        target = EXTRA_PREFIX + extra_name
        if extra.type == "numeric":
            out[target] = _parse_numbers(series, mapping, missing, target, problems)
        else:
            out[target] = to_text(series, missing)
    return out, findings


def _check_text(out: pd.DataFrame, mapping: Mapping, problems: _Problems, notes: list[str]) -> None:
    """Reject (or strip, if the mapping says so) control characters and undecodable bytes in text."""
    stripped = 0
    for name in out.columns:
        if name in DATE_FIELDS or name in NUMERIC_FIELDS or out[name].dtype != object:
            continue
        control, undecodable = control_character_mask(out[name])
        if not (control.any() or undecodable.any()):
            continue
        if mapping.control_characters == "strip":
            stripped += int((control | undecodable).sum())
            out[name] = strip_control_characters(out[name])
            continue
        shown = out[name].map(visible)
        rows = out.index[control & ~undecodable]
        problems.add(rows, name, "control_characters", name + " '" + shown + "' holds control characters")
        rows = out.index[undecodable]
        problems.add(
            rows, name, "undecodable_bytes", name + " '" + shown + "' holds bytes that are not UTF-8"
        )
    if stripped:
        notes.append(f"control characters or undecodable bytes stripped from {stripped} cells")


def to_canonical(raw: pd.DataFrame, mapping: Mapping, source: str, excel: bool = False) -> Conversion:
    """Convert ``raw`` (as read) to canonical lines; bad rows go to rejects with reasons.

    ``excel`` says the cells come from a workbook, where a number in a date field is a serial date.
    """
    problems = _Problems()
    notes: list[str] = []
    _check_columns_exist(raw, mapping, source)
    out, findings = _convert_fields(raw, mapping, problems, excel)
    provided = tuple(out.columns)
    unmapped = [f for f in CANONICAL_FIELDS if f not in out.columns]
    if unmapped:
        notes.append(f"fields not in this source (left empty, KPIs needing them are skipped): {unmapped}")
    if ORDER_DATE_SOURCE in raw.columns:
        out[ORDER_DATE_SOURCE] = raw[ORDER_DATE_SOURCE].astype(object)
    elif "order_date" in mapping.columns:
        out[ORDER_DATE_SOURCE] = "source"
    if "line_id" not in out.columns:
        # Without a line number the key is the row's position within its PO in file order.
        out["line_id"] = (out.groupby("po_id", sort=False, dropna=False).cumcount() + 1).astype(str)
        notes.append("line_id not mapped: numbered 1, 2, ... within each po_id in file order")
    _check_text(out, mapping, problems, notes)
    _check_rows(out, problems)
    accepted, rejects = _split(raw, out, problems.frame(), mapping, notes)
    return Conversion(
        accepted=accepted,
        rejects=rejects,
        rows_read=len(raw),
        rows_accepted=len(raw) - len(rejects),
        notes=notes,
        provided=tuple(
            dict.fromkeys([*provided, *([ORDER_DATE_SOURCE] if ORDER_DATE_SOURCE in out else [])])
        ),
        date_findings=findings,
    )


def _check_rows(out: pd.DataFrame, problems: _Problems) -> None:
    for name in REQUIRED_FIELDS:
        if name not in out.columns:
            continue
        already = set(problems.frame().query("field == @name")["row"]) if name in DATE_FIELDS else set()
        empty = out.index[out[name].isna() & ~out.index.isin(list(already))]
        problems.add(empty, name, "missing_required", f"required field {name} is empty")
    for later, word in (("promised_date", "promised"), ("delivered_date", "delivered")):
        if {"order_date", later} <= set(out.columns):
            bad = out.index[out[later] < out["order_date"]]
            problems.add(bad, later, f"{word}_before_order", _before_order(out, later, word))
    for name in NUMERIC_FIELDS:
        if name in out.columns:
            bad = out.index[out[name] < 0]
            problems.add(bad, name, "negative_value", _negative(out, name))
    if {"quantity_rejected", "quantity_received"} <= set(out.columns):
        bad = out.index[out["quantity_rejected"] > out["quantity_received"]]
        problems.add(bad, "quantity_rejected", "rejected_exceeds_received", "more rejected than received")


def _before_order(out: pd.DataFrame, later: str, word: str) -> Callable[[pd.Index], pd.Series]:
    def detail(rows: pd.Index) -> pd.Series:
        bad = out.loc[rows]
        return word + " " + bad[later].astype(str) + " is before order " + bad["order_date"].astype(str)

    return detail


def _negative(out: pd.DataFrame, name: str) -> Callable[[pd.Index], pd.Series]:
    def detail(rows: pd.Index) -> pd.Series:
        return name + " is negative (" + out.loc[rows, name].astype(str) + ")"

    return detail


def _aggregate_receipts(lines: pd.DataFrame) -> pd.DataFrame:
    """Fold several receipt rows of one line into one: last receipt date, summed quantities."""
    keys = list(KEY_FIELDS)
    grouped = lines.groupby(keys, sort=False, dropna=False)
    first = grouped.first()
    for name in ("quantity_received", "quantity_rejected"):
        if name in lines.columns:
            summed = grouped[name].sum(min_count=1)
            first[name] = summed
    if "delivered_date" in lines.columns:
        first["delivered_date"] = grouped["delivered_date"].max()
    return first.reset_index()


def _split(
    raw: pd.DataFrame, out: pd.DataFrame, found: pd.DataFrame, mapping: Mapping, notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    bad_rows = set(found["row"].tolist())
    good = out.loc[~out.index.isin(list(bad_rows))]
    if mapping.receipts == "reject_duplicates":
        dup = good.duplicated(list(KEY_FIELDS), keep="first")
        if dup.any():
            first_row = good.reset_index().groupby(list(KEY_FIELDS), dropna=False)["index"].transform("min")
            first_row.index = good.index
            dup_rows = good.index[dup]
            detail = (
                "duplicate (po_id, line_id) = ("
                + good["po_id"].astype(str)
                + ", "
                + good["line_id"].astype(str)
                + "), first seen at source row "
                + (first_row + 1).astype(str)
            )
            extra = pd.DataFrame(
                {
                    "row": dup_rows,
                    "field": "line_id",
                    "reason": "duplicate_key",
                    "detail": detail.loc[dup_rows],
                }
            )
            found = pd.concat([found, extra], ignore_index=True)
            good = good.loc[~dup]
    accepted_rows = len(good)
    if mapping.receipts == "aggregate":
        good = _aggregate_receipts(good)
        merged = accepted_rows - len(good)
        if merged:
            notes.append(
                f"{merged} receipt rows merged into their lines (last receipt date, summed quantities)"
            )
    rejects = _rejects_frame(raw, found)
    accepted = conform(good.reset_index(drop=True))
    return accepted, rejects


def _rejects_frame(raw: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    if found.empty:
        return pd.DataFrame(columns=[*REJECT_COLUMNS, *map(str, raw.columns)])
    found = found.astype({"row": "int64"})
    joined = (
        found.groupby("row", sort=True)
        .apply(lambda g: "; ".join(g["field"] + ": " + g["reason"]), include_groups=False)
        .rename("problems")
    )
    first = found.drop_duplicates("row", keep="first").set_index("row").sort_index()
    summary = first.join(joined)
    summary.insert(0, "source_row", summary.index + 1)
    original = raw.loc[summary.index].astype(object)
    original.columns = [str(c) for c in original.columns]
    return pd.concat([summary.reset_index(drop=True), original.reset_index(drop=True)], axis=1)

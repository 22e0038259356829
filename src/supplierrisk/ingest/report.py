"""The ingest report: what was read and how, what was accepted and rejected, what the store would become."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from supplierrisk.ingest.plan import IngestPlan

# What the report says the run did.
COMMITTED = "committed"
REFUSED = "refused"
DRY_RUN = "dry run"


@dataclass(frozen=True)
class IngestReport:
    """Summary of one ingest; ``rows_read == rows_accepted + rows_rejected``."""

    source: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: dict[str, int]
    lines_inserted: int
    lines_updated: int
    lines_unchanged: int
    store_lines: int
    store_path: str
    rejects_path: str | None
    notes: list[str] = field(default_factory=list)
    read_as: str = ""
    field_changes: dict[str, int] = field(default_factory=dict)
    refusals: list[dict[str, str]] = field(default_factory=list)
    outcome: str = COMMITTED

    def __post_init__(self) -> None:
        if self.rows_read != self.rows_accepted + self.rows_rejected:
            raise AssertionError(
                f"ingest lost rows: read {self.rows_read} != accepted {self.rows_accepted} "
                f"+ rejected {self.rows_rejected}"
            )

    @classmethod
    def from_plan(
        cls, plan: IngestPlan, source: str, store_path: str, rejects_path: str | None, outcome: str
    ) -> IngestReport:
        """The report of a plan, with what was done with it (committed, refused or a dry run)."""
        conversion, upsert = plan.conversion, plan.upsert
        return cls(
            source=source,
            rows_read=conversion.rows_read,
            rows_accepted=conversion.rows_accepted,
            rows_rejected=conversion.rows_rejected,
            rejects_by_reason=conversion.rejects_by_reason(),
            lines_inserted=upsert.inserted,
            lines_updated=upsert.updated,
            lines_unchanged=upsert.unchanged,
            store_lines=upsert.store_rows,
            store_path=store_path,
            rejects_path=rejects_path,
            notes=[*plan.source.notes, *conversion.notes],
            read_as=plan.source.describe(),
            field_changes=dict(sorted(upsert.field_changes.items())),
            refusals=[{"check": r.check, "message": r.message} for r in plan.refusals],
            outcome=outcome,
        )

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def format_text(self) -> str:
        """A short human summary for the terminal."""
        store_verb = {COMMITTED: "store:   ", REFUSED: "not written:", DRY_RUN: "would be:"}[self.outcome]
        lines = [
            f"source:   {self.source} ({self.read_as})" if self.read_as else f"source:   {self.source}",
            f"read:     {self.rows_read} rows = {self.rows_accepted} accepted"
            f" + {self.rows_rejected} rejected",
        ]
        for reason, count in sorted(self.rejects_by_reason.items(), key=lambda kv: -kv[1]):
            lines.append(f"  rejected {count:>6}  {reason}")
        lines.append(
            f"{store_verb} {self.store_lines} lines ({self.lines_inserted} new,"
            f" {self.lines_updated} updated, {self.lines_unchanged} unchanged) -> {self.store_path}"
        )
        if self.field_changes:
            changes = ", ".join(f"{name} {count}" for name, count in self.field_changes.items())
            lines.append(f"changes:  stored lines whose field changes: {changes}")
        if self.rejects_path:
            lines.append(f"rejects:  {self.rejects_path}")
        lines.extend(f"note:     {note}" for note in self.notes)
        lines.extend(f"REFUSED:  {r['message']}" for r in self.refusals)
        if self.outcome == DRY_RUN:
            verdict = "would be refused" if self.refusals else "would be committed"
            lines.append(f"dry run:  nothing written; this ingest {verdict}")
        return "\n".join(lines)

"""The ingest report: what was read, accepted and rejected, and what changed in the store."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


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

    def __post_init__(self) -> None:
        if self.rows_read != self.rows_accepted + self.rows_rejected:
            raise AssertionError(
                f"ingest lost rows: read {self.rows_read} != accepted {self.rows_accepted} "
                f"+ rejected {self.rows_rejected}"
            )

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def format_text(self) -> str:
        """A short human summary for the terminal."""
        lines = [
            f"source:   {self.source}",
            f"read:     {self.rows_read} rows = {self.rows_accepted} accepted"
            f" + {self.rows_rejected} rejected",
        ]
        for reason, count in sorted(self.rejects_by_reason.items(), key=lambda kv: -kv[1]):
            lines.append(f"  rejected {count:>6}  {reason}")
        lines.append(
            f"store:    {self.store_lines} lines ({self.lines_inserted} new, {self.lines_updated} updated, "
            f"{self.lines_unchanged} unchanged) -> {self.store_path}"
        )
        if self.rejects_path:
            lines.append(f"rejects:  {self.rejects_path}")
        lines.extend(f"note:     {note}" for note in self.notes)
        return "\n".join(lines)

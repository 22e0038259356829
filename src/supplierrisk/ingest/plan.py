"""The ingest plan: the whole outcome of an ingest, computed before anything is written, and its verdict.

An ingest can only make the store better. The plan holds what the source gives
(accepted and rejected rows by reason), what the store would become (new,
updated and unchanged lines, and which fields change), and the checks that
refuse a suspicious run with the store untouched:

- ``reject_share``: more rows rejected than ``max_reject_share`` of those read;
- ``date_format``: a date field whose format looks day/month swapped
  (``supplierrisk.ingest.dates``), unless ``trust_date_formats``;
- ``history_rewrite``: stored lines whose order-time facts would change, whose
  recorded delivery would disappear, or whose promised date would move on more
  than ``max_promise_change_share`` of the matched lines (and at least
  ``MIN_PROMISES_MOVED`` of them), unless ``allow_history_rewrite``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from supplierrisk.ingest.reader import Source
from supplierrisk.ingest.upsert import UpsertPlan, plan_upsert
from supplierrisk.ingest.validate import Conversion

# A few re-confirmed promises are normal in a newer export; a wrong mapping moves most of them.
MIN_PROMISES_MOVED: Final = 3


@dataclass(frozen=True)
class IngestOptions:
    """The thresholds and overrides of the refusal checks."""

    max_reject_share: float = 0.05
    max_promise_change_share: float = 0.10
    allow_history_rewrite: bool = False
    trust_date_formats: bool = False

    def __post_init__(self) -> None:
        for name in ("max_reject_share", "max_promise_change_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1, not {value}")


@dataclass(frozen=True)
class Refusal:
    """Why a run is refused, with the fix, in one line."""

    check: str
    message: str


@dataclass
class IngestPlan:
    """What an ingest would do, and whether it may."""

    source: Source
    conversion: Conversion
    upsert: UpsertPlan
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """True when a check refuses the run."""
        return bool(self.refusals)


def _reject_share(conversion: Conversion, options: IngestOptions) -> Refusal | None:
    if conversion.rows_read == 0:
        return None
    share = conversion.rows_rejected / conversion.rows_read
    if share <= options.max_reject_share:
        return None
    reasons = sorted(conversion.rejects_by_reason().items(), key=lambda kv: -kv[1])
    top = ", ".join(f"{count} {reason}" for reason, count in reasons[:3])
    return Refusal(
        "reject_share",
        f"{share:.0%} of {conversion.rows_read} rows rejected ({top}), more than --max-reject-share"
        f" {options.max_reject_share:g}: see the rejects file, fix the mapping, or raise the limit",
    )


def _history_rewrite(upsert: UpsertPlan, options: IngestOptions) -> list[Refusal]:
    if options.allow_history_rewrite:
        return []
    problems = [change.describe(name) for name, change in upsert.order_time_changes.items()]
    if upsert.deliveries_cleared.count:
        problems.append(upsert.deliveries_cleared.describe("delivered_date cleared"))
    moved = upsert.promises_moved.count
    if moved >= MIN_PROMISES_MOVED and moved > options.max_promise_change_share * upsert.matched:
        share = moved / upsert.matched
        problems.append(upsert.promises_moved.describe(f"promised_date moved ({share:.0%} of matched lines)"))
    if not problems:
        return []
    return [
        Refusal(
            "history_rewrite",
            "this export would rewrite stored history: "
            + "; ".join(problems)
            + ". Check the mapping (date formats, columns); --allow-history-rewrite accepts it",
        )
    ]


def plan_ingest(
    source: Source, conversion: Conversion, existing: pd.DataFrame, options: IngestOptions
) -> IngestPlan:
    """The full outcome of ingesting ``conversion`` into ``existing``, and the checks' verdicts."""
    upsert = plan_upsert(existing, conversion.accepted, conversion.provided)
    refusals: list[Refusal] = []
    if not options.trust_date_formats:
        refusals += [Refusal("date_format", finding.message()) for finding in conversion.date_findings]
    rejected = _reject_share(conversion, options)
    if rejected is not None:
        refusals.append(rejected)
    refusals += _history_rewrite(upsert, options)
    return IngestPlan(source, conversion, upsert, refusals)

"""KPI job: read the store, compute scorecards as of a date, optionally score them."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pandas as pd

from supplierrisk.features import resolve_as_of
from supplierrisk.kpis import KpiResult, compute_kpis, kpi_params
from supplierrisk.scorecard import load_scorecard_config, score_suppliers
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store

BY_CHOICES: dict[str, list[str]] = {
    "supplier": ["supplier_id"],
    "category": ["category"],
    "supplier,category": ["supplier_id", "category"],
}


def default_scorecard_path() -> Path:
    """The scorecard YAML shipped with the package."""
    return Path(str(resources.files("supplierrisk") / "config" / "scorecard.yaml"))


def run_kpis(
    settings: Settings,
    as_of: pd.Timestamp | None,
    window_days: int,
    by: str,
    scorecard_path: Path | None = None,
    history: pd.DataFrame | None = None,
    announce: Callable[[str], None] | None = None,
) -> KpiResult:
    """Compute KPI scorecards as of ``as_of`` (default: the store's last day); suppliers get a 0-100 score."""
    if by not in BY_CHOICES:
        raise ValueError(f"--by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    frame = load_store(settings.store_path) if history is None else history
    resolved = resolve_as_of(frame, as_of, settings.batch_max_days_after_data)
    if announce is not None and resolved.defaulted:
        announce(resolved.note())
    result = compute_kpis(frame, resolved.day, window_days, BY_CHOICES[by], kpi_params(settings))
    if "supplier_id" in BY_CHOICES[by]:
        config = load_scorecard_config(scorecard_path or default_scorecard_path())
        result.table = score_suppliers(result.table, config)
    return result

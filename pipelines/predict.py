"""Prediction jobs: score open lines (OTD) and active suppliers (disruption) with the champions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from supplierrisk.features import resolve_as_of
from supplierrisk.modeling.scoring import (
    history_at,
    no_open_lines_reason,
    score_open_lines,
    score_supplier_risk,
)
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store, write_csv, write_parquet
from supplierrisk.tracking import CHAMPION, DISRUPTION_MODEL_NAME, OTD_MODEL_NAME, connect, load_model

Announce = Callable[[str], None]


def _load_history(
    settings: Settings, as_of: pd.Timestamp | None, announce: Announce | None
) -> tuple[pd.DataFrame, pd.Timestamp]:
    history = load_store(settings.store_path)
    resolved = resolve_as_of(history, as_of, settings.batch_max_days_after_data)
    if announce is not None and resolved.defaulted:
        announce(resolved.note())
    return history, resolved.day


def _write(frame: pd.DataFrame, out: Path) -> None:
    if out.suffix.lower() == ".parquet":
        write_parquet(frame, out)
    else:
        write_csv(frame, out)


def run_predict_otd(
    settings: Settings, as_of: pd.Timestamp | None, out: Path | None, announce: Announce | None = None
) -> pd.DataFrame:
    """Score every line open and not yet due at ``as_of`` (default: the store's last day).

    Writes CSV or Parquet when ``out`` is given. An empty result carries the reason in
    ``attrs["empty_reason"]``.
    """
    history, as_of = _load_history(settings, as_of, announce)
    client = connect(settings)
    model, version = load_model(client, OTD_MODEL_NAME, CHAMPION)
    at = history_at(history, as_of, model.feature_config, suppliers=False)
    scored = score_open_lines(model, at)
    if scored.empty:
        scored.attrs["empty_reason"] = no_open_lines_reason(at, model.feature_config.on_time_tolerance_days)
    scored.insert(3, "as_of", as_of.date().isoformat())
    scored["model_version"] = str(version.version)
    if out is not None:
        _write(scored, out)
    return scored


def run_predict_disruption(
    settings: Settings,
    as_of: pd.Timestamp | None,
    category: str | None = None,
    out: Path | None = None,
    top: int | None = None,
    announce: Announce | None = None,
) -> pd.DataFrame:
    """Disruption risk of active suppliers at ``as_of`` (riskiest first) with their top 3 drivers."""
    history, as_of = _load_history(settings, as_of, announce)
    client = connect(settings)
    model, version = load_model(client, DISRUPTION_MODEL_NAME, CHAMPION)
    at = history_at(history, as_of, model.feature_config)
    scored = score_supplier_risk(model, at, category=category, top=top)
    scored["model_version"] = str(version.version)
    if out is not None:
        written = scored.drop(columns=["drivers"], errors="ignore")
        if "drivers" in scored:
            # Feature names, values and contributions behind the sentences, for analysts.
            written["drivers_json"] = scored["drivers"].map(lambda d: json.dumps(d, default=str))
        _write(written, out)
    return scored


def format_supplier_risk(scored: pd.DataFrame) -> str:
    """Suppliers with probability, score, band and their driver sentences, one block per supplier."""
    blocks = []
    for row in scored.itertuples(index=False):
        category = row.main_category if isinstance(row.main_category, str) else "-"
        lines = [
            f"{row.supplier_id}  [{category}]  p={row.p_disruption:.1%}  score {row.risk_score}"
            f"  {str(row.risk_band).upper()}"
        ]
        change = getattr(row, "recent_change", None)
        if isinstance(change, str):
            lines.append(f"    now: {change}")
        for i in (1, 2, 3):
            text = getattr(row, f"driver_{i}", None)
            if isinstance(text, str):
                lines.append(f"    - {text}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)

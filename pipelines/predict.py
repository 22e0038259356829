"""Prediction jobs: score open lines with the OTD champion and write them out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from supplierrisk.scoring import score_open_lines
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store, write_csv, write_parquet
from supplierrisk.tracking import CHAMPION, OTD_MODEL_NAME, connect, load_model


def run_predict_otd(settings: Settings, as_of: pd.Timestamp, out: Path | None) -> pd.DataFrame:
    """Score every line open and not yet due at ``as_of``; write CSV or Parquet when ``out`` is given."""
    history = load_store(settings.store_path)
    if as_of < history["order_date"].min():
        raise ValueError(
            f"--as-of {as_of.date()} is before the first order ({history['order_date'].min().date()})"
        )
    client = connect(settings)
    model, version = load_model(client, OTD_MODEL_NAME, CHAMPION)
    scored = score_open_lines(model, history, as_of)
    scored.insert(3, "as_of", as_of.date().isoformat())
    scored["model_version"] = str(version.version)
    if out is not None:
        if out.suffix.lower() == ".parquet":
            write_parquet(scored, out)
        else:
            write_csv(scored, out)
    return scored

"""Training jobs: derive settings, backtest the candidates, log to MLflow, register, apply the gate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from supplierrisk.features import Tolerances, resolve_as_of
from supplierrisk.logs import collected_warnings
from supplierrisk.modeling.config import load_train_config
from supplierrisk.modeling.gate import row_label
from supplierrisk.modeling.recipes import RECIPES
from supplierrisk.modeling.registration import TrainReport, register_training
from supplierrisk.progress import task
from supplierrisk.settings import Settings
from supplierrisk.storage import data_fingerprint, load_store
from supplierrisk.tracking import (
    MODEL_NAMES,
    connect,
)


def run_train(
    settings: Settings,
    kind: str,
    as_of: pd.Timestamp | None,
    config_path: Path | None,
    announce: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train a model kind (``otd``, ``disruption``) as of a day, log it, register it and run the gate."""
    recipe = RECIPES[kind]
    history = load_store(settings.store_path)
    resolved = resolve_as_of(history, as_of, settings.batch_max_days_after_data)
    if announce is not None and resolved.defaulted:
        announce(resolved.note())
    config = load_train_config(config_path, kind)
    if config.model != kind:
        raise ValueError(f"{config_path}: this config trains model '{config.model}', not '{kind}'")
    tolerances = Tolerances(settings.on_time_tolerance_days, settings.in_full_tolerance)
    client = connect(settings)
    with task(f"train {kind}", total=2) as step:
        with collected_warnings() as caught:
            training = recipe.train(history, resolved.day, config, tolerances)
        step(detail="logging to MLflow, registering, running the gate")
        logged, decision = register_training(
            client, settings, recipe, training, history, data_fingerprint(history), caught
        )
        step()
    return TrainReport.of(MODEL_NAMES[kind], logged, resolved.day, training, decision, recipe.title)


def run_train_otd(settings: Settings, as_of: pd.Timestamp | None, config_path: Path | None) -> TrainReport:
    """Train the OTD model (see ``run_train``)."""
    return run_train(settings, "otd", as_of, config_path)


def run_retrain(
    settings: Settings,
    as_of: pd.Timestamp | None = None,
    announce: Callable[[str], None] | None = None,
    configs: dict[str, Path | None] | None = None,
) -> list[TrainReport]:
    """Train both models as of the latest data (or ``as_of``); each gate promotes or keeps."""
    paths = configs or {}
    return [
        run_train(settings, kind, as_of, paths.get(kind), announce if kind == "otd" else None)
        for kind in ("otd", "disruption")
    ]


def format_retrain(reports: list[TrainReport]) -> str:
    """Challenger against champion for each model, then each full report."""
    lines = ["retrain: challenger against the champion on the same folds"]
    for report in reports:
        verdict = "PROMOTED" if report.decision.promote else "kept as challenger"
        lines.append(f"  {report.model_name} v{report.version}: {verdict} ({row_label(report.served)})")
    for report in reports:
        lines += ["", report.format_text()]
    return "\n".join(lines)

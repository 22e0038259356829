"""Training jobs: derive settings, backtest the candidates, log to MLflow, register, apply the gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from supplierrisk.features import Tolerances, resolve_as_of
from supplierrisk.logs import collected_warnings
from supplierrisk.modeling.config import TrainConfig, load_train_config
from supplierrisk.modeling.derive import describe
from supplierrisk.modeling.gate import GateDecision, row_label
from supplierrisk.modeling.recipes import RECIPES
from supplierrisk.modeling.registration import register_training
from supplierrisk.settings import Settings
from supplierrisk.storage import data_fingerprint, load_store
from supplierrisk.tracking import (
    MODEL_NAMES,
    connect,
)


@dataclass
class TrainReport:
    """What a training run did, for printing."""

    model_name: str
    version: str
    run_id: str
    as_of: pd.Timestamp
    means: pd.DataFrame
    table: pd.DataFrame
    decision: GateDecision
    calibration: str
    gap_days: int
    examples: int
    served: str = "model"
    served_sentence: str = ""
    derived: str = ""
    title: str = "model"
    event_text: str = ""

    def format_text(self) -> str:
        """The derived settings, the backtest table (every row on the same folds) and the gate's verdict."""
        order = sorted(self.means.index, key=lambda r: (r != "model", r not in ("blend",), r))
        shown = self.means.loc[order, ["roc_auc", "pr_auc", "brier", "log_loss", "ece"]].round(4)
        shown.index.name = None
        return "\n".join(
            [
                f"{self.model_name} version {self.version} (run {self.run_id}),"
                f" trained as of {self.as_of.date()}",
                f"{self.examples} labelled examples; gap {self.gap_days} days;"
                f" calibration {self.calibration}",
                self.derived,
                f"mean backtest over folds (same folds for every row; 'model' is the learned {self.title}):",
                shown.to_string(),
                self.served_sentence,
                f"gate: {self.decision.summary()}",
            ]
        )


def _event_text(config: TrainConfig) -> str:
    """The disruption event in one phrase (empty for other models)."""
    if config.model != "disruption":
        return ""
    return f"P({config.event_definition().describe()})"


def run_train(
    settings: Settings,
    kind: str,
    as_of: pd.Timestamp | None,
    config_path: Path | None,
    announce: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train a model kind (``otd``, ``disruption``) as of a day, log it, register it and run the gate."""
    recipe = RECIPES[kind]
    model_name = MODEL_NAMES[kind]
    history = load_store(settings.store_path)
    resolved = resolve_as_of(history, as_of, settings.batch_max_days_after_data)
    if announce is not None and resolved.defaulted:
        announce(resolved.note())
    config = load_train_config(config_path, kind)
    if config.model != kind:
        raise ValueError(f"{config_path}: this config trains model '{config.model}', not '{kind}'")
    tolerances = Tolerances(settings.on_time_tolerance_days, settings.in_full_tolerance)
    client = connect(settings)
    with collected_warnings() as caught:
        training = recipe.train(history, resolved.day, config, tolerances)
    logged, decision = register_training(
        client, settings, recipe, training, history, data_fingerprint(history), caught
    )
    return TrainReport(
        model_name=model_name,
        version=logged.version,
        run_id=logged.run_id,
        as_of=resolved.day,
        means=training.backtest.mean(),
        table=training.backtest.table,
        decision=decision,
        calibration=training.model.calibration_method,
        gap_days=training.gap_days,
        examples=training.examples,
        served=training.choice.row,
        served_sentence=training.choice.sentence(),
        derived=describe(training.derived),
        title=recipe.title,
        event_text=_event_text(training.config),
    )


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

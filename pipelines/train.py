"""Training jobs: train, backtest, log to MLflow, register, and apply the promotion gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from supplierrisk.features import resolve_as_of
from supplierrisk.logs import collected_warnings
from supplierrisk.modeling.config import TrainConfig, load_train_config
from supplierrisk.modeling.gate import GateDecision, decide_promotion
from supplierrisk.modeling.metrics import METRIC_NAMES
from supplierrisk.modeling.plots import reliability_figure
from supplierrisk.modeling.recipes import RECIPES, Recipe
from supplierrisk.modeling.training import Training
from supplierrisk.settings import Settings
from supplierrisk.storage import data_fingerprint, load_store
from supplierrisk.tracking import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAMES,
    connect,
    log_training_run,
    run_config,
    run_metrics,
    set_alias,
    version_for_alias,
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
    title: str = "model"
    event_text: str = ""

    def format_text(self) -> str:
        """The backtest table (model against baselines) and the gate's verdict."""
        shown = self.means[["roc_auc", "pr_auc", "brier", "log_loss", "ece"]].round(4)
        return "\n".join(
            [
                f"{self.model_name} version {self.version} (run {self.run_id}),"
                f" trained as of {self.as_of.date()}",
                f"{self.examples} labelled examples; gap {self.gap_days} days;"
                f" calibration {self.calibration}",
                f"mean backtest of the {self.title} over folds (same folds for every row):",
                shown.to_string(),
                f"gate: {self.decision.summary()}",
            ]
        )


def _champion_means(
    client: Any,
    recipe: Recipe,
    config: TrainConfig,
    training: Training,
    history: pd.DataFrame,
    settings: Settings,
    as_of: pd.Timestamp,
) -> dict[str, float] | None:
    champion = version_for_alias(client, MODEL_NAMES[recipe.kind], CHAMPION)
    if champion is None:
        return None
    logged = run_config(client, champion.run_id)
    means = training.backtest.mean()
    if logged is not None and logged.get("event") != config.model_dump(mode="json").get("event"):
        # The champion predicts another event: its metrics are not comparable, so it is not compared.
        return None
    if logged == config.model_dump(mode="json"):
        # Same recipe on the same folds gives the same figures (training is deterministic).
        return {"roc_auc": float(means.loc["model", "roc_auc"]), "brier": float(means.loc["model", "brier"])}
    if logged is not None:
        champion_config = TrainConfig.model_validate(logged)
        feature_config = champion_config.feature_config(
            settings.on_time_tolerance_days, settings.in_full_tolerance
        )
        rerun = recipe.rerun_backtest(history, as_of, champion_config, feature_config, training.folds).mean()
        return {"roc_auc": float(rerun.loc["model", "roc_auc"]), "brier": float(rerun.loc["model", "brier"])}
    metrics = run_metrics(client, champion.run_id)
    return {"roc_auc": metrics["mean_roc_auc"], "brier": metrics["mean_brier"]}


def _metrics(training: Training, references: list[str]) -> dict[str, float]:
    table = training.backtest.table
    means = training.backtest.mean()
    out: dict[str, float] = {}
    for _, row in table.iterrows():
        for metric in METRIC_NAMES:
            out[f"fold{row['fold']}_{row['model']}_{metric}"] = float(row[metric])
    for model, row in means.iterrows():
        prefix = "mean" if model == "model" else f"{model}_mean"
        for metric in METRIC_NAMES:
            out[f"{prefix}_{metric}"] = float(row[metric])
    baselines = means.drop(index=["model", *[r for r in references if r in means.index]])
    out["best_baseline_roc_auc"] = float(baselines["roc_auc"].max())
    out["best_baseline_brier"] = float(baselines["brier"].min())
    return out


def _event_text(config: TrainConfig) -> str:
    """The disruption event in one phrase (empty for other models)."""
    if config.model != "disruption":
        return ""
    e = config.event
    text = f"P(a line >= {e.severe_delay_days} days late in the next {e.horizon_days} days"
    if e.kind == "severe_share":
        text += f", at least {e.min_severe_share:.0%} of lines due"
    return text + ")"


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
    as_of = resolved.day
    config = load_train_config(config_path, kind)
    if config.model != kind:
        raise ValueError(f"{config_path}: this config trains model '{config.model}', not '{kind}'")
    feature_config = config.feature_config(settings.on_time_tolerance_days, settings.in_full_tolerance)
    client = connect(settings)
    with collected_warnings() as caught:
        training = recipe.train(history, as_of, config, feature_config)
    references = tuple(config.gate.reference_models)
    champion_means = _champion_means(client, recipe, config, training, history, settings, as_of)
    decision = decide_promotion(
        training.backtest.mean(),
        champion_means,
        config.gate.auc_margin,
        config.gate.brier_margin,
        references=references,
    )
    if champion_means is None and version_for_alias(client, model_name, CHAMPION) is not None:
        decision.reasons.append("the current champion predicts a different event, so it was not compared")
    fingerprint = data_fingerprint(history)
    sample = training.reference.head(5)
    logged = log_training_run(
        client,
        settings,
        kind=kind,
        run_name=f"{kind}-{as_of.date()}",
        config=config.model_dump(mode="json"),
        params={
            "training_as_of": as_of.date().isoformat(),
            "gap_days": training.gap_days,
            "calibration_method": training.model.calibration_method,
            "best_iteration": training.model.classifier.best_iteration_,
            "examples": training.examples,
            "data": fingerprint,
            "on_time_tolerance_days": settings.on_time_tolerance_days,
        },
        metrics=_metrics(training, list(references)),
        tags={
            "training_as_of": as_of.date().isoformat(),
            "data_sha256": str(fingerprint["sha256"]),
            "data_window": f"{fingerprint['order_date_min']}..{as_of.date()}",
            "gate_decision": CHAMPION if decision.promote else CHALLENGER,
            "gate_reason": decision.summary()[:4900],
        },
        tables={
            "backtest.csv": training.backtest.table,
            "backtest_predictions.parquet": training.backtest.predictions,
            "feature_importance.csv": training.importance,
            "features.csv": pd.DataFrame(
                {
                    "feature": training.model.feature_names,
                    "categorical": [
                        f in training.feature_set.categorical for f in training.model.feature_names
                    ],
                }
            ),
            "reliability.csv": training.reliability,
            "reference.parquet": training.reference,
            **({"warnings.csv": pd.DataFrame({"warning": caught})} if caught else {}),
        },
        figures={
            "reliability.png": reliability_figure(
                training.reliability, f"{recipe.title} backtest, as of {as_of.date()}"
            )
        },
        model_object=training.model,
        input_example=sample,
        output_example=training.model.predict(sample),
    )
    set_alias(client, model_name, logged.version, CHALLENGER)
    if decision.promote:
        set_alias(client, model_name, logged.version, CHAMPION)
    return TrainReport(
        model_name=model_name,
        version=logged.version,
        run_id=logged.run_id,
        as_of=as_of,
        means=training.backtest.mean(),
        table=training.backtest.table,
        decision=decision,
        calibration=training.model.calibration_method,
        gap_days=training.gap_days,
        examples=training.examples,
        title=recipe.title,
        event_text=_event_text(config),
    )


def run_train_otd(settings: Settings, as_of: pd.Timestamp | None, config_path: Path | None) -> TrainReport:
    """Train the OTD model (see ``run_train``)."""
    return run_train(settings, "otd", as_of, config_path)


def run_retrain(
    settings: Settings, as_of: pd.Timestamp | None = None, announce: Callable[[str], None] | None = None
) -> list[TrainReport]:
    """Train both models as of the latest data (or ``as_of``); each gate promotes or keeps."""
    return [
        run_train(settings, kind, as_of, None, announce if kind == "otd" else None)
        for kind in ("otd", "disruption")
    ]


def format_retrain(reports: list[TrainReport]) -> str:
    """Challenger against champion for each model, then each full report."""
    lines = ["retrain: challenger against the champion on the same folds"]
    for report in reports:
        verdict = "PROMOTED" if report.decision.promote else "kept as challenger"
        lines.append(f"  {report.model_name} v{report.version}: {verdict}")
    for report in reports:
        lines += ["", report.format_text()]
    return "\n".join(lines)

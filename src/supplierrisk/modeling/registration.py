"""Registering a training: the champion on the same folds, the gate, the MLflow run, the aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from supplierrisk.features import Tolerances
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.derive import Derived, describe
from supplierrisk.modeling.gate import GateDecision, decide_promotion, row_label
from supplierrisk.modeling.metrics import METRIC_NAMES
from supplierrisk.modeling.plots import reliability_figure
from supplierrisk.modeling.recipes import Recipe
from supplierrisk.modeling.training import Training
from supplierrisk.settings import Settings
from supplierrisk.tracking import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAMES,
    log_training_run,
    run_config,
    run_metrics,
    set_alias,
    version_for_alias,
)

SERVED_TAG = "served_candidate"


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
    notes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        model_name: str,
        logged: Any,
        as_of: pd.Timestamp,
        training: Training,
        decision: GateDecision,
        title: str,
    ) -> TrainReport:
        """The report of a registered training."""
        return cls(
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
            served=training.choice.row,
            served_sentence=training.choice.sentence(),
            derived=describe(training.derived),
            title=title,
            event_text=event_text(training.config),
            notes=tuple(training.notes),
        )

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
                *(f"note: {note}" for note in self.notes),
                f"gate: {self.decision.summary()}",
            ]
        )


def event_text(config: TrainConfig) -> str:
    """The disruption event in one phrase (empty for other models)."""
    if config.model != "disruption":
        return ""
    return f"P({config.event_definition().describe()})"


def champion_means(
    client: Any, recipe: Recipe, training: Training, history: pd.DataFrame, tolerances: Tolerances
) -> tuple[dict[str, float] | None, str]:
    """The champion's served candidate on this training's folds, or None (and why) when not comparable."""
    champion = version_for_alias(client, MODEL_NAMES[recipe.kind], CHAMPION)
    if champion is None:
        return None, ""
    row = str(client.get_run(champion.run_id).data.tags.get(SERVED_TAG, "model"))
    logged = run_config(client, champion.run_id)
    config = training.config.model_dump(mode="json")
    if logged is not None and logged.get("event") != config.get("event"):
        return None, "the current champion predicts a different event, so it was not compared"
    if logged == config:
        # Same resolved recipe on the same folds gives the same figures (training is deterministic).
        means = training.backtest.mean()
    else:
        try:
            champion_config = TrainConfig.model_validate(logged)
        except (ValueError, TypeError):
            metrics = run_metrics(client, champion.run_id)
            figures = {"roc_auc": metrics["mean_roc_auc"], "brier": metrics["mean_brier"]}
            return figures, "the champion's config predates this version: compared on its logged backtest"
        as_of = training.model.training_as_of
        means = recipe.rerun_backtest(history, as_of, champion_config, tolerances, training.folds).mean()
    if row not in means.index:
        row = "model"
    return {"roc_auc": float(means.loc[row, "roc_auc"]), "brier": float(means.loc[row, "brier"])}, ""


def _metrics(training: Training) -> dict[str, float]:
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
    served = training.choice.row
    for metric in METRIC_NAMES:
        out[f"served_mean_{metric}"] = float(means.loc[served, metric])
    out["served_beats_every_baseline"] = float(training.choice.eligible)
    baselines = means.drop(index=[r for r in means.index if r in ("model", "blend")])
    out["best_baseline_roc_auc"] = float(baselines["roc_auc"].max())
    out["best_baseline_brier"] = float(baselines["brier"].min())
    for table in _delay_table(training.model).values():
        # The delay-if-late quantiles on the same folds: coverage per level and pinball loss.
        per_method = table.drop(columns=["fold", "n_test"]).groupby("method").mean()
        for method, row in per_method.iterrows():
            out.update({f"delay_{method}_{name}": float(value) for name, value in row.items()})
        out["delay_served_empirical"] = float(training.model.delay.method == "empirical")
    dispersion = getattr(training.model, "late_dispersion", None)
    if dispersion is not None:
        out["late_dispersion_supplier_week_sigma"] = dispersion.supplier_week
        out["late_dispersion_period_sigma"] = dispersion.period
    return out


def _delay_table(model: Any) -> dict[str, pd.DataFrame]:
    delay = getattr(model, "delay_backtest", None)
    return {"delay_backtest.csv": delay} if delay is not None and len(delay) else {}


def _derived_params(derived: list[Derived]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in derived:
        out[f"derived.{item.key}"] = str(item.value)
        out[f"derived.{item.key}.rule"] = item.rule[:500]
    return out


def log_training(
    client: Any,
    settings: Settings,
    recipe: Recipe,
    training: Training,
    decision: GateDecision,
    history_fingerprint: dict[str, Any],
    caught: list[str],
) -> Any:
    """Log the run with its tables, figures, derived settings and model; register a version."""
    as_of = training.model.training_as_of
    sample = training.reference.head(5)
    return log_training_run(
        client,
        settings,
        kind=recipe.kind,
        run_name=f"{recipe.kind}-{as_of.date()}",
        config=training.config.model_dump(mode="json"),
        params={
            "training_as_of": as_of.date().isoformat(),
            "gap_days": training.gap_days,
            "calibration_method": training.model.calibration_method,
            "best_iteration": training.model.classifier.best_iteration_,
            "examples": training.examples,
            "data": history_fingerprint,
            "on_time_tolerance_days": settings.on_time_tolerance_days,
            **_derived_params(training.derived),
        },
        metrics=_metrics(training),
        tags={
            "training_as_of": as_of.date().isoformat(),
            "data_sha256": str(history_fingerprint["sha256"]),
            "data_window": f"{history_fingerprint['order_date_min']}..{as_of.date()}",
            "gate_decision": CHAMPION if decision.promote else CHALLENGER,
            "gate_reason": decision.summary()[:4900],
            SERVED_TAG: training.choice.row,
            "served_sentence": training.choice.sentence()[:4900],
            **({"notes": " | ".join(training.notes)[:4900]} if training.notes else {}),
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
            **_delay_table(training.model),
            "reference.parquet": training.reference,
            **({"warnings.csv": pd.DataFrame({"warning": caught})} if caught else {}),
        },
        figures={
            "reliability.png": reliability_figure(
                training.reliability,
                f"{recipe.title} ({row_label(training.choice.row)}) backtest, as of {as_of.date()}",
            )
        },
        model_object=training.model,
        input_example=sample,
        output_example=training.model.predict(sample),
    )


def register_training(
    client: Any,
    settings: Settings,
    recipe: Recipe,
    training: Training,
    history: pd.DataFrame,
    history_fingerprint: dict[str, Any],
    caught: list[str],
) -> tuple[Any, GateDecision]:
    """Compare with the champion, decide, log and register; the version becomes challenger (and champion)."""
    tolerances = Tolerances(settings.on_time_tolerance_days, settings.in_full_tolerance)
    means, note = champion_means(client, recipe, training, history, tolerances)
    decision = decide_promotion(training.choice, means, training.config.gate.tie_tolerance)
    if note:
        decision.reasons.append(note)
    logged = log_training(client, settings, recipe, training, decision, history_fingerprint, caught)
    model_name = MODEL_NAMES[recipe.kind]
    set_alias(client, model_name, logged.version, CHALLENGER)
    if decision.promote:
        set_alias(client, model_name, logged.version, CHAMPION)
    return logged, decision

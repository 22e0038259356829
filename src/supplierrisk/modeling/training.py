"""The training recipe both models share: candidates on rolling-origin folds, the declared choice, final fit.

A model kind supplies its examples, its candidate spec (categoricals, monotone
directions, trailing rates) and how to wrap the served candidate; ``train_with_backtest``
does the rest the same way for every kind: the backtest shape derived from the
labelled history where the YAML is silent, every candidate and baseline on the
same folds, the served candidate by the rule in ``supplierrisk.modeling.gate``,
the final fit on everything known at the as-of, a reference sample for drift, the
reliability table and the importances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.features import FeatureConfig
from supplierrisk.modeling.backtest import (
    BacktestResult,
    Examples,
    Fold,
    InsufficientHistoryError,
    make_folds,
    require_both_classes,
    run_backtest,
)
from supplierrisk.modeling.candidates import CandidateSpec, Fitted, candidate_rows, fit_candidates
from supplierrisk.modeling.config import TrainConfig, resolve_backtest
from supplierrisk.modeling.derive import Derived
from supplierrisk.modeling.encoding import Encoded
from supplierrisk.modeling.gate import CandidateChoice, choose_candidate, row_label
from supplierrisk.modeling.metrics import reliability_table
from supplierrisk.modeling.scorers import Scorer
from supplierrisk.schema import has_values


@dataclass(frozen=True)
class FeatureSet:
    """Which fields a history can feed as categorical and numeric (extra) features."""

    categorical: list[str]
    numeric_extras: list[str]


class CalibratedModel:
    """What every served model shares: its scorer (the served candidate), calibration, provenance.

    ``candidate`` is the backtest row served: ``model`` for the learned LightGBM model,
    or ``blend``, ``logistic_regression`` or a trailing rate when the learned model did
    not beat it on this history.
    """

    def __init__(
        self,
        classifier: Scorer,
        calibrator: object,
        calibration_method: str,
        feature_set: FeatureSet,
        bands: tuple[float, float],
        training_as_of: pd.Timestamp,
        feature_config: FeatureConfig,
        candidate: str = "model",
    ) -> None:
        self.classifier = classifier
        self.calibrator = calibrator
        self.calibration_method = calibration_method
        self.feature_set = feature_set
        self.bands = bands
        self.training_as_of = training_as_of
        self.feature_config = feature_config
        self.candidate = candidate

    @property
    def feature_names(self) -> list[str]:
        """The feature columns the model reads, in order."""
        return list(self.classifier.feature_names_)

    @property
    def categories(self) -> dict[str, list[str]]:
        """Training categories per categorical feature."""
        return dict(self.classifier.categories_)

    def predict_proba(self, features: pd.DataFrame | Encoded) -> np.ndarray:
        """Calibrated probability of the positive class (late line, disrupted supplier)."""
        encoded = self.classifier.encode(features)
        return np.asarray(self.calibrator.predict_proba(encoded)[:, 1])  # type: ignore[attr-defined]

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Contributions (log-odds) per feature; slow for LightGBM, so only for rows that are shown."""
        return self.classifier.contributions(features)


@dataclass
class Training:
    """Everything one training produced, ready to log."""

    model: Any
    backtest: BacktestResult
    folds: list[Fold]
    gap_days: int
    examples: int
    feature_set: FeatureSet
    reference: pd.DataFrame
    reliability: pd.DataFrame
    importance: pd.DataFrame
    config: TrainConfig
    choice: CandidateChoice
    derived: list[Derived] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def require_deliveries(history: pd.DataFrame, model: str) -> None:
    """Fail in one line when the history holds no delivery dates: no model can learn without outcomes."""
    if not has_values(history, "delivered_date"):
        raise InsufficientHistoryError(
            f"the history has no delivered_date values, so the {model} has no outcomes to learn from:"
            " map delivered_date (the goods-receipt date; empty means still open) in the ingest mapping"
        )


def risk_bands(p: np.ndarray, medium: float, high: float) -> np.ndarray:
    """``low`` / ``medium`` / ``high`` at the configured probability thresholds."""
    return np.where(p >= high, "high", np.where(p >= medium, "medium", "low"))


def backtest_candidates(
    examples: Examples, folds: list[Fold], config: TrainConfig, spec: CandidateSpec
) -> BacktestResult:
    """Every candidate and baseline on the same folds (the global rate among them, as a fitted constant)."""
    rows = list(dict.fromkeys([*candidate_rows(config, spec), *spec.baseline_models()]))

    def fit(train: Examples, cutoff: pd.Timestamp) -> dict[str, Callable[[pd.DataFrame], np.ndarray]]:
        return {
            row: fitted.predict_proba for row, fitted in fit_candidates(train, config, spec, rows).items()
        }

    return run_backtest(examples, folds, fit)


def backtest_folds(
    config: TrainConfig, examples: Examples, as_of: pd.Timestamp
) -> tuple[TrainConfig, list[Derived], list[Fold]]:
    """The backtest shape the examples decide (where the YAML is silent) and its folds."""
    config, shape = resolve_backtest(config, examples.event_time, as_of)
    n_folds, test_days, min_train = config.backtest_shape()
    folds = make_folds(examples.event_time, as_of, n_folds, test_days, config.gap_days, min_train)
    return config, shape, folds


ModelBuilder = Callable[[Fitted, Examples, pd.Timestamp, TrainConfig], Any]


def train_with_backtest(
    examples: Examples,
    as_of: pd.Timestamp,
    config: TrainConfig,
    feature_set: FeatureSet,
    spec: CandidateSpec,
    build_model: ModelBuilder,
    derived: list[Derived],
) -> Training:
    """Backtest the candidates, choose one by the declared rule, fit it on everything known at ``as_of``."""
    config, shape, folds = backtest_folds(config, examples, as_of)
    gap_days = config.gap_days
    result = backtest_candidates(examples, folds, config, spec)
    choice = choose_candidate(
        result.mean(), candidate_rows(config, spec), spec.baselines(), config.gate.tie_tolerance
    )
    if result.left_out:
        left_out = ", ".join(row_label(r) for r in result.left_out)
        choice.reasons.append(f"not compared, as a backtest window held a single class: {left_out}")
    train_end = as_of - pd.Timedelta(days=gap_days)
    final_train = examples.known_at(as_of, train_end)
    require_both_classes(final_train.label, f"final training window (before {train_end.date()})")
    final = fit_candidates(final_train, config, spec, [choice.row])
    if choice.row not in final:
        raise InsufficientHistoryError(
            f"the {row_label(choice.row)} cannot be fitted on the final training window (before"
            f" {train_end.date()}): a part of it holds a single class; train on a longer history"
        )
    fitted = final[choice.row]
    model = build_model(fitted, final_train, as_of, config)
    sample = min(config.reference_sample_rows, len(final_train))
    reference = (
        final_train.features.sample(sample, random_state=config.seed) if sample else final_train.features
    )
    reliability = reliability_table(result.predictions["label"].to_numpy(), result.scores(choice.row))
    return Training(
        model=model,
        backtest=result,
        folds=folds,
        gap_days=gap_days,
        examples=len(examples),
        feature_set=feature_set,
        reference=reference,
        reliability=reliability,
        importance=model.classifier.importance(),
        config=config,
        choice=choice,
        derived=[*derived, *shape],
    )

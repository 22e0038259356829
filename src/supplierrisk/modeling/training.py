"""The training recipe both models share: calibrated LightGBM, rolling-origin backtest, final fit.

A model kind supplies its examples, its fit function and its baselines;
``train_with_backtest`` does the rest the same way for every kind: folds by
event time, the backtest against the baselines on the same folds, the final
model on everything known at the as-of, a reference sample for drift, the
reliability table and the importances.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.features import FeatureConfig
from supplierrisk.modeling.backtest import (
    BacktestResult,
    BaselineFunction,
    Examples,
    Fold,
    InsufficientHistoryError,
    make_folds,
    require_both_classes,
    run_backtest,
)
from supplierrisk.modeling.classifier import (
    CategoricalLgbm,
    Encoded,
    as_text_frame,
    calibrate,
    logistic_baseline,
)
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.metrics import reliability_table
from supplierrisk.schema import has_values


@dataclass(frozen=True)
class FeatureSet:
    """Which fields a history can feed as categorical and numeric (extra) features."""

    categorical: list[str]
    numeric_extras: list[str]


class CalibratedModel:
    """What every fitted model shares: the classifier, its calibration, features, bands and provenance."""

    def __init__(
        self,
        classifier: CategoricalLgbm,
        calibrator: object,
        calibration_method: str,
        feature_set: FeatureSet,
        bands: tuple[float, float],
        training_as_of: pd.Timestamp,
        feature_config: FeatureConfig,
    ) -> None:
        self.classifier = classifier
        self.calibrator = calibrator
        self.calibration_method = calibration_method
        self.feature_set = feature_set
        self.bands = bands
        self.training_as_of = training_as_of
        self.feature_config = feature_config

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
        """LightGBM contributions (log-odds) per feature; slow, so only for rows that are shown."""
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


def fit_calibrated(
    train: Examples,
    config: TrainConfig,
    categorical: list[str],
    increasing: tuple[str, ...] = (),
    decreasing: tuple[str, ...] = (),
) -> tuple[CategoricalLgbm, Any, str, tuple[Examples, Examples, Examples]]:
    """Fit the classifier (early stopping on a later window) and its calibration (the latest window).

    Returns the classifier, the calibrator, the chosen method and the three time-ordered parts.
    """
    parts = train.split((config.split.fit, config.split.early_stopping, config.split.calibration))
    fit_part, stop_part, cal_part = parts
    require_both_classes(fit_part.label, "fitting window")
    require_both_classes(cal_part.label, "calibration window")
    classifier = CategoricalLgbm(
        categorical=tuple(categorical),
        params=config.lightgbm,
        early_stopping_rounds=config.early_stopping_rounds,
        seed=config.seed,
        offset_feature=config.offset_feature,
        increasing=increasing,
        decreasing=decreasing,
    ).fit(fit_part.features, fit_part.label, eval_set=(stop_part.features, stop_part.label))
    calibrator, method, _ = calibrate(
        classifier, cal_part.features, cal_part.label, tuple(config.calibration_methods)
    )
    return classifier, calibrator, method, parts


def global_rate_baseline(train: Examples, test: Examples) -> np.ndarray:
    """The training window's positive rate for every test row."""
    return np.full(len(test), float(train.label.mean()))


def logistic_regression_baseline(categorical: list[str], seed: int) -> BaselineFunction:
    """Logistic regression on the model's features (one-hot categoricals, scaled numerics)."""

    def logistic(train: Examples, test: Examples) -> np.ndarray:
        numeric = [c for c in train.features.columns if c not in categorical]
        model = logistic_baseline(categorical, numeric, seed)
        model.fit(as_text_frame(train.features, categorical), train.label.astype(int))
        return np.asarray(model.predict_proba(as_text_frame(test.features, categorical))[:, 1])

    return logistic


def train_with_backtest(
    examples: Examples,
    as_of: pd.Timestamp,
    config: TrainConfig,
    gap_days: int,
    feature_set: FeatureSet,
    backtest: Callable[[Examples, list[Fold]], BacktestResult],
    fit_final: Callable[[Examples, pd.Timestamp], Any],
) -> Training:
    """Backtest on rolling-origin folds, then fit the final model on everything known at ``as_of``."""
    folds = make_folds(
        examples.event_time,
        as_of,
        config.backtest.folds,
        config.backtest.test_days,
        gap_days,
        config.backtest.min_train_days,
    )
    result = backtest(examples, folds)
    train_end = as_of - pd.Timedelta(days=gap_days)
    final_train = examples.known_at(as_of, train_end)
    require_both_classes(final_train.label, f"final training window (before {train_end.date()})")
    model = fit_final(final_train, as_of)
    sample = min(config.reference_sample_rows, len(final_train))
    reference = (
        final_train.features.sample(sample, random_state=config.seed) if sample else final_train.features
    )
    reliability = reliability_table(
        result.predictions["label"].to_numpy(), result.predictions["p"].to_numpy()
    )
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
    )


def backtest_with(
    examples: Examples,
    folds: list[Fold],
    fit: Callable[[Examples, pd.Timestamp], Any],
    baselines: Mapping[str, BaselineFunction],
) -> BacktestResult:
    """``run_backtest`` with a fit function returning a model that has ``predict_proba``."""

    def fit_predictor(train: Examples, cutoff: pd.Timestamp) -> Callable[[pd.DataFrame], np.ndarray]:
        return fit(train, cutoff).predict_proba

    return run_backtest(examples, folds, fit_predictor, baselines)

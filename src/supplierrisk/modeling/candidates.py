"""Fitting the candidates on one training window, the same way in every fold and in the final fit.

A training window (examples in event-time order) is split by time into fit,
early-stopping and calibration parts. Categorical levels come from all its rows.

- ``model`` (the learned LightGBM): fitted on the fit part, stopped early on the
  next part, calibrated on the latest part (``config.calibration_methods``);
- ``logistic_regression``: fitted on the fit and early-stopping parts, sigmoid-
  calibrated on the latest part, so it follows base-rate drift as the model does;
- trailing rates (one row per rate the model kind names): one feature, raw or
  through a one-variable logistic fit on the whole window, served uncalibrated;
- ``blend``: the model's and the logistic regression's log-odds, weighted by the
  weight (0.25, 0.5, 0.75) with the best log loss on the later half of the
  calibration part when sigmoid-fitted on its earlier half, then sigmoid-calibrated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

from supplierrisk.modeling.backtest import Examples
from supplierrisk.modeling.classifier import CategoricalLgbm, calibrate, training_categories
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.scorers import (
    BlendScorer,
    ConstantScorer,
    LogisticScorer,
    Scorer,
    TrailingRateScorer,
)

BLEND_WEIGHTS: Final = (0.25, 0.5, 0.75)
# Candidate names in a config and the backtest rows they stand for.
LEARNED = "model"


@dataclass(frozen=True)
class CandidateSpec:
    """What a model kind gives its candidates: categoricals, monotone directions, trailing rates."""

    categorical: tuple[str, ...]
    increasing: tuple[str, ...] = ()
    decreasing: tuple[str, ...] = ()
    # Backtest row -> (feature column, fitted through a one-variable logistic regression).
    trailing: tuple[tuple[str, str, bool], ...] = ()
    # The fit-free baseline: the training window's positive rate.
    global_row: str = "global_rate"

    def baseline_models(self) -> list[str]:
        """Baselines that are fitted models (and candidates too): trailing rates, logistic regression."""
        return [*(row for row, _, _ in self.trailing), "logistic_regression"]

    def baselines(self) -> list[str]:
        """Every baseline row a candidate must not be worse than."""
        return [self.global_row, *self.baseline_models()]


@dataclass
class Fitted:
    """One fitted candidate: its scorer and calibration."""

    row: str
    scorer: Scorer
    calibrator: Any
    method: str
    # The scorer fitted on the window's earlier parts, on which the calibration was learned out of time
    # (the same as ``scorer`` unless it was refitted on the whole window).
    selection: Scorer | None = None

    @property
    def chosen_on(self) -> Scorer:
        """The scorer the calibration was learned with."""
        return self.selection if self.selection is not None else self.scorer

    def predict_proba(self, features: Any) -> np.ndarray:
        """Calibrated probability of the positive class."""
        return np.asarray(self.calibrator.predict_proba(features)[:, 1])


def candidate_rows(config: TrainConfig, spec: CandidateSpec) -> list[str]:
    """The backtest rows of the config's candidates in order of preference; the global rate comes last.

    The global rate is the candidate of last resort: served only when no model's probabilities
    beat a constant on this history, and then the card says so.
    """
    rows: list[str] = []
    for name in config.gate.candidates:
        if name == "lightgbm":
            rows.append(LEARNED)
        elif name == "trailing_rate":
            rows.extend(row for row, _, _ in spec.trailing)
        else:
            rows.append(name)
    return [*rows, spec.global_row]


class Parts(NamedTuple):
    """A training window split by time: fit, early stopping, calibration, the first two together, all."""

    fit: Examples
    stop: Examples
    cal: Examples
    head: Examples
    whole: Examples


def _parts(train: Examples, config: TrainConfig) -> Parts:
    s = config.split
    fit_part, stop_part, cal_part = train.split((s.fit, s.early_stopping, s.calibration))
    n = len(train)
    head = train.subset(np.arange(n) < int(n * (s.fit + s.early_stopping)))
    return Parts(fit_part, stop_part, cal_part, head, train)


def _learned(
    train: Examples,
    config: TrainConfig,
    spec: CandidateSpec,
    categories: dict[str, list[str]],
    params: dict[str, Any],
    eval_set: tuple[pd.DataFrame, np.ndarray] | None,
) -> CategoricalLgbm:
    """One LightGBM fit on ``train`` (stopped early on ``eval_set`` when given)."""
    return CategoricalLgbm(
        categorical=spec.categorical,
        params=params,
        early_stopping_rounds=config.early_stopping_rounds,
        seed=config.seed,
        offset_feature=config.offset_feature,
        increasing=spec.increasing,
        decreasing=spec.decreasing,
    ).fit(train.features, train.label, eval_set=eval_set, categories=categories)


def _searched(
    parts: Parts, config: TrainConfig, spec: CandidateSpec, categories: dict[str, list[str]]
) -> CategoricalLgbm:
    """The inner out-of-time search over ``config.lightgbm_search``.

    Each setting is fitted on the fit part and stopped early on the next part; the one with the
    best AUC there is kept (ties: the first).
    """
    fit_part, stop_part = parts.fit, parts.stop
    best: CategoricalLgbm | None = None
    for overrides in config.lightgbm_search or [{}]:
        trial = _learned(
            fit_part,
            config,
            spec,
            categories,
            {**config.lightgbm, **overrides},
            (stop_part.features, stop_part.label),
        )
        if best is None or trial.validation_auc_ > best.validation_auc_ + 1e-9:
            best = trial
    assert best is not None  # noqa: S101 - the search has at least one setting
    return best


def _lightgbm(
    parts: Parts, config: TrainConfig, spec: CandidateSpec, categories: dict[str, list[str]]
) -> Fitted:
    cal_part = parts.cal
    scorer = _searched(parts, config, spec, categories)
    calibrator, method, _ = calibrate(
        scorer, cal_part.features, cal_part.label, tuple(config.calibration_methods)
    )
    if not config.refit_on_window:
        return Fitted(LEARNED, scorer, calibrator, method)
    # The setting, the trees and the calibration were chosen out of time; now learn from the whole
    # window, the latest lines included (under drift they say the most), with as many trees.
    params = {**(scorer.params or {}), "n_estimators": max(1, scorer.best_iteration_)}
    refit = _learned(parts.whole, config, spec, categories, params, None)
    return _refit_or_not(Fitted(LEARNED, scorer, calibrator, method), refit, cal_part)


def _logistic(
    parts: Parts,
    config: TrainConfig,
    spec: CandidateSpec,
    categories: dict[str, list[str]],
) -> Fitted:
    cal_part, head = parts.cal, parts.head
    scorer = LogisticScorer(spec.categorical, config.seed).fit(head.features, head.label, categories)
    calibrator, method, _ = calibrate(scorer, cal_part.features, cal_part.label, ("sigmoid",))
    if config.refit_on_window:
        whole = parts.whole
        refit = LogisticScorer(spec.categorical, config.seed).fit(whole.features, whole.label, categories)
        return _refit_or_not(Fitted("logistic_regression", scorer, calibrator, method), refit, cal_part)
    return Fitted("logistic_regression", scorer, calibrator, method)


def _refit_or_not(chosen: Fitted, refit: Scorer, cal_part: Examples) -> Fitted:
    """The refit with the calibration carried over, unless the calibration does not carry.

    The refit has seen the calibration part, so on it its calibrated log loss should be no
    worse than the unrefitted scorer's. When it is worse, the calibration learned for the
    earlier scorer does not fit the refit's scores (seen on SCMS: a window whose refit
    predicted 0.9997 for a 11% event), and the unrefitted candidate is kept.
    """
    rebound = chosen.calibrator.rebind(refit)
    y = cal_part.label.astype(int)
    before = log_loss(y, chosen.calibrator.predict_proba(cal_part.features)[:, 1], labels=[0, 1])
    after = log_loss(y, rebound.predict_proba(cal_part.features)[:, 1], labels=[0, 1])
    if after > before + 1e-9:
        return chosen
    return Fitted(chosen.row, refit, rebound, chosen.method, selection=chosen.scorer)


def _blend(learned: Fitted, logistic: Fitted, cal_part: Examples) -> Fitted:
    """The blend with the weight that scores best out of time on the calibration part.

    Weight and calibration are learned with the members fitted before the calibration part;
    the blend then serves the members as finally fitted.
    """
    half = len(cal_part) // 2
    early, late = (
        cal_part.subset(np.arange(len(cal_part)) < half),
        cal_part.subset(np.arange(len(cal_part)) >= half),
    )
    scores: dict[float, float] = {}
    if len(np.unique(early.label)) == 2 and len(late):
        for weight in BLEND_WEIGHTS:
            trial = BlendScorer(weight=weight).fitted_from(learned.chosen_on, logistic.chosen_on)
            calibrated, _, _ = calibrate(trial, early.features, early.label, ("sigmoid",))
            p = calibrated.predict_proba(late.features)[:, 1]
            scores[weight] = float(log_loss(late.label.astype(int), p, labels=[0, 1]))
    weight = min(scores, key=lambda w: scores[w]) if scores else 0.5
    selection = BlendScorer(weight=weight).fitted_from(learned.chosen_on, logistic.chosen_on)
    calibrator, method, _ = calibrate(selection, cal_part.features, cal_part.label, ("sigmoid",))
    scorer = BlendScorer(weight=weight).fitted_from(learned.scorer, logistic.scorer)
    return Fitted("blend", scorer, calibrator.rebind(scorer), method, selection=selection)


def _trailing(
    train: Examples, row: str, column: str, fitted: bool, categories: dict[str, list[str]]
) -> Fitted:
    scorer = TrailingRateScorer(column, fitted).fit(train.features, train.label, categories)
    calibrator, method, _ = calibrate(scorer, train.features.head(0), train.label[:0], ("none",))
    return Fitted(row, scorer, calibrator, method)


def _global(train: Examples, row: str, categories: dict[str, list[str]]) -> Fitted:
    """The window's positive rate for every row: served only when nothing beats a constant."""
    scorer = ConstantScorer(float(np.mean(train.label))).fit(train.features, train.label, categories)
    calibrator, method, _ = calibrate(scorer, train.features.head(0), train.label[:0], ("none",))
    return Fitted(row, scorer, calibrator, method)


def _single_class(*windows: Examples) -> bool:
    return any(len(np.unique(window.label)) < 2 for window in windows)


def fit_candidates(
    train: Examples, config: TrainConfig, spec: CandidateSpec, rows: list[str] | None = None
) -> dict[str, Fitted]:
    """Fit the named candidate rows (default: every candidate and baseline model) on one window.

    A candidate whose fitting or calibration part holds a single class (a rare event in a short
    window) cannot be fitted there and is left out; the backtest then leaves it out of every fold.
    """
    wanted = (
        set(rows)
        if rows is not None
        else {LEARNED, "blend", "logistic_regression", *(r for r, _, _ in spec.trailing)}
    )
    categories = training_categories(train.features, spec.categorical)
    parts = _parts(train, config)
    fitted: dict[str, Fitted] = {}
    if wanted & {LEARNED, "blend"} and not _single_class(parts.fit, parts.cal):
        fitted[LEARNED] = _lightgbm(parts, config, spec, categories)
    if wanted & {"logistic_regression", "blend"} and not _single_class(parts.head, parts.cal):
        fitted["logistic_regression"] = _logistic(parts, config, spec, categories)
    if "blend" in wanted and {LEARNED, "logistic_regression"} <= set(fitted):
        fitted["blend"] = _blend(fitted[LEARNED], fitted["logistic_regression"], parts.cal)
    for row, column, is_fitted in spec.trailing:
        if row in wanted:
            fitted[row] = _trailing(train, row, column, is_fitted, categories)
    if spec.global_row in wanted:
        fitted[spec.global_row] = _global(train, spec.global_row, categories)
    return {row: fit for row, fit in fitted.items() if row in wanted}


def predictions(fitted: dict[str, Fitted], features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each candidate's calibrated probabilities for ``features``."""
    return {row: fit.predict_proba(features) for row, fit in fitted.items()}

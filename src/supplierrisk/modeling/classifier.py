"""The learned LightGBM scorer, its calibration, and the logistic baseline pipeline.

``CategoricalLgbm`` learns from the categories of every categorical column over
all the rows of its training window and casts new frames to them, so unseen
values become missing (LightGBM then follows its learned default branch) instead
of silently shifting codes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from supplierrisk.modeling.encoding import (
    Encoded,
    cast_categoricals,
    encode_features,
    prediction_threads,
    unseen_share,
)
from supplierrisk.modeling.scorers import Scorer

__all__ = [
    "CategoricalLgbm",
    "Encoded",
    "OffsetSlopeCalibration",
    "as_text_frame",
    "calibrate",
    "cast_categoricals",
    "encode_features",
    "logistic_baseline",
    "prediction_threads",
    "unseen_share",
]


class CategoricalLgbm(Scorer):
    """LightGBM classifier over a frame of numeric and categorical columns."""

    def __init__(
        self,
        categorical: tuple[str, ...] = (),
        params: dict[str, Any] | None = None,
        early_stopping_rounds: int = 100,
        seed: int = 0,
        offset_feature: str | None = None,
        increasing: tuple[str, ...] = (),
        decreasing: tuple[str, ...] = (),
    ) -> None:
        self.categorical = categorical
        self.params = params
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.offset_feature = offset_feature
        self.increasing = increasing
        self.decreasing = decreasing

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        eval_set: tuple[pd.DataFrame, np.ndarray] | None = None,
        categories: dict[str, list[str]] | None = None,
    ) -> CategoricalLgbm:
        """Fit, stopping early on ``eval_set`` (a later time window) when given.

        ``categories`` are the levels of each categorical column (default: those in ``X``);
        training passes the levels of all its rows, so a level first seen in the
        early-stopping or calibration window is not "unseen".
        """
        self.categories_ = categories if categories is not None else training_categories(X, self.categorical)
        self.feature_names_ = list(X.columns)
        params = {"n_estimators": 500, "learning_rate": 0.05, "verbose": -1, **(self.params or {})}
        # Rank quality decides when to stop: log loss on a later window mostly tracks base-rate drift,
        # which calibration corrects afterwards.
        params["metric"] = "auc"
        params.update({"random_state": self.seed, "deterministic": True, "force_row_wise": True})
        decreasing = getattr(self, "decreasing", ())  # models pickled before the option existed
        if self.increasing or decreasing:
            # Monotone in these features: more known lateness never lowers the risk.
            params["monotone_constraints"] = [
                1 if c in self.increasing else -1 if c in decreasing else 0 for c in self.feature_names_
            ]
        self.model_ = lgb.LGBMClassifier(**params)
        callbacks: list[Callable[..., Any]] = []
        fit_kwargs: dict[str, Any] = {}
        if eval_set is not None and len(np.unique(eval_set[1])) == 2:
            fit_kwargs["eval_X"] = (self._prepare(eval_set[0]),)
            fit_kwargs["eval_y"] = (np.asarray(eval_set[1]),)
            fit_kwargs["eval_metric"] = "auc"
            if self.has_offset:
                fit_kwargs["eval_init_score"] = [self.offset_log_odds(eval_set[0])]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        if self.has_offset:
            fit_kwargs["init_score"] = self.offset_log_odds(X)
        self.model_.fit(self._prepare(X), np.asarray(y), callbacks=callbacks, **fit_kwargs)
        self.classes_ = self.model_.classes_
        self.best_iteration_ = int(self.model_.best_iteration_ or params["n_estimators"])
        scores: dict[str, dict[str, float]] = dict(getattr(self.model_, "best_score_", {}) or {})
        # AUC on the early-stopping window (NaN without one): what the inner search compares.
        first = next(iter(scores.values()), {})
        self.validation_auc_ = float(first.get("auc", float("nan")))
        return self

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        return cast_categoricals(X.reindex(columns=self.feature_names_), self.categories_)

    def encode(self, X: pd.DataFrame | Encoded) -> Encoded:
        """``X`` encoded for the booster (unchanged when already encoded)."""
        return X if isinstance(X, Encoded) else encode_features(X, self.feature_names_, self.categories_)

    @property
    def has_offset(self) -> bool:
        """Whether boosting starts from the offset feature's log-odds rather than from zero."""
        return self.offset_feature is not None

    def offset_log_odds(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Log-odds of the offset feature: boosting starts from it and learns corrections."""
        if self.offset_feature is None:
            return np.zeros(len(X))
        values = X.column(self.offset_feature) if isinstance(X, Encoded) else X[self.offset_feature]
        rate = np.clip(np.asarray(values, dtype=float), 1e-4, 1 - 1e-4)
        return np.log(rate / (1 - rate))

    def decision_function(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Log-odds of the positive class, offset included."""
        encoded = self.encode(X)
        matrix = encoded.select(self.feature_names_)
        raw = self.model_.booster_.predict(matrix, raw_score=True, **prediction_threads(len(encoded)))
        return np.asarray(raw, dtype=float) + self.offset_log_odds(encoded)

    def predict_proba(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Class probabilities (uncalibrated)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted class at 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions in log-odds (slow: call on shown rows only)."""
        matrix = self.encode(X).select(self.feature_names_)
        raw = np.asarray(
            self.model_.booster_.predict(matrix, pred_contrib=True, **prediction_threads(len(X)))
        )
        return pd.DataFrame(raw[:, :-1], columns=self.feature_names_, index=X.index)

    def importance(self) -> pd.DataFrame:
        """Gain importance per feature, largest first."""
        gain = self.model_.booster_.feature_importance(importance_type="gain")
        frame = pd.DataFrame({"feature": self.feature_names_, "gain": gain})
        return frame.sort_values("gain", ascending=False, ignore_index=True)


class Calibration:
    """A map from a scorer's log-odds to probabilities, bound to that scorer.

    ``rebind`` moves a fitted map to another scorer: the map is learned out of time
    with a scorer fitted on the earlier part of a window, then serves the scorer
    refitted on the whole window (see ``supplierrisk.modeling.candidates``).
    """

    def __init__(self, model: Scorer) -> None:
        self.model = model

    def rebind(self, model: Scorer) -> Calibration:
        """The same fitted map over ``model``."""
        moved = copy.copy(self)
        moved.model = model
        return moved

    def fit(self, X: pd.DataFrame | Encoded, y: np.ndarray) -> Calibration:
        """Learn the map on a calibration window."""
        raise NotImplementedError

    def probability(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Calibrated probability of the positive class."""
        raise NotImplementedError

    def predict_proba(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Calibrated class probabilities."""
        p = self.probability(X)
        return np.column_stack([1 - p, p])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


class OffsetSlopeCalibration(Calibration):
    """Calibrate only how much the trees' correction to the offset counts.

    ``p = sigmoid(o + a (s - o))`` with ``o`` the offset's log-odds (a point-in-time
    trailing rate, which already follows drift in the base rate) and ``s`` the model's
    log-odds; the single slope ``a`` in [0, 1.5] is fitted by log loss. Unlike sigmoid
    or isotonic calibration it does not re-learn the base rate from an older window.
    """

    def fit(self, X: pd.DataFrame | Encoded, y: np.ndarray) -> OffsetSlopeCalibration:
        """Fit the slope on the calibration window."""
        offset = self.model.offset_log_odds(X)
        correction = self.model.decision_function(X) - offset
        target = np.asarray(y, dtype=float)

        def loss(slope: float) -> float:
            z = offset + slope * correction
            return float(np.mean(np.logaddexp(0.0, z) - target * z))

        self.slope_ = float(minimize_scalar(loss, bounds=(0.0, 1.5), method="bounded").x)
        return self

    def probability(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Calibrated probability of the positive class."""
        offset = self.model.offset_log_odds(X)
        return _sigmoid(offset + self.slope_ * (self.model.decision_function(X) - offset))


class SigmoidCalibration(Calibration):
    """Platt scaling: ``p = sigmoid(a s + b)`` on the scorer's log-odds ``s``, fitted by log loss."""

    def fit(self, X: pd.DataFrame | Encoded, y: np.ndarray) -> SigmoidCalibration:
        """Fit slope and intercept on the calibration window."""
        z = self.model.decision_function(X).reshape(-1, 1)
        fitted = LogisticRegression(C=1e6, max_iter=1000).fit(z, np.asarray(y, dtype=int))
        self.a_, self.b_ = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
        return self

    def probability(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Calibrated probability of the positive class."""
        return _sigmoid(self.a_ * self.model.decision_function(X) + self.b_)


class IsotonicCalibration(Calibration):
    """A non-decreasing step map from the scorer's log-odds to the observed rate."""

    def fit(self, X: pd.DataFrame | Encoded, y: np.ndarray) -> IsotonicCalibration:
        """Fit the map on the calibration window."""
        self.map_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        self.map_.fit(self.model.decision_function(X), np.asarray(y, dtype=float))
        return self

    def probability(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Calibrated probability of the positive class."""
        return np.asarray(self.map_.predict(self.model.decision_function(X)), dtype=float)


class NoCalibration(Calibration):
    """The scorer's own probabilities (a baseline served exactly as it was backtested)."""

    def fit(self, X: pd.DataFrame | Encoded, y: np.ndarray) -> NoCalibration:
        """Nothing to learn."""
        return self

    def probability(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """The scorer's probability."""
        return np.asarray(self.model.predict_proba(X))[:, 1]


CALIBRATIONS: dict[str, type[Calibration]] = {
    "offset_slope": OffsetSlopeCalibration,
    "sigmoid": SigmoidCalibration,
    "isotonic": IsotonicCalibration,
    "none": NoCalibration,
}


def training_categories(X: pd.DataFrame, categorical: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """The sorted levels of each categorical column over all rows of ``X``."""
    return {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in categorical if c in X}


def calibrate(
    model: Scorer, X_cal: pd.DataFrame, y_cal: np.ndarray, methods: tuple[str, ...]
) -> tuple[Calibration, str, dict[str, float]]:
    """Choose the calibration method on the calibration window, then fit it on the whole window.

    Methods: ``sigmoid`` (Platt), ``isotonic``, ``offset_slope`` (models with an offset
    only) and ``none``. Each is fitted on the earlier half of the window (rows in time
    order) and scored by log loss on the later half, so the choice is itself out of time.
    """
    if not model.has_offset:
        methods = tuple(m for m in methods if m != "offset_slope") or ("sigmoid",)
    y_cal = np.asarray(y_cal)
    half = len(y_cal) // 2
    scores: dict[str, float] = {}
    if len(methods) > 1 and len(np.unique(y_cal[:half])) == 2 and len(np.unique(y_cal[half:])) == 2:
        for method in methods:
            trial = CALIBRATIONS[method](model).fit(X_cal.iloc[:half], y_cal[:half])
            scores[method] = float(
                log_loss(y_cal[half:], trial.probability(X_cal.iloc[half:]), labels=[0, 1])
            )
        chosen = min(scores, key=lambda m: scores[m])
    else:
        chosen = methods[0]
    final = CALIBRATIONS[chosen](model).fit(X_cal, y_cal)
    return final, chosen, scores


def logistic_baseline(categorical: list[str], numeric: list[str], seed: int = 0) -> Pipeline:
    """Logistic regression on the same features: imputed, scaled numerics and one-hot categoricals."""
    encode = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20), categorical),
        ]
    )
    return Pipeline(
        [("encode", encode), ("model", LogisticRegression(max_iter=2000, C=1.0, random_state=seed))]
    )


def as_text_frame(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categoricals as plain text with missing spelled out (what scikit-learn encoders expect)."""
    out = X.copy()
    for column in categorical:
        out[column] = out[column].astype(object).where(out[column].notna(), "(missing)").astype(str)
    return out

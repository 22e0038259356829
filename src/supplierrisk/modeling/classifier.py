"""A LightGBM binary classifier with pandas categoricals, its calibration, and the logistic baseline.

``CategoricalLgbm`` remembers the training categories of every categorical
column and casts new frames to them, so unseen values become missing (LightGBM
then follows its learned default branch) instead of silently shifting codes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def cast_categoricals(frame: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Cast ``categories``' columns to pandas ``category`` with exactly those categories."""
    out = frame.copy()
    for column, known in categories.items():
        values = out[column] if column in out else pd.Series(None, index=out.index, dtype=object)
        out[column] = pd.Categorical(values.astype(object).where(values.notna(), None), categories=known)
    return out


@functools.lru_cache(maxsize=256)
def _category_index(known: tuple[str, ...]) -> pd.Index:
    return pd.Index(known)


class Encoded:
    """Feature rows encoded once for LightGBM (see ``encode_features``), passed on to every booster.

    Has ``shape`` and ``len`` so scikit-learn's calibration wrappers can count its rows.
    """

    def __init__(self, matrix: np.ndarray, names: list[str]) -> None:
        self.matrix = matrix
        self.names = names
        self._position = {name: j for j, name in enumerate(names)}

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return (int(self.matrix.shape[0]), int(self.matrix.shape[1]))

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def column(self, name: str) -> np.ndarray:
        """One column's values (NaN when the column was absent)."""
        return self.matrix[:, self._position[name]]

    def select(self, names: list[str]) -> np.ndarray:
        """The matrix with columns ``names`` in that order (absent ones all NaN)."""
        if names == self.names:
            return self.matrix
        out = np.full((len(self), len(names)), np.nan)
        for j, name in enumerate(names):
            if name in self._position:
                out[:, j] = self.matrix[:, self._position[name]]
        return out


def encode_features(frame: pd.DataFrame, names: list[str], categories: dict[str, list[str]]) -> Encoded:
    """The float matrix LightGBM predicts from: columns ``names``, categoricals as training codes.

    A categorical value becomes its position in the training categories, exactly the
    code the pandas ``category`` cast gives; missing and unseen values become NaN
    (LightGBM's missing branch). Building the matrix here skips LightGBM's pandas
    conversion, which dominates the cost of scoring a few rows.
    """
    out = np.empty((len(frame), len(names)), dtype=np.float64)
    numeric = [j for j, name in enumerate(names) if name not in categories]
    block = frame.reindex(columns=[names[j] for j in numeric])
    out[:, numeric] = block.to_numpy(dtype=np.float64, na_value=np.nan)
    for j, name in enumerate(names):
        if name not in categories:
            continue
        if name not in frame.columns:
            out[:, j] = np.nan
            continue
        codes = _category_index(tuple(categories[name])).get_indexer(frame[name].astype(object))
        out[:, j] = np.where(codes < 0, np.nan, codes)
    return Encoded(out, list(names))


def prediction_threads(rows: int) -> dict[str, Any]:
    """One thread for small inputs: starting the OpenMP team costs more than a few rows take."""
    return {"num_threads": 1} if rows < 200 else {}


def unseen_share(frame: pd.DataFrame, categories: dict[str, list[str]]) -> dict[str, float]:
    """Per categorical column, the share of non-missing values not seen in training."""
    shares: dict[str, float] = {}
    for column, known in categories.items():
        if column not in frame:
            continue
        present = frame[column].dropna()
        shares[column] = float((~present.isin(known)).mean()) if len(present) else 0.0
    return shares


class CategoricalLgbm(ClassifierMixin, BaseEstimator):
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
        self, X: pd.DataFrame, y: np.ndarray, eval_set: tuple[pd.DataFrame, np.ndarray] | None = None
    ) -> CategoricalLgbm:
        """Fit, stopping early on ``eval_set`` (a later time window) when given."""
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in self.categorical}
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
            if self.offset_feature is not None:
                fit_kwargs["eval_init_score"] = [self.offset_log_odds(eval_set[0])]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        if self.offset_feature is not None:
            fit_kwargs["init_score"] = self.offset_log_odds(X)
        self.model_.fit(self._prepare(X), np.asarray(y), callbacks=callbacks, **fit_kwargs)
        self.classes_ = self.model_.classes_
        self.best_iteration_ = int(self.model_.best_iteration_ or params["n_estimators"])
        return self

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        return cast_categoricals(X.reindex(columns=self.feature_names_), self.categories_)

    def encode(self, X: pd.DataFrame | Encoded) -> Encoded:
        """``X`` encoded for the booster (unchanged when already encoded)."""
        return X if isinstance(X, Encoded) else encode_features(X, self.feature_names_, self.categories_)

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


class OffsetSlopeCalibration:
    """Calibrate only how much the trees' correction to the offset counts.

    ``p = sigmoid(o + a (s - o))`` with ``o`` the offset's log-odds (a point-in-time
    trailing rate, which already follows drift in the base rate) and ``s`` the model's
    log-odds; the single slope ``a`` in [0, 1.5] is fitted by log loss. Unlike sigmoid
    or isotonic calibration it does not re-learn the base rate from an older window.
    """

    def __init__(self, model: CategoricalLgbm) -> None:
        self.model = model

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> OffsetSlopeCalibration:
        """Fit the slope on the calibration window."""
        offset = self.model.offset_log_odds(X)
        correction = self.model.decision_function(X) - offset
        target = np.asarray(y, dtype=float)

        def loss(slope: float) -> float:
            z = offset + slope * correction
            return float(np.mean(np.logaddexp(0.0, z) - target * z))

        self.slope_ = float(minimize_scalar(loss, bounds=(0.0, 1.5), method="bounded").x)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities."""
        offset = self.model.offset_log_odds(X)
        z = offset + self.slope_ * (self.model.decision_function(X) - offset)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])


def _calibrator(model: CategoricalLgbm, method: str) -> Any:
    if method == "offset_slope":
        return OffsetSlopeCalibration(model)
    return CalibratedClassifierCV(FrozenEstimator(model), method=method)


def calibrate(
    model: CategoricalLgbm, X_cal: pd.DataFrame, y_cal: np.ndarray, methods: tuple[str, ...]
) -> tuple[Any, str, dict[str, float]]:
    """Choose the calibration method on the calibration window, then fit it on the whole window.

    Methods: ``isotonic`` and ``sigmoid`` (``CalibratedClassifierCV`` over a
    ``FrozenEstimator``) and ``offset_slope`` (models with an offset only). Each is
    fitted on the earlier half of the window (rows in time order) and scored by log
    loss on the later half, so the choice is itself out of time.
    """
    if model.offset_feature is None:
        methods = tuple(m for m in methods if m != "offset_slope") or ("sigmoid",)
    y_cal = np.asarray(y_cal)
    half = len(y_cal) // 2
    scores: dict[str, float] = {}
    if len(methods) > 1 and len(np.unique(y_cal[:half])) == 2 and len(np.unique(y_cal[half:])) == 2:
        for method in methods:
            trial = _calibrator(model, method).fit(X_cal.iloc[:half], y_cal[:half])
            scores[method] = float(
                log_loss(y_cal[half:], trial.predict_proba(X_cal.iloc[half:])[:, 1], labels=[0, 1])
            )
        chosen = min(scores, key=lambda m: scores[m])
    else:
        chosen = methods[0]
    final = _calibrator(model, chosen).fit(X_cal, y_cal)
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

"""The candidates a training compares, as log-odds scorers over one encoded feature matrix.

Every scorer reads the same encoded features (``classifier.encode_features``:
numbers, and categoricals as codes of the categories seen in all training rows),
gives log-odds and per-feature contributions in log-odds (for drivers in words),
and behaves as a scikit-learn classifier so the calibrations apply to any of them:

- ``CategoricalLgbm`` (``classifier.py``): the learned LightGBM model;
- ``LogisticScorer``: logistic regression, numbers imputed and standardised,
  categoricals one-hot (levels under ``MIN_LEVEL_ROWS`` rows, and unseen ones, share
  one "other" column); contributions are ``coef x (z - mean z)``;
- ``TrailingRateScorer``: one trailing-rate feature, raw or through a one-variable
  logistic fit; all of its contribution is that feature's;
- ``BlendScorer``: a weighted sum of the LightGBM and logistic log-odds.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from supplierrisk.modeling.encoding import Encoded, encode_features

MIN_LEVEL_ROWS: Final = 20
_EPS: Final = 1e-4


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)))


class Scorer(ClassifierMixin, BaseEstimator):
    """A fitted log-odds scorer over encoded features (subclasses give ``decision`` and ``contributions``)."""

    feature_names_: list[str]
    categories_: dict[str, list[str]]
    offset_feature: str | None = None
    best_iteration_: int = 0
    classes_ = np.array([0, 1])

    def encode(self, X: pd.DataFrame | Encoded) -> Encoded:
        """``X`` encoded with the training feature names and categories (unchanged when already encoded)."""
        return X if isinstance(X, Encoded) else encode_features(X, self.feature_names_, self.categories_)

    def decision_function(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Log-odds of the positive class."""
        return self.decision(self.encode(X))

    def decision(self, encoded: Encoded) -> np.ndarray:
        """Log-odds from encoded rows."""
        raise NotImplementedError

    def predict_proba(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Class probabilities (uncalibrated)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Predicted class at 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def offset_log_odds(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """No offset: calibrations that need one do not apply."""
        return np.zeros(len(X))

    @property
    def has_offset(self) -> bool:
        """Whether the scores start from an offset (the offset-slope calibration needs one)."""
        return False

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row, per-feature contributions in log-odds."""
        raise NotImplementedError

    def importance(self) -> pd.DataFrame:
        """Feature importance, largest first (absolute contributions for linear scorers)."""
        return pd.DataFrame({"feature": self.feature_names_, "gain": np.zeros(len(self.feature_names_))})


class LogisticScorer(Scorer):
    """Logistic regression on the encoded features (see the module docstring)."""

    def __init__(self, categorical: tuple[str, ...] = (), seed: int = 0, c: float = 1.0) -> None:
        self.categorical = categorical
        self.seed = seed
        self.c = c

    def fit(self, X: pd.DataFrame, y: np.ndarray, categories: dict[str, list[str]]) -> LogisticScorer:
        """Learn imputation, scaling, one-hot levels and the coefficients."""
        self.feature_names_ = list(X.columns)
        self.categories_ = categories
        matrix = self.encode(X).matrix
        self.numeric_ = [j for j, n in enumerate(self.feature_names_) if n not in categories]
        self._learn_scaling(matrix[:, self.numeric_])
        self.levels_: dict[int, np.ndarray] = {}
        for j, name in enumerate(self.feature_names_):
            if name in categories:
                codes = matrix[:, j]
                known, counts = np.unique(codes[~np.isnan(codes)], return_counts=True)
                self.levels_[j] = known[counts >= MIN_LEVEL_ROWS]
        design, self.owner_ = self._design(matrix)
        # Only the design is needed from here: at 1M lines each dropped copy is hundreds of MB.
        del matrix
        self.model_ = LogisticRegression(C=self.c, max_iter=2000, random_state=self.seed)
        self.model_.fit(design, np.asarray(y, dtype=int))
        self.design_mean_ = design.mean(axis=0)
        return self

    def _learn_scaling(self, values: np.ndarray) -> None:
        """Medians (for missing values), means and scales of the numeric columns."""
        with np.errstate(all="ignore"):
            self.medians_ = np.nan_to_num(np.nanmedian(values, axis=0)) if len(values) else np.zeros(0)
            filled = np.where(np.isnan(values), self.medians_, values)
            self.means_ = filled.mean(axis=0) if len(filled) else np.zeros(len(self.numeric_))
            std = filled.std(axis=0) if len(filled) else np.ones(len(self.numeric_))
        self.scales_ = np.where(std > 0, std, 1.0)

    def _design(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's inputs and, per input column, the index of the feature it comes from.

        Written into one preallocated matrix, block by block, instead of stacking copies.
        """
        width = len(self.numeric_) + sum(len(levels) + 1 for levels in self.levels_.values())
        design = np.empty((len(matrix), width))
        numeric = design[:, : len(self.numeric_)]
        numeric[...] = matrix[:, self.numeric_]
        np.copyto(numeric, self.medians_, where=np.isnan(numeric))
        numeric -= self.means_
        numeric /= self.scales_
        owners = [np.asarray(self.numeric_, dtype=np.int64)]
        start = len(self.numeric_)
        for j, levels in self.levels_.items():
            onehot = design[:, start : start + len(levels)]
            onehot[...] = matrix[:, j, None] == levels[None, :]
            # Missing, rare and unseen values share one column: scikit-learn's "infrequent" bucket.
            design[:, start + len(levels)] = ~onehot.any(axis=1)
            owners.append(np.full(len(levels) + 1, j, dtype=np.int64))
            start += len(levels) + 1
        return design, np.concatenate(owners)

    def decision(self, encoded: Encoded) -> np.ndarray:
        """Log-odds from encoded rows."""
        design, _ = self._design(encoded.select(self.feature_names_))
        return np.asarray(self.model_.decision_function(design), dtype=float)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """``coef x (z - training mean of z)``, summed over each feature's input columns."""
        design, _ = self._design(self.encode(X).select(self.feature_names_))
        parts = (design - self.design_mean_) * self.model_.coef_[0]
        out = np.zeros((len(X), len(self.feature_names_)))
        np.add.at(out.T, self.owner_, parts.T)
        return pd.DataFrame(out, columns=self.feature_names_, index=X.index)

    def importance(self) -> pd.DataFrame:
        """Mean absolute contribution per feature on the training rows' scale."""
        weight = np.zeros(len(self.feature_names_))
        np.add.at(weight, self.owner_, np.abs(self.model_.coef_[0]))
        frame = pd.DataFrame({"feature": self.feature_names_, "gain": weight})
        return frame.sort_values("gain", ascending=False, ignore_index=True)


class TrailingRateScorer(Scorer):
    """A trailing-rate feature as the score: raw (``fitted=False``) or through a one-variable logistic fit."""

    def __init__(self, column: str = "sup_late_rate_365d", fitted: bool = True) -> None:
        self.column = column
        self.fitted = fitted

    def fit(self, X: pd.DataFrame, y: np.ndarray, categories: dict[str, list[str]]) -> TrailingRateScorer:
        """Learn the slope and intercept on the rate's log-odds (identity when not ``fitted``)."""
        self.feature_names_ = list(X.columns)
        self.categories_ = categories
        z = logit(X[self.column].to_numpy(dtype=float)).reshape(-1, 1)
        self.slope_, self.intercept_ = 1.0, 0.0
        if self.fitted and len(np.unique(y)) == 2:
            model = LogisticRegression(C=1e4, max_iter=1000).fit(z, np.asarray(y, dtype=int))
            self.slope_, self.intercept_ = float(model.coef_[0, 0]), float(model.intercept_[0])
        self.mean_ = float(np.mean(self.slope_ * z + self.intercept_)) if len(z) else 0.0
        return self

    def decision(self, encoded: Encoded) -> np.ndarray:
        """Log-odds from encoded rows."""
        return self.slope_ * logit(encoded.column(self.column)) + self.intercept_

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Everything on the rate feature: the score less its training mean."""
        out = pd.DataFrame(0.0, index=X.index, columns=self.feature_names_)
        out[self.column] = self.decision_function(X) - self.mean_
        return out

    def importance(self) -> pd.DataFrame:
        """The rate feature alone."""
        gain = [1.0 if n == self.column else 0.0 for n in self.feature_names_]
        frame = pd.DataFrame({"feature": self.feature_names_, "gain": gain})
        return frame.sort_values("gain", ascending=False, ignore_index=True)


class BlendScorer(Scorer):
    """``weight`` x LightGBM log-odds + (1 - ``weight``) x logistic log-odds."""

    def __init__(self, weight: float = 0.5) -> None:
        self.weight = weight

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> BlendScorer:
        """A blend is made of fitted members (``fitted_from``); there is nothing more to fit."""
        raise NotImplementedError("a blend is built from fitted members with fitted_from")

    def fitted_from(self, lightgbm: Any, logistic: LogisticScorer) -> BlendScorer:
        """Take two fitted members (same features and categories)."""
        self.members_ = (lightgbm, logistic)
        self.feature_names_ = list(logistic.feature_names_)
        self.categories_ = dict(logistic.categories_)
        return self

    def decision(self, encoded: Encoded) -> np.ndarray:
        """Log-odds from encoded rows."""
        first, second = self.members_
        return self.weight * first.decision_function(encoded) + (1 - self.weight) * second.decision(encoded)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """The members' contributions, blended with the same weight."""
        first, second = self.members_
        a = first.contributions(X).reindex(columns=self.feature_names_, fill_value=0.0)
        return self.weight * a + (1 - self.weight) * second.contributions(X)

    def importance(self) -> pd.DataFrame:
        """The LightGBM member's gain importance."""
        return self.members_[0].importance()


class ConstantScorer(Scorer):
    """One probability for every row (the global rate): no contribution comes from any feature."""

    def __init__(self, rate: float = 0.5) -> None:
        self.rate = rate

    def fit(self, X: pd.DataFrame, y: np.ndarray, categories: dict[str, list[str]]) -> ConstantScorer:
        """Keep the feature names and categories (the rate is given)."""
        self.feature_names_ = list(X.columns)
        self.categories_ = categories
        return self

    def decision(self, encoded: Encoded) -> np.ndarray:
        """The rate's log-odds for every row."""
        return np.full(len(encoded), float(logit(np.array([self.rate]))[0]))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """All zero: a constant has no drivers."""
        return pd.DataFrame(0.0, index=X.index, columns=self.feature_names_)

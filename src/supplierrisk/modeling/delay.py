"""How late: LightGBM quantile models of delay days for late lines, mixed with P(late).

The quantile models learn the delay of lines that were late and delivered by the
training as-of (late lines still open are censored and left out, which biases
long delays down; documented). Unconditional quantiles combine them with the
calibrated late probability p: ``P(delay <= x) = (1 - p) + p * F_late(x)``.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from supplierrisk.modeling.encoding import Encoded, cast_categoricals, encode_features, prediction_threads

DEFAULT_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


class DelayQuantiles:
    """Conditional (given late) delay quantiles at fixed levels."""

    def __init__(
        self, levels: tuple[float, ...] = DEFAULT_LEVELS, params: dict[str, Any] | None = None
    ) -> None:
        self.levels = levels
        self.params = params

    def fit(
        self, X: pd.DataFrame, delay_days: np.ndarray, categories: dict[str, list[str]], seed: int = 0
    ) -> DelayQuantiles:
        """Fit one quantile model per level on late lines' delays."""
        self.categories_ = categories
        self.feature_names_ = list(X.columns)
        self.min_delay_ = float(np.min(delay_days)) if len(delay_days) else 1.0
        self.fallback_ = (
            np.quantile(delay_days, self.levels) if len(delay_days) else np.ones(len(self.levels))
        )
        self.models_: list[lgb.LGBMRegressor] = []
        if len(delay_days) < 50:
            # Too few late deliveries to learn from: use their empirical quantiles.
            return self
        prepared = cast_categoricals(X, categories)
        base: dict[str, Any] = {
            "n_estimators": 200,
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_child_samples": 20,
        }
        base.update(self.params or {})
        for level in self.levels:
            model = lgb.LGBMRegressor(
                objective="quantile",
                alpha=level,
                random_state=seed,
                deterministic=True,
                force_row_wise=True,
                verbose=-1,
                **base,
            )
            model.fit(prepared, np.asarray(delay_days, dtype=float))
            self.models_.append(model)
        return self

    def predict(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Conditional delay quantiles, shape (rows, levels), non-decreasing along levels."""
        if not self.models_:
            return np.tile(self.fallback_, (len(X), 1))
        encoded = X if isinstance(X, Encoded) else encode_features(X, self.feature_names_, self.categories_)
        matrix = encoded.select(self.feature_names_)
        threads = prediction_threads(len(X))
        raw = np.column_stack([m.booster_.predict(matrix, **threads) for m in self.models_])
        return np.maximum(np.sort(raw, axis=1), self.min_delay_)


def mixture_quantile(
    p_late: np.ndarray, conditional: np.ndarray, levels: tuple[float, ...], target: float
) -> np.ndarray:
    """The ``target`` quantile of delay days given P(late) and conditional quantiles (0 when on time wins)."""
    p = np.clip(np.asarray(p_late, dtype=float), 1e-9, 1.0)
    needed = (target - (1.0 - p)) / p
    return np.where(needed > 0, interpolate_levels(conditional, levels, needed), 0.0)


def interpolate_levels(
    conditional: np.ndarray, levels: tuple[float, ...], wanted: np.ndarray | float
) -> np.ndarray:
    """Per row, the conditional quantile at level ``wanted``: linear between fitted levels, clamped.

    ``wanted`` is a scalar, one level per row, or an array ``(draws, rows)`` of levels.
    """
    grid = np.asarray(levels, dtype=float)
    wanted = np.asarray(wanted, dtype=float)
    shape = np.broadcast_shapes(wanted.shape, (len(conditional),))
    clipped = np.clip(np.broadcast_to(wanted, shape), grid[0], grid[-1])
    upper = np.clip(np.searchsorted(grid, clipped, side="left"), 1, len(grid) - 1)
    lower = upper - 1
    rows = np.arange(len(conditional))
    weight = (clipped - grid[lower]) / (grid[upper] - grid[lower])
    return conditional[rows, lower] * (1 - weight) + conditional[rows, upper] * weight

"""How late: delay days of late lines, as quantiles given late, mixed with P(late).

The models learn the delay of lines that were late and delivered by the training
as-of (late lines still open are censored and left out, which biases long delays
down; documented). Three methods give the conditional (given late) quantiles:

- ``residual`` (the default): one LightGBM median model of log delay, with each
  level its offset: that level's quantile of out-of-fold residuals (four blocks of
  the late lines in time order, each predicted by a model fitted on the other
  three), so the spread is what the model gets wrong on lines it did not see. One
  model of 50 trees for every level.
- ``per_level``: one LightGBM quantile model per level, 200 trees each (the earlier
  default: twenty times the trees for five levels, and worse on the SCMS backtest).
- ``empirical``: the late lines' own delay quantiles, the same for every line (the
  baseline; served when a learned method does not beat it on the backtest).

``backtest_delay`` measures a method beside ``empirical`` on the rolling-origin
folds: per level, the share of late lines delivered within the predicted quantile,
and the pinball loss. Unconditional quantiles combine them with the calibrated late
probability p: ``P(delay <= x) = (1 - p) + p * F_late(x)``.
"""

from __future__ import annotations

import copy
from typing import Any, Final, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from supplierrisk.modeling.backtest import Examples, Fold
from supplierrisk.modeling.classifier import training_categories
from supplierrisk.modeling.encoding import Encoded, cast_categoricals, encode_features, prediction_threads

DEFAULT_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
DelayMethod = Literal["residual", "per_level", "empirical"]
EMPIRICAL: Final = "empirical"
# Fewer late lines than this: their empirical quantiles, for every line.
MIN_LATE_LINES = 50
# Time-ordered blocks of the late lines whose out-of-fold residuals set ``residual``'s offsets.
RESIDUAL_BLOCKS = 4
_COMMON = {"deterministic": True, "force_row_wise": True, "verbose": -1}
_PARAMS: dict[str, dict[str, Any]] = {
    "residual": {"n_estimators": 50, "learning_rate": 0.15, "num_leaves": 15, "min_child_samples": 20},
    "per_level": {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 20},
}


class DelayQuantiles:
    """Conditional (given late) delay quantiles at fixed levels (see the module docstring)."""

    def __init__(
        self,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        params: dict[str, Any] | None = None,
        method: DelayMethod = "residual",
    ) -> None:
        self.levels = levels
        self.params = params
        self.method = method

    def fit(
        self, X: pd.DataFrame, delay_days: np.ndarray, categories: dict[str, list[str]], seed: int = 0
    ) -> DelayQuantiles:
        """Fit on late lines' delays, rows in event-time order (``residual``'s blocks follow it)."""
        delay_days = np.asarray(delay_days, dtype=float)
        self.categories_ = categories
        self.feature_names_ = list(X.columns)
        self.min_delay_ = float(np.min(delay_days)) if len(delay_days) else 1.0
        self.fallback_ = (
            np.quantile(delay_days, self.levels) if len(delay_days) else np.ones(len(self.levels))
        )
        self.models_: list[lgb.LGBMRegressor] = []
        if len(delay_days) < MIN_LATE_LINES or self.method == EMPIRICAL:
            # Too few late deliveries to learn from (or asked for): their empirical quantiles.
            return self
        prepared = cast_categoricals(X, categories)
        params = {**_COMMON, **_PARAMS[self.method], "random_state": seed, **(self.params or {})}
        if self.method == "per_level":
            for level in self.levels:
                model = lgb.LGBMRegressor(objective="quantile", alpha=level, **params)
                self.models_.append(model.fit(prepared, delay_days))
            return self
        log_delay = np.log1p(delay_days)
        residuals = np.empty(len(log_delay))
        for block in np.array_split(np.arange(len(log_delay)), RESIDUAL_BLOCKS):
            others = np.ones(len(log_delay), dtype=bool)
            others[block] = False
            model = _median_model(params).fit(prepared.iloc[others], log_delay[others])
            residuals[block] = log_delay[block] - model.booster_.predict(prepared.iloc[block])
        self.offsets_ = np.quantile(residuals, self.levels)
        self.models_.append(_median_model(params).fit(prepared, log_delay))
        return self

    def predict(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        """Conditional delay quantiles, shape (rows, levels), non-decreasing along levels."""
        if not self.models_:
            return np.tile(self.fallback_, (len(X), 1))
        encoded = X if isinstance(X, Encoded) else encode_features(X, self.feature_names_, self.categories_)
        matrix = encoded.select(self.feature_names_)
        threads = prediction_threads(len(X))
        # Models pickled before ``method`` existed fitted one quantile model per level.
        if getattr(self, "method", "per_level") == "residual":
            centre = np.asarray(self.models_[0].booster_.predict(matrix, **threads), dtype=float)
            raw = np.expm1(centre[:, None] + self.offsets_[None, :])
        else:
            raw = np.column_stack([m.booster_.predict(matrix, **threads) for m in self.models_])
        return np.maximum(np.sort(raw, axis=1), self.min_delay_)

    def empirical(self) -> DelayQuantiles:
        """The empirical quantiles of the same fit, the same for every line (the baseline)."""
        out = copy.copy(self)
        out.method, out.models_ = EMPIRICAL, []
        return out


def _median_model(params: dict[str, Any]) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(objective="quantile", alpha=0.5, **params)


def quantile_metrics(
    delay_days: np.ndarray, conditional: np.ndarray, levels: tuple[float, ...]
) -> dict[str, float]:
    """Per level the share of delays at or below the predicted quantile and its pinball loss; their means."""
    delay_days = np.asarray(delay_days, dtype=float)
    out: dict[str, float] = {}
    losses, misses = [], []
    for j, level in enumerate(levels):
        error = delay_days - conditional[:, j]
        name = f"q{round(level * 100):02d}"
        out[f"coverage_{name}"] = float(np.mean(error <= 0))
        out[f"pinball_{name}"] = float(np.mean(np.maximum(level * error, (level - 1) * error)))
        losses.append(out[f"pinball_{name}"])
        misses.append(abs(out[f"coverage_{name}"] - level))
    out["pinball_mean"] = float(np.mean(losses))
    out["coverage_abs_error_mean"] = float(np.mean(misses))
    return out


def _late_delivered(examples: Examples, by: pd.Timestamp) -> np.ndarray:
    """Late lines delivered by ``by`` (their delays are known then)."""
    return (
        examples.label
        & examples.aux["delay_days"].notna().to_numpy()
        & (examples.aux["delivered_date"] <= by).to_numpy()
    )


def fit_delay(
    train: Examples,
    cutoff: pd.Timestamp,
    categories: dict[str, list[str]],
    levels: tuple[float, ...],
    method: DelayMethod,
    seed: int,
) -> DelayQuantiles:
    """Delay quantiles fitted on the late lines of ``train`` delivered by ``cutoff``."""
    late = _late_delivered(train, cutoff)
    return DelayQuantiles(levels, method=method).fit(
        train.features.loc[late], train.aux["delay_days"].to_numpy()[late], categories, seed=seed
    )


def backtest_delay(
    examples: Examples,
    folds: list[Fold],
    categorical: list[str],
    levels: tuple[float, ...],
    method: DelayMethod,
    seed: int = 0,
) -> pd.DataFrame:
    """Per fold, ``method`` and ``empirical`` fitted at its cut-off, scored on its test window's late lines.

    Rows: fold, method, late test lines and ``quantile_metrics``. Folds whose test
    window holds no delivered late line are left out.
    """
    rows = []
    last_day = examples.aux["delivered_date"].max()
    for fold in folds:
        train = examples.known_at(fold.cutoff, fold.train_end)
        test = examples.between(fold.test_start, fold.test_end)
        late = _late_delivered(test, last_day)
        if not late.any():
            continue
        categories = training_categories(train.features, categorical)
        model = fit_delay(train, fold.cutoff, categories, levels, method, seed)
        delays = test.aux["delay_days"].to_numpy()[late]
        fitted = {method: model} | {EMPIRICAL: model.empirical()}
        for name, each in fitted.items():
            metrics = quantile_metrics(delays, each.predict(test.features.loc[late]), levels)
            rows.append({"fold": fold.number, "method": name, "n_test": int(late.sum()), **metrics})
    return pd.DataFrame(rows)


def served_delay(model: DelayQuantiles, backtest: pd.DataFrame) -> tuple[DelayQuantiles, str]:
    """The learned quantiles when their mean backtest pinball loss beats the empirical ones', and why."""
    if model.method == EMPIRICAL:
        return model, "delay quantiles: the late lines' empirical quantiles, as configured"
    if backtest.empty:
        return model, f"delay quantiles: {model.method} served, no backtest fold held a delivered late line"
    pinball = backtest.groupby("method")["pinball_mean"].mean()
    learned, baseline = float(pinball[model.method]), float(pinball[EMPIRICAL])
    if learned < baseline:
        return model, (
            f"delay quantiles: {model.method} served, mean backtest pinball loss {learned:.3f}"
            f" against {baseline:.3f} for the late lines' empirical quantiles"
        )
    return model.empirical(), (
        f"delay quantiles: the late lines' empirical quantiles served, mean backtest pinball loss"
        f" {baseline:.3f} against {learned:.3f} for {model.method} (a model no better than the baseline)"
    )


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

"""Training configuration (YAML): features, backtest, splits, LightGBM, calibration, delay, gate, bands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from supplierrisk.features import FeatureConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureSection(_Strict):
    """Point-in-time feature settings (tolerances come from the environment settings)."""

    windows_days: list[int] = Field(default_factory=lambda: [30, 90, 180, 365])
    long_window_days: int = 365
    decay_half_lives_days: list[float] = Field(default_factory=lambda: [21.0, 90.0])
    severe_delay_days: int = 14
    prior_strength_lines: float = 10.0
    load_window_days: int = 30


class BacktestSection(_Strict):
    """Rolling-origin backtest shape; ``gap_days: auto`` uses the 90th percentile promised lead time."""

    folds: int = Field(default=3, ge=1)
    test_days: int = Field(default=180, ge=7)
    gap_days: int | Literal["auto"] = "auto"
    min_train_days: int = Field(default=365, ge=30)


class SplitSection(_Strict):
    """Shares of a training window (by time) for fitting, early stopping and calibration."""

    fit: float = 0.7
    early_stopping: float = 0.15
    calibration: float = 0.15

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitSection:
        total = self.fit + self.early_stopping + self.calibration
        if abs(total - 1.0) > 1e-6 or min(self.fit, self.early_stopping, self.calibration) <= 0:
            raise ValueError("split shares must be positive and sum to 1")
        return self


class GateSection(_Strict):
    """Promotion margins: the challenger must beat the best baseline and the champion by these."""

    auc_margin: float = 0.0
    brier_margin: float = 0.0


class BandSection(_Strict):
    """Probability thresholds of the risk bands: low below ``medium``, high from ``high``."""

    medium: float = 0.2
    high: float = 0.5


class TrainConfig(_Strict):
    """What to train and how; one file per model kind."""

    model: Literal["otd", "disruption"] = "otd"
    seed: int = 42
    features: FeatureSection = Field(default_factory=FeatureSection)
    backtest: BacktestSection = Field(default_factory=BacktestSection)
    split: SplitSection = Field(default_factory=SplitSection)
    lightgbm: dict[str, Any] = Field(
        default_factory=lambda: {
            "n_estimators": 1000,
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_child_samples": 100,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.7,
            "reg_lambda": 1.0,
            "cat_smooth": 50,
            "min_data_per_group": 50,
            "cat_l2": 10,
            "path_smooth": 10,
        }
    )
    early_stopping_rounds: int = 100
    calibration_methods: list[Literal["offset_slope", "isotonic", "sigmoid"]] = Field(
        default=["offset_slope"]
    )
    offset_feature: str | None = "sup_late_rate_365d"
    excluded_features: list[str] = Field(default=["global_late_rate_365d"])
    delay_levels: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 0.75, 0.9])
    gate: GateSection = Field(default_factory=GateSection)
    bands: BandSection = Field(default_factory=BandSection)
    reference_sample_rows: int = 5000

    def feature_config(self, on_time_tolerance_days: int, in_full_tolerance: float) -> FeatureConfig:
        """The feature engine's settings, with the shared delivery tolerances."""
        f = self.features
        return FeatureConfig(
            windows_days=tuple(f.windows_days),
            long_window_days=f.long_window_days,
            decay_half_lives_days=tuple(f.decay_half_lives_days),
            severe_delay_days=f.severe_delay_days,
            on_time_tolerance_days=on_time_tolerance_days,
            in_full_tolerance=in_full_tolerance,
            prior_strength_lines=f.prior_strength_lines,
            load_window_days=f.load_window_days,
        )


def load_train_config(path: Path | None, model: str = "otd") -> TrainConfig:
    """Read a training YAML (defaults when ``path`` is None); errors name the file and key."""
    if path is None:
        return TrainConfig(model=model)  # type: ignore[arg-type]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read training config ({exc})") from None
    data.setdefault("model", model)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        entry = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: config entry '{entry}': {first['msg']}") from None

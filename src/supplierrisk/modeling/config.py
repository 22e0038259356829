"""Training configuration (YAML): features, backtest, splits, LightGBM, calibration, delay, gate, bands.

One schema serves both models; ``model: disruption`` starts from the disruption
defaults (``DISRUPTION_DEFAULTS``) wherever the YAML is silent, and adds the
disruption event and snapshot settings. Values left unset (``None``) are derived
from the history at training time (``supplierrisk.modeling.derive``); the logged
config is the resolved one, so a champion's backtest can be re-run as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from supplierrisk.features import FeatureConfig
from supplierrisk.labels import DisruptionEvent
from supplierrisk.modeling import derive
from supplierrisk.modeling.derive import Derived
from supplierrisk.yamlfile import read_yaml_mapping

CandidateName = Literal["lightgbm", "blend", "logistic_regression", "trailing_rate"]
CANDIDATES: tuple[CandidateName, ...] = ("lightgbm", "blend", "logistic_regression", "trailing_rate")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureSection(_Strict):
    """Point-in-time feature settings (tolerances come from the environment settings)."""

    windows_days: list[int] = Field(default_factory=lambda: [30, 90, 180, 365])
    long_window_days: int = 365
    decay_half_lives_days: list[float] = Field(default_factory=lambda: [21.0, 90.0])
    # None: derived from the history's delays (one value for features and the disruption event).
    severe_delay_days: int | None = Field(default=None, ge=1)
    prior_strength_lines: float = 10.0
    load_window_days: int = 30


class BacktestSection(_Strict):
    """Rolling-origin backtest shape; ``None`` and ``auto`` values are derived from the labelled history."""

    folds: int | None = Field(default=None, ge=1)
    test_days: int | None = Field(default=None, ge=7)
    gap_days: int | Literal["auto"] = "auto"
    min_train_days: int | None = Field(default=None, ge=30)


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
    """Which candidates compete, and the tie tolerance of the rule in ``supplierrisk.modeling.gate``."""

    candidates: list[CandidateName] = Field(default_factory=lambda: list(CANDIDATES))
    # Differences of mean AUC or Brier within this are ties, never a verdict.
    tie_tolerance: float = Field(default=0.0005, ge=0.0)


class BandSection(_Strict):
    """Probability thresholds of the risk bands: low below ``medium``, high from ``high``.

    The disruption model derives them from its event's base rate where the YAML is silent.
    """

    medium: float | None = Field(default=0.2, gt=0.0, lt=1.0)
    high: float | None = Field(default=0.5, gt=0.0, lt=1.0)


class EventSection(_Strict):
    """The disruption event (see ``supplierrisk.labels.DisruptionEvent``) and the snapshot calendar."""

    kind: Literal["excursion", "onset", "any_severe", "severe_share"] = "excursion"
    horizon_days: int | None = Field(default=None, ge=1)
    severe_delay_days: int | None = Field(default=None, ge=1)
    min_severe_share: float = Field(default=0.2, gt=0.0, le=1.0)
    window_days: int = Field(default=30, ge=1)
    normal_days: int = Field(default=365, ge=1)
    min_judged_lines: int = Field(default=3, ge=1)
    margin: float = Field(default=0.10, ge=0.0, lt=1.0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    whole_horizon: bool = True
    snapshot_frequency: Literal["MS", "W-MON", "QS"] | None = None


# Where a disruption config is silent: a smaller tree model (thousands of snapshots, not millions of
# lines), no offset (no single feature is a probability of the event), sigmoid calibration, and
# 90/180/365-day windows.
DISRUPTION_DEFAULTS: dict[str, Any] = {
    "features": {"windows_days": [90, 180, 365], "decay_half_lives_days": [90.0]},
    "lightgbm": {
        "n_estimators": 1000,
        "learning_rate": 0.03,
        "num_leaves": 7,
        "min_child_samples": 40,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.7,
        "reg_lambda": 5.0,
        "cat_smooth": 20,
        "min_data_per_group": 20,
        "path_smooth": 10,
    },
    "offset_feature": None,
    "calibration_methods": ["sigmoid"],
    # Constant within an as-of (lets the model learn dates) or not monotone in added delays.
    "excluded_features": ["global_late_rate_365d", "global_severe_rate_365d", "sup_lead_time_mean_days_365d"],
    "bands": {"medium": None, "high": None},
}


def _single_search_point() -> list[dict[str, Any]]:
    return [{}]


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
    # After the trees, blend weight and calibration are chosen out of time on the window's later parts,
    # refit the learned model and the logistic regression on the whole window (the latest lines included).
    refit_on_window: bool = True
    # The inner out-of-time search: overrides of ``lightgbm`` tried on every training window (the same
    # space for every dataset), the one with the best AUC on the early-stopping part kept. One point by
    # default: the three-point grid [{}, {num_leaves: 7, min_child_samples: 50}, {min_child_samples: 200}]
    # won at fewer SCMS as-ofs than the single point (2 of 7 against 3 of 7) at 2.5x the training time.
    lightgbm_search: list[dict[str, Any]] = Field(default_factory=_single_search_point)
    calibration_methods: list[Literal["offset_slope", "isotonic", "sigmoid"]] = Field(
        default=["offset_slope"]
    )
    offset_feature: str | None = "sup_late_rate_365d"
    excluded_features: list[str] = Field(default=["global_late_rate_365d"])
    delay_levels: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 0.75, 0.9])
    # How the delay-if-late quantiles are modelled (supplierrisk.modeling.delay): one median model
    # of log delay with out-of-fold residual offsets, one quantile model per level, or the late
    # lines' empirical quantiles. A learned method is served only if it beats the empirical
    # quantiles' pinball loss on the backtest folds.
    delay_method: Literal["residual", "per_level", "empirical"] = "residual"
    gate: GateSection = Field(default_factory=GateSection)
    bands: BandSection = Field(default_factory=BandSection)
    reference_sample_rows: int = 5000
    event: EventSection = Field(default_factory=EventSection)

    @model_validator(mode="after")
    def _one_severity_threshold(self) -> TrainConfig:
        # Labels, features and driver sentences must mean the same thing by "severe": one value for both.
        given = {self.features.severe_delay_days, self.event.severe_delay_days} - {None}
        if len(given) > 1:
            raise ValueError(
                f"event.severe_delay_days ({self.event.severe_delay_days}) and features.severe_delay_days"
                f" ({self.features.severe_delay_days}) differ: set one of them (the other follows)"
            )
        if given:
            value = given.pop()
            self.features.severe_delay_days = value
            self.event.severe_delay_days = value
        return self

    @model_validator(mode="before")
    @classmethod
    def _model_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("model") != "disruption":
            return data
        merged = dict(data)
        for key, default in DISRUPTION_DEFAULTS.items():
            given = merged.get(key)
            if given is None and key not in merged:
                merged[key] = default
            elif isinstance(default, dict) and isinstance(given, dict) and key != "lightgbm":
                merged[key] = {**default, **given}
        return merged

    @property
    def severe_delay_days(self) -> int:
        """The resolved severe-delay threshold."""
        return _resolved(self.features.severe_delay_days, "features.severe_delay_days")

    @property
    def horizon_days(self) -> int:
        """The resolved disruption horizon."""
        return _resolved(self.event.horizon_days, "event.horizon_days")

    @property
    def snapshot_frequency(self) -> str:
        """The resolved snapshot calendar."""
        return str(_resolved(self.event.snapshot_frequency, "event.snapshot_frequency"))

    @property
    def gap_days(self) -> int:
        """The resolved backtest gap."""
        return int(
            _resolved(None if self.backtest.gap_days == "auto" else self.backtest.gap_days, "gap_days")
        )

    def backtest_shape(self) -> tuple[int, int, int]:
        """The resolved folds, test window and minimum training days."""
        b = self.backtest
        return (
            _resolved(b.folds, "backtest.folds"),
            _resolved(b.test_days, "backtest.test_days"),
            _resolved(b.min_train_days, "backtest.min_train_days"),
        )

    def event_definition(self, on_time_tolerance_days: int = 0) -> DisruptionEvent:
        """The disruption event the labels use (resolved horizon and threshold)."""
        e = self.event
        return DisruptionEvent(
            kind=e.kind,
            horizon_days=self.horizon_days,
            severe_delay_days=self.severe_delay_days,
            min_severe_share=e.min_severe_share,
            window_days=e.window_days,
            normal_days=e.normal_days,
            min_judged_lines=e.min_judged_lines,
            margin=e.margin,
            confidence=e.confidence,
            prior_lines=self.features.prior_strength_lines,
            on_time_tolerance_days=on_time_tolerance_days,
            whole_horizon=e.whole_horizon,
        )

    @property
    def band_thresholds(self) -> tuple[float, float]:
        """The resolved (medium, high) band thresholds."""
        return (
            float(_resolved(self.bands.medium, "bands.medium")),
            float(_resolved(self.bands.high, "bands.high")),
        )

    def feature_config(self, on_time_tolerance_days: int, in_full_tolerance: float) -> FeatureConfig:
        """The feature engine's settings, with the shared delivery tolerances."""
        f = self.features
        return FeatureConfig(
            windows_days=tuple(f.windows_days),
            long_window_days=f.long_window_days,
            decay_half_lives_days=tuple(f.decay_half_lives_days),
            severe_delay_days=self.severe_delay_days,
            on_time_tolerance_days=on_time_tolerance_days,
            in_full_tolerance=in_full_tolerance,
            prior_strength_lines=f.prior_strength_lines,
            load_window_days=f.load_window_days,
            due_horizon_days=self.event.horizon_days or 90,
            excursion_margin=self.event.margin,
            excursion_confidence=self.event.confidence,
        )

    def with_values(self, derived: list[Derived]) -> TrainConfig:
        """The config with the derived values filled in (their keys are dotted paths)."""
        data = self.model_dump(mode="json")
        for item in derived:
            section, _, name = item.key.rpartition(".")
            target = data[section] if section else data
            target[name] = item.value
            if item.key == "severe_delay_days":
                data["features"]["severe_delay_days"] = item.value
                data["event"]["severe_delay_days"] = item.value
        data.pop("severe_delay_days", None)
        return TrainConfig.model_validate(data)


def _resolved(value: Any, key: str) -> Any:
    if value is None:
        raise ValueError(
            f"{key} is not resolved yet: derive it from the history first (resolve_data_settings)"
        )
    return value


def resolve_data_settings(
    config: TrainConfig, known: pd.DataFrame, as_of: pd.Timestamp, gap: Derived | None = None
) -> tuple[TrainConfig, list[Derived]]:
    """Fill in the settings the history decides before examples exist: severity, horizon, calendar, gap."""
    derived: list[Derived] = []
    span = int((pd.Timestamp(as_of) - pd.Timestamp(known["order_date"].min())).days)
    if config.features.severe_delay_days is None:
        derived.append(derive.severe_delay_days(known))
    if config.model == "disruption":
        if config.event.horizon_days is None:
            derived.append(derive.horizon_days(span))
        if config.event.snapshot_frequency is None:
            derived.append(derive.snapshot_frequency(int(known["supplier_id"].nunique()), span))
    if config.backtest.gap_days == "auto" and gap is not None:
        derived.append(gap)
    return config.with_values(derived), derived


def resolve_backtest(
    config: TrainConfig, event_time: pd.Series, as_of: pd.Timestamp
) -> tuple[TrainConfig, list[Derived]]:
    """Fill in the backtest shape from the labelled examples' event times (given values are kept)."""
    b = config.backtest
    given = {"folds": b.folds, "test_days": b.test_days, "min_train_days": b.min_train_days}
    if all(v is not None for v in given.values()):
        return config, []
    derived = derive.backtest_shape(config.model, event_time, as_of, config.gap_days, given)
    kept = [d for d in derived if given[d.key.rpartition(".")[2]] is None]
    return config.with_values(kept), kept


def load_train_config(path: Path | None, model: str = "otd") -> TrainConfig:
    """Read a training YAML (defaults when ``path`` is None); errors name the file and key."""
    if path is None:
        return TrainConfig.model_validate({"model": model})
    data = read_yaml_mapping(path, "training config", ValueError)
    data.setdefault("model", model)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        entry = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: config entry '{entry}': {first['msg']}") from None

"""The on-time-delivery model: examples, fitting, baselines, backtest and prediction.

``train_otd`` runs the whole recipe for one training as-of: point-in-time
examples, a rolling-origin backtest against the baselines on the same folds,
then the final model fitted on everything known at the as-of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from supplierrisk.features import (
    FeatureConfig,
    HistoryIndex,
    build_line_features,
    feature_schema,
    known_history,
)
from supplierrisk.labels import late_labels
from supplierrisk.modeling.backtest import (
    BacktestResult,
    BaselineFunction,
    Examples,
    Fold,
    make_folds,
    require_both_classes,
    run_backtest,
)
from supplierrisk.modeling.classifier import (
    CategoricalLgbm,
    as_text_frame,
    calibrate,
    logistic_baseline,
)
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.delay import DelayQuantiles, interpolate_levels, mixture_quantile
from supplierrisk.modeling.metrics import reliability_table

OTD_OUTPUTS = (
    "p_late",
    "risk_band",
    "delay_p50_days",
    "delay_p90_days",
    "delay_if_late_p50_days",
    "delay_if_late_p90_days",
)


@dataclass(frozen=True)
class FeatureSet:
    """Which line fields a history can feed as categorical and numeric features."""

    categorical: list[str]
    numeric_extras: list[str]


def is_lateness_feature(name: str) -> bool:
    """Supplier late-rate features (not the trend): the model is constrained to be increasing in them."""
    return name.startswith("sup_late_rate_") and "trend" not in name


def risk_bands(p: np.ndarray, medium: float, high: float) -> np.ndarray:
    """``low`` / ``medium`` / ``high`` at the configured probability thresholds."""
    return np.where(p >= high, "high", np.where(p >= medium, "medium", "low"))


def build_otd_examples(
    history: pd.DataFrame, as_of: pd.Timestamp, feature_config: FeatureConfig, excluded: tuple[str, ...] = ()
) -> tuple[Examples, FeatureSet]:
    """Lines with a known outcome at ``as_of``, with features as of their order dates.

    ``excluded`` features are computed (others may use them as priors) but not given to models.
    """
    known = known_history(history, as_of)
    labels = late_labels(known, as_of, feature_config.on_time_tolerance_days)
    lines = known.loc[labels["label_known"].to_numpy()]
    categorical, numeric = feature_schema(known)
    index = HistoryIndex(known, feature_config)
    features = build_line_features(index, lines, lines["order_date"], categorical, numeric)
    features = features.drop(columns=[c for c in excluded if c in features.columns])
    late = labels.loc[lines.index, "late"].to_numpy()
    due = lines["promised_date"] + pd.Timedelta(days=feature_config.on_time_tolerance_days)
    known_time = pd.Series(
        np.where(late, due + pd.Timedelta(days=1), lines["delivered_date"]), index=lines.index
    )
    aux = pd.DataFrame(
        {
            "delay_days": labels.loc[lines.index, "delay_days"],
            "delivered_date": lines["delivered_date"],
            "supplier_id": lines["supplier_id"],
            "category": lines["category"],
            "po_id": lines["po_id"],
            "line_id": lines["line_id"],
        },
        index=lines.index,
    )
    examples = Examples(features, late, lines["order_date"], pd.to_datetime(known_time), aux)
    return examples, FeatureSet(categorical, numeric)


class OtdModel:
    """A fitted OTD model: calibrated late probability plus delay quantiles."""

    def __init__(
        self,
        classifier: CategoricalLgbm,
        calibrator: object,
        calibration_method: str,
        delay: DelayQuantiles,
        feature_set: FeatureSet,
        bands: tuple[float, float],
        training_as_of: pd.Timestamp,
        feature_config: FeatureConfig,
    ) -> None:
        self.classifier = classifier
        self.calibrator = calibrator
        self.calibration_method = calibration_method
        self.delay = delay
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

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that each line arrives late."""
        frame = features.reindex(columns=self.feature_names)
        return np.asarray(self.calibrator.predict_proba(frame)[:, 1])  # type: ignore[attr-defined]

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """``p_late``, risk band, and delay quantiles (unconditional and if late) per line."""
        p = self.predict_proba(features)
        conditional = self.delay.predict(features.reindex(columns=self.feature_names))
        levels = self.delay.levels
        return pd.DataFrame(
            {
                "p_late": p,
                "risk_band": risk_bands(p, *self.bands),
                "delay_p50_days": mixture_quantile(p, conditional, levels, 0.5),
                "delay_p90_days": mixture_quantile(p, conditional, levels, 0.9),
                "delay_if_late_p50_days": interpolate_levels(conditional, levels, 0.5),
                "delay_if_late_p90_days": interpolate_levels(conditional, levels, 0.9),
            },
            index=features.index,
        )

    def drivers(self, features: pd.DataFrame, top: int = 3) -> list[list[dict[str, object]]]:
        """The ``top`` features pushing each line's late probability up (LightGBM contributions)."""
        contributions = self.classifier.contributions(features.reindex(columns=self.feature_names))
        out: list[list[dict[str, object]]] = []
        for label, row in contributions.iterrows():
            ranked = row.sort_values(ascending=False).head(top)
            out.append(
                [
                    {"feature": name, "value": _plain(features.at[label, name]), "contribution": float(value)}
                    for name, value in ranked.items()
                ]
            )
        return out


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def fit_otd(
    train: Examples,
    cutoff: pd.Timestamp,
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
    with_delay: bool = True,
) -> OtdModel:
    """Fit classifier (early stopping on a later window), calibration (latest window) and delay model.

    Backtest folds skip the delay model (``with_delay=False``): only probabilities are scored there.
    """
    fit_part, stop_part, cal_part = train.split(
        (config.split.fit, config.split.early_stopping, config.split.calibration)
    )
    require_both_classes(fit_part.label, "fitting window")
    require_both_classes(cal_part.label, "calibration window")
    classifier = CategoricalLgbm(
        categorical=tuple(feature_set.categorical),
        params=config.lightgbm,
        early_stopping_rounds=config.early_stopping_rounds,
        seed=config.seed,
        offset_feature=config.offset_feature,
        increasing=tuple(c for c in train.features.columns if is_lateness_feature(c)),
    ).fit(fit_part.features, fit_part.label, eval_set=(stop_part.features, stop_part.label))
    calibrator, method, _ = calibrate(
        classifier, cal_part.features, cal_part.label, tuple(config.calibration_methods)
    )
    # Delays of late lines delivered by the cut-off; none when the delay model is not wanted.
    delivered_late = (
        with_delay
        & train.label
        & train.aux["delay_days"].notna().to_numpy()
        & (train.aux["delivered_date"] <= cutoff).to_numpy()
    )
    delay = DelayQuantiles(tuple(config.delay_levels)).fit(
        train.features.loc[delivered_late],
        train.aux["delay_days"].to_numpy()[delivered_late],
        classifier.categories_,
        seed=config.seed,
    )
    return OtdModel(
        classifier,
        calibrator,
        method,
        delay,
        feature_set,
        (config.bands.medium, config.bands.high),
        cutoff,
        feature_config,
    )


def otd_baselines(feature_set: FeatureSet, seed: int) -> dict[str, BaselineFunction]:
    """Global late rate, smoothed supplier trailing late rate, and logistic regression."""

    def global_rate(train: Examples, test: Examples) -> np.ndarray:
        return np.full(len(test), float(train.label.mean()))

    def supplier_trailing(train: Examples, test: Examples) -> np.ndarray:
        return test.features["sup_late_rate_365d"].to_numpy(dtype=float)

    def logistic(train: Examples, test: Examples) -> np.ndarray:
        numeric = [c for c in train.features.columns if c not in feature_set.categorical]
        model = logistic_baseline(feature_set.categorical, numeric, seed)
        model.fit(as_text_frame(train.features, feature_set.categorical), train.label.astype(int))
        return np.asarray(model.predict_proba(as_text_frame(test.features, feature_set.categorical))[:, 1])

    return {
        "global_rate": global_rate,
        "supplier_trailing_rate": supplier_trailing,
        "logistic_regression": logistic,
    }


def auto_gap_days(history: pd.DataFrame) -> int:
    """A gap as long as typical lead times: the 90th percentile promised lead time, at least 30 days."""
    lead = (history["promised_date"] - history["order_date"]).dt.days.dropna()
    return max(30, int(np.ceil(lead.quantile(0.9)))) if len(lead) else 30


@dataclass
class OtdTraining:
    """Everything one OTD training produced, ready to log."""

    model: OtdModel
    backtest: BacktestResult
    folds: list[Fold]
    gap_days: int
    examples: int
    feature_set: FeatureSet
    reference: pd.DataFrame
    reliability: pd.DataFrame
    importance: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def backtest_otd(
    examples: Examples,
    folds: list[Fold],
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
) -> BacktestResult:
    """The OTD model and its baselines on the given folds."""

    def fit(train: Examples, cutoff: pd.Timestamp) -> object:
        model = fit_otd(train, cutoff, config, feature_set, feature_config, with_delay=False)
        return model.predict_proba

    return run_backtest(examples, folds, fit, otd_baselines(feature_set, config.seed))  # type: ignore[arg-type]


def train_otd(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, feature_config: FeatureConfig
) -> OtdTraining:
    """Backtest, then fit the final model on everything known at ``as_of``."""
    as_of = pd.Timestamp(as_of).normalize()
    examples, feature_set = build_otd_examples(
        history, as_of, feature_config, tuple(config.excluded_features)
    )
    if len(examples) == 0:
        raise ValueError(f"no line has a known outcome at {as_of.date()}: nothing to train on")
    gap = auto_gap_days(history) if config.backtest.gap_days == "auto" else int(config.backtest.gap_days)
    folds = make_folds(
        examples.event_time,
        as_of,
        config.backtest.folds,
        config.backtest.test_days,
        gap,
        config.backtest.min_train_days,
    )
    backtest = backtest_otd(examples, folds, config, feature_set, feature_config)
    final_train = examples.known_at(as_of, as_of - pd.Timedelta(days=gap))
    require_both_classes(
        final_train.label, f"final training window (before {(as_of - pd.Timedelta(days=gap)).date()})"
    )
    model = fit_otd(final_train, as_of, config, feature_set, feature_config)
    sample = min(config.reference_sample_rows, len(final_train))
    reference = (
        final_train.features.sample(sample, random_state=config.seed) if sample else final_train.features
    )
    reliability = reliability_table(
        backtest.predictions["label"].to_numpy(), backtest.predictions["p"].to_numpy()
    )
    return OtdTraining(
        model=model,
        backtest=backtest,
        folds=folds,
        gap_days=gap,
        examples=len(examples),
        feature_set=feature_set,
        reference=reference,
        reliability=reliability,
        importance=model.classifier.importance(),
    )

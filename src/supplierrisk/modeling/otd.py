"""The on-time-delivery model: examples, fitting, baselines, backtest and prediction.

``train_otd`` runs the whole recipe for one training as-of: point-in-time
examples, a rolling-origin backtest against the baselines on the same folds,
then the final model fitted on everything known at the as-of.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from supplierrisk.features import (
    FeatureConfig,
    HistoryIndex,
    build_line_features,
    feature_schema,
    known_history,
)
from supplierrisk.labels import late_labels, open_lines
from supplierrisk.modeling.backtest import BacktestResult, BaselineFunction, Examples, Fold
from supplierrisk.modeling.classifier import CategoricalLgbm
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.delay import DelayQuantiles, interpolate_levels, mixture_quantile
from supplierrisk.modeling.training import (
    CalibratedModel,
    FeatureSet,
    Training,
    backtest_with,
    fit_calibrated,
    global_rate_baseline,
    logistic_regression_baseline,
    require_deliveries,
    risk_bands,
    train_with_backtest,
)

OTD_OUTPUTS = (
    "p_late",
    "risk_band",
    "delay_p50_days",
    "delay_p90_days",
    "delay_if_late_p50_days",
    "delay_if_late_p90_days",
)


def is_lateness_feature(name: str) -> bool:
    """Supplier late-rate features (not the trend): the model is constrained to be increasing in them."""
    return name.startswith("sup_late_rate_") and "trend" not in name


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


class OtdModel(CalibratedModel):
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
        super().__init__(
            classifier, calibrator, calibration_method, feature_set, bands, training_as_of, feature_config
        )
        self.delay = delay

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """``p_late``, risk band, and delay quantiles (unconditional and if late) per line."""
        # Encoded once, read by the classifier and every delay model.
        encoded = self.classifier.encode(features)
        p = self.predict_proba(encoded)
        conditional = self.delay.predict(encoded)
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
    increasing = tuple(c for c in train.features.columns if is_lateness_feature(c))
    classifier, calibrator, method, _ = fit_calibrated(train, config, feature_set.categorical, increasing)
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

    def supplier_trailing(train: Examples, test: Examples) -> np.ndarray:
        return test.features["sup_late_rate_365d"].to_numpy(dtype=float)

    return {
        "global_rate": global_rate_baseline,
        "supplier_trailing_rate": supplier_trailing,
        "logistic_regression": logistic_regression_baseline(feature_set.categorical, seed),
    }


def auto_gap_days(history: pd.DataFrame) -> int:
    """A gap as long as typical lead times: the 90th percentile promised lead time, at least 30 days."""
    lead = (history["promised_date"] - history["order_date"]).dt.days.dropna()
    return max(30, int(np.ceil(lead.quantile(0.9)))) if len(lead) else 30


def backtest_otd(
    examples: Examples,
    folds: list[Fold],
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
) -> BacktestResult:
    """The OTD model and its baselines on the given folds."""

    def fit(train: Examples, cutoff: pd.Timestamp) -> OtdModel:
        return fit_otd(train, cutoff, config, feature_set, feature_config, with_delay=False)

    return backtest_with(examples, folds, fit, otd_baselines(feature_set, config.seed))


def rerun_otd_backtest(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    config: TrainConfig,
    feature_config: FeatureConfig,
    folds: list[Fold],
) -> BacktestResult:
    """Backtest a (champion's) config on given folds: examples rebuilt with that config."""
    examples, feature_set = build_otd_examples(
        history, as_of, feature_config, tuple(config.excluded_features)
    )
    return backtest_otd(examples, folds, config, feature_set, feature_config)


def scoring_reference(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
    rows: int,
    seed: int,
    months: int = 12,
) -> pd.DataFrame:
    """The drift reference: lines as a batch scores them, sampled from the last ``months`` months.

    For the first day of each month before ``as_of``, the lines open and not yet due
    that day, with features as of that day (what a nightly batch would have scored).
    Training rows are featurised at their order dates and would make every batch look
    drifted; this reference has the scoring population's shape.
    """
    known = known_history(history, as_of)
    index = HistoryIndex(known, feature_config)
    frames = []
    for day in pd.date_range(end=as_of, periods=months, freq="MS"):
        mask = open_lines(known, day, feature_config.on_time_tolerance_days).to_numpy()
        lines = known.loc[mask]
        if len(lines):
            when = pd.Series(day, index=lines.index)
            frames.append(
                build_line_features(index, lines, when, feature_set.categorical, feature_set.numeric_extras)
            )
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    return frame.sample(rows, random_state=seed) if len(frame) > rows else frame


def train_otd(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, feature_config: FeatureConfig
) -> Training:
    """Backtest, then fit the final model on everything known at ``as_of``."""
    as_of = pd.Timestamp(as_of).normalize()
    require_deliveries(history, "on-time-delivery model")
    examples, feature_set = build_otd_examples(
        history, as_of, feature_config, tuple(config.excluded_features)
    )
    if len(examples) == 0:
        raise ValueError(f"no line has a known outcome at {as_of.date()}: nothing to train on")
    gap = auto_gap_days(history) if config.backtest.gap_days == "auto" else int(config.backtest.gap_days)
    training = train_with_backtest(
        examples,
        as_of,
        config,
        gap,
        feature_set,
        backtest=lambda ex, folds: backtest_otd(ex, folds, config, feature_set, feature_config),
        fit_final=lambda train, cutoff: fit_otd(train, cutoff, config, feature_set, feature_config),
    )
    reference = scoring_reference(
        history, as_of, feature_set, feature_config, config.reference_sample_rows, config.seed
    )
    if len(reference):
        training.reference = reference.reindex(columns=training.reference.columns)
    else:
        training.notes.append("no open lines in the last year: the drift reference is a training sample")
    return training

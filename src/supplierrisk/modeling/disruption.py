"""The disruption-risk model: supplier snapshots, labels, fitting, baselines, backtest and prediction.

Examples are monthly ``(supplier, as-of)`` snapshots of every active supplier
(``supplierrisk.features.suppliers``), labelled by the disruption event in the
horizon after the as-of (``supplierrisk.labels.DisruptionEvent``). A snapshot is
used for training only once its label is fully known at the training as-of. The
training recipe (calibrated LightGBM, rolling-origin backtest against baselines
on the same folds) is the one shared with the OTD model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from supplierrisk.features import FeatureConfig, known_history
from supplierrisk.features.suppliers import SupplierHistoryIndex, active_snapshots, snapshot_dates
from supplierrisk.labels import DisruptionEvent, disruption_labels
from supplierrisk.modeling.backtest import BacktestResult, BaselineFunction, Examples, Fold
from supplierrisk.modeling.classifier import CategoricalLgbm
from supplierrisk.modeling.config import TrainConfig
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

DISRUPTION_OUTPUTS = ("p_disruption", "risk_score", "risk_band")
SNAPSHOT_CATEGORICALS = ("main_category", "supplier_country")

_INCREASING_PREFIXES = (
    "sup_late_rate_",
    "sup_late_lines_",
    "sup_severe_",
    "sup_delay_",
    "sup_overdue_",
    "sup_expected_severe_",
    "sup_open_",
    "category_late_rate_",
    "country_late_rate_",
    "mode_late_rate_",
    "category_severe_rate_",
    "country_severe_rate_",
)
_DECREASING_PREFIXES = ("sup_otif_rate_", "sup_fill_rate_", "sup_days_since_")


def risk_direction(name: str) -> int:
    """+1 when more of the feature may only raise the risk, -1 when it may only lower it, else 0.

    Lateness, severity, delay, expected severe delays, overdue and open exposure raise it; on-time-in-full,
    fill and time since the last (severe) delay lower it. Volume, breadth and
    lead-time variability are left free. The recent-against-long trends and the
    quarterly slope are constrained to rise too: a delay added in the last 90 days
    raises them (one added earlier in the year lowers them). So turning a supplier's
    deliveries of the last 90 days into severe delays cannot lower its risk; for
    older ones the guarantee does not hold.
    """
    if name.startswith(_DECREASING_PREFIXES):
        return -1
    if name.startswith(_INCREASING_PREFIXES):
        return 1
    return 0


def supplier_snapshots(
    index: SupplierHistoryIndex, as_of: pd.Timestamp, frequency: str, first: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Active ``(supplier_id, as_of)`` snapshots on the calendar up to ``as_of``."""
    start = first if first is not None else index.first_order_date
    return active_snapshots(index, snapshot_dates(start, as_of, frequency))


def build_disruption_examples(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    feature_config: FeatureConfig,
    event: DisruptionEvent,
    frequency: str = "MS",
    excluded: tuple[str, ...] = (),
) -> tuple[Examples, FeatureSet]:
    """Snapshots before ``as_of`` whose label is known at ``as_of``, with their features and labels.

    Event time is the snapshot's as-of; known time is when its label is settled.
    """
    as_of = pd.Timestamp(as_of).normalize()
    known = known_history(history, as_of)
    index = SupplierHistoryIndex(known, feature_config)
    snapshots = supplier_snapshots(index, as_of, frequency)
    labels = disruption_labels(known, snapshots, event)
    usable = (labels["label_known_date"] <= as_of).to_numpy()
    snapshots, labels = snapshots.loc[usable], labels.loc[usable]
    features = index.snapshot_features(snapshots)
    features = features.drop(columns=[c for c in excluded if c in features.columns])
    categorical = [c for c in SNAPSHOT_CATEGORICALS if c in features and features[c].notna().any()]
    features = features.drop(columns=[c for c in SNAPSHOT_CATEGORICALS if c not in categorical])
    aux = pd.concat([snapshots, labels.drop(columns=["event"])], axis=1)
    examples = Examples(
        features,
        labels["event"].to_numpy(),
        snapshots["as_of"],
        labels["label_known_date"],
        aux,
    )
    return examples, FeatureSet(categorical, [])


class DisruptionModel(CalibratedModel):
    """A fitted disruption model: calibrated probability, 0-100 risk score and band per snapshot."""

    def __init__(
        self,
        classifier: CategoricalLgbm,
        calibrator: object,
        calibration_method: str,
        feature_set: FeatureSet,
        bands: tuple[float, float],
        training_as_of: pd.Timestamp,
        feature_config: FeatureConfig,
        event: DisruptionEvent,
        frequency: str,
    ) -> None:
        super().__init__(
            classifier, calibrator, calibration_method, feature_set, bands, training_as_of, feature_config
        )
        self.event = event
        self.frequency = frequency

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """``p_disruption``, the 0-100 ``risk_score`` (the probability in percent) and ``risk_band``."""
        p = self.predict_proba(features)
        return pd.DataFrame(
            {
                "p_disruption": p,
                "risk_score": np.round(100.0 * p).astype(np.int64),
                "risk_band": risk_bands(p, *self.bands),
            },
            index=features.index,
        )


def fit_disruption(
    train: Examples,
    cutoff: pd.Timestamp,
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
) -> DisruptionModel:
    """Fit the monotone-constrained classifier and its calibration on snapshots known at ``cutoff``."""
    columns = list(train.features.columns)
    classifier, calibrator, method, _ = fit_calibrated(
        train,
        config,
        feature_set.categorical,
        increasing=tuple(c for c in columns if risk_direction(c) > 0),
        decreasing=tuple(c for c in columns if risk_direction(c) < 0),
    )
    return DisruptionModel(
        classifier,
        calibrator,
        method,
        feature_set,
        (config.bands.medium, config.bands.high),
        cutoff,
        feature_config,
        config.event.event(),
        config.event.snapshot_frequency,
    )


def _trailing_rate_baseline(column: str) -> BaselineFunction:
    """A supplier trailing rate, mapped to an event probability by a logistic fit on the training fold.

    The rate alone ranks suppliers; the one-variable fit on its log-odds (training
    data only) turns it into a probability so that its Brier score is fair.
    """

    def baseline(train: Examples, test: Examples) -> np.ndarray:
        def logit(frame: pd.DataFrame) -> np.ndarray:
            rate = np.clip(frame[column].to_numpy(dtype=float), 1e-4, 1 - 1e-4)
            return np.log(rate / (1 - rate)).reshape(-1, 1)

        model = LogisticRegression(C=1e4, max_iter=1000)
        model.fit(logit(train.features), train.label.astype(int))
        return np.asarray(model.predict_proba(logit(test.features))[:, 1])

    return baseline


def disruption_baselines(feature_set: FeatureSet, config: TrainConfig) -> dict[str, BaselineFunction]:
    """Trailing severe-delay rate, trailing late rate, global event rate and logistic regression."""
    long = config.features.long_window_days
    return {
        "global_event_rate": global_rate_baseline,
        "trailing_severe_rate": _trailing_rate_baseline(f"sup_severe_rate_{long}d"),
        "trailing_late_rate": _trailing_rate_baseline(f"sup_late_rate_{long}d"),
        "logistic_regression": logistic_regression_baseline(feature_set.categorical, config.seed),
    }


def backtest_disruption(
    examples: Examples,
    folds: list[Fold],
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
) -> BacktestResult:
    """The disruption model and its baselines on the given folds."""

    def fit(train: Examples, cutoff: pd.Timestamp) -> DisruptionModel:
        return fit_disruption(train, cutoff, config, feature_set, feature_config)

    return backtest_with(examples, folds, fit, disruption_baselines(feature_set, config))


def _examples(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, feature_config: FeatureConfig
) -> tuple[Examples, FeatureSet]:
    return build_disruption_examples(
        history,
        as_of,
        feature_config,
        config.event.event(),
        config.event.snapshot_frequency,
        tuple(config.excluded_features),
    )


def rerun_disruption_backtest(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    config: TrainConfig,
    feature_config: FeatureConfig,
    folds: list[Fold],
) -> BacktestResult:
    """Backtest a (champion's) config on given folds: snapshots rebuilt with that config."""
    examples, feature_set = _examples(history, as_of, config, feature_config)
    return backtest_disruption(examples, folds, config, feature_set, feature_config)


def train_disruption(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, feature_config: FeatureConfig
) -> Training:
    """Backtest by as-of date, then fit the final model on every snapshot whose label is known."""
    as_of = pd.Timestamp(as_of).normalize()
    require_deliveries(history, "disruption-risk model")
    examples, feature_set = _examples(history, as_of, config, feature_config)
    if len(examples) == 0:
        raise ValueError(f"no supplier snapshot has a known label at {as_of.date()}: nothing to train on")
    reach = config.event.event().label_reach_days
    gap = reach if config.backtest.gap_days == "auto" else max(reach, int(config.backtest.gap_days))
    training = train_with_backtest(
        examples,
        as_of,
        config,
        gap,
        feature_set,
        backtest=lambda ex, folds: backtest_disruption(ex, folds, config, feature_set, feature_config),
        fit_final=lambda train, cutoff: fit_disruption(train, cutoff, config, feature_set, feature_config),
    )
    # The drift reference: the last year of training snapshots (older years describe another supply base).
    end = as_of - pd.Timedelta(days=gap)
    recent = examples.between(end - pd.Timedelta(days=365), end).features
    if len(recent):
        sample = min(config.reference_sample_rows, len(recent))
        training.reference = recent.sample(sample, random_state=config.seed)
    return training

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

from supplierrisk.features import FeatureConfig, Tolerances, known_history
from supplierrisk.features.suppliers import SupplierHistoryIndex, active_snapshots, snapshot_dates
from supplierrisk.labels import EXCURSION_KINDS, DisruptionEvent, disruption_labels
from supplierrisk.modeling import derive
from supplierrisk.modeling.backtest import BacktestResult, Examples, Fold
from supplierrisk.modeling.candidates import CandidateSpec, Fitted
from supplierrisk.modeling.config import TrainConfig, resolve_data_settings
from supplierrisk.modeling.derive import Derived
from supplierrisk.modeling.scorers import Scorer
from supplierrisk.modeling.training import (
    CalibratedModel,
    FeatureSet,
    Training,
    backtest_candidates,
    require_deliveries,
    risk_bands,
    train_with_backtest,
)

DISRUPTION_OUTPUTS = ("p_disruption", "risk_score", "risk_band")
SNAPSHOT_CATEGORICALS = ("main_category", "supplier_country")

_INCREASING_PREFIXES = (
    "sup_late_rate_",
    "sup_late_lines_",
    "sup_late_excursion",
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
# Counts that grow with a supplier's size. A volume-free event must not be predicted from them:
# with them the model learns that more lines give the excursion test more power.
VOLUME_PREFIXES = (
    "sup_known_lines_",
    "sup_late_lines_",
    "sup_severe_lines_",
    "sup_open_",
    "sup_overdue_",
    "sup_expected_severe_lines_",
    "sup_severe_delay_prior_",
    "sup_ordered_lines_",
)


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

    Event time is the snapshot's as-of; known time is when its label is settled. For the
    volume-free events (``excursion``, ``onset``) the volume counts are left out as well.
    """
    as_of = pd.Timestamp(as_of).normalize()
    known = known_history(history, as_of)
    index = SupplierHistoryIndex(known, feature_config)
    snapshots = supplier_snapshots(index, as_of, frequency)
    labels = disruption_labels(known, snapshots, event)
    usable = (labels["label_known_date"] <= as_of).to_numpy()
    snapshots, labels = snapshots.loc[usable], labels.loc[usable]
    features = index.snapshot_features(snapshots)
    volume = [c for c in features.columns if event.kind in EXCURSION_KINDS and c.startswith(VOLUME_PREFIXES)]
    features = features.drop(columns=[c for c in (*excluded, *volume) if c in features.columns])
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
        classifier: Scorer,
        calibrator: object,
        calibration_method: str,
        feature_set: FeatureSet,
        bands: tuple[float, float],
        training_as_of: pd.Timestamp,
        feature_config: FeatureConfig,
        event: DisruptionEvent,
        frequency: str,
        candidate: str = "model",
    ) -> None:
        super().__init__(
            classifier,
            calibrator,
            calibration_method,
            feature_set,
            bands,
            training_as_of,
            feature_config,
            candidate,
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


def disruption_spec(feature_set: FeatureSet, columns: list[str], long_window_days: int) -> CandidateSpec:
    """The disruption candidates: monotone by ``risk_direction``; trailing severe and late rates."""
    return CandidateSpec(
        categorical=tuple(feature_set.categorical),
        increasing=tuple(c for c in columns if risk_direction(c) > 0),
        decreasing=tuple(c for c in columns if risk_direction(c) < 0),
        # The rate alone ranks suppliers; a one-variable fit on its log-odds makes it a fair probability.
        trailing=(
            ("trailing_severe_rate", f"sup_severe_rate_{long_window_days}d", True),
            ("trailing_late_rate", f"sup_late_rate_{long_window_days}d", True),
        ),
        global_row="global_event_rate",
    )


def build_disruption_model(
    fitted: Fitted,
    cutoff: pd.Timestamp,
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
) -> DisruptionModel:
    """The served candidate as a disruption model."""
    return DisruptionModel(
        fitted.scorer,
        fitted.calibrator,
        fitted.method,
        feature_set,
        config.band_thresholds,
        cutoff,
        feature_config,
        config.event_definition(feature_config.on_time_tolerance_days),
        config.snapshot_frequency,
        fitted.row,
    )


def _resolved(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, tolerances: Tolerances
) -> tuple[TrainConfig, list[Derived], FeatureConfig, Examples, FeatureSet]:
    """The config with what the history decides, its feature settings, and the labelled snapshots."""
    known = known_history(history, as_of)
    config, derived = resolve_data_settings(config, known, as_of)
    event = config.event_definition(tolerances.on_time_days)
    if config.backtest.gap_days == "auto":
        gap = Derived(
            "backtest.gap_days", event.label_reach_days, "the label's reach: when the horizon settles"
        )
        config, derived = config.with_values([gap]), [*derived, gap]
    feature_config = config.feature_config(tolerances.on_time_days, tolerances.in_full)
    examples, feature_set = build_disruption_examples(
        history, as_of, feature_config, event, config.snapshot_frequency, tuple(config.excluded_features)
    )
    if config.bands.medium is None or config.bands.high is None:
        bands = [
            d
            for d in derive.risk_bands(float(np.mean(examples.label)) if len(examples) else 0.0)
            if getattr(config.bands, d.key.rpartition(".")[2]) is None
        ]
        config, derived = config.with_values(bands), [*derived, *bands]
    return config, derived, feature_config, examples, feature_set


def rerun_disruption_backtest(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    config: TrainConfig,
    tolerances: Tolerances,
    folds: list[Fold],
) -> BacktestResult:
    """Backtest a (champion's) config on given folds: snapshots rebuilt with that config."""
    config, _, _, examples, feature_set = _resolved(history, as_of, config, tolerances)
    spec = disruption_spec(feature_set, list(examples.features.columns), config.features.long_window_days)
    return backtest_candidates(examples, folds, config, spec)


def train_disruption(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, tolerances: Tolerances
) -> Training:
    """Backtest the candidates by as-of date, then fit the served one on every labelled snapshot."""
    as_of = pd.Timestamp(as_of).normalize()
    require_deliveries(history, "disruption-risk model")
    config, derived, feature_config, examples, feature_set = _resolved(history, as_of, config, tolerances)
    if len(examples) == 0:
        raise ValueError(f"no supplier snapshot has a known label at {as_of.date()}: nothing to train on")
    spec = disruption_spec(feature_set, list(examples.features.columns), config.features.long_window_days)

    def build(
        fitted: Fitted, train: Examples, cutoff: pd.Timestamp, resolved: TrainConfig
    ) -> DisruptionModel:
        return build_disruption_model(fitted, cutoff, resolved, feature_set, feature_config)

    training = train_with_backtest(examples, as_of, config, feature_set, spec, build, derived)
    # The drift reference: the last year of training snapshots (older years describe another supply base).
    end = as_of - pd.Timedelta(days=training.gap_days)
    recent = examples.between(end - pd.Timedelta(days=365), end).features
    if len(recent):
        sample = min(config.reference_sample_rows, len(recent))
        training.reference = recent.sample(sample, random_state=config.seed)
    return training

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
    Tolerances,
    build_line_features,
    feature_schema,
    known_history,
)
from supplierrisk.labels import late_labels, open_lines
from supplierrisk.modeling import derive
from supplierrisk.modeling.backtest import BacktestResult, Examples, Fold
from supplierrisk.modeling.candidates import CandidateSpec, Fitted
from supplierrisk.modeling.config import TrainConfig, resolve_data_settings
from supplierrisk.modeling.delay import (
    DelayQuantiles,
    backtest_delay,
    fit_delay,
    interpolate_levels,
    mixture_quantile,
    served_delay,
)
from supplierrisk.modeling.dispersion import Dispersion, backtest_dispersion
from supplierrisk.modeling.encoding import Encoded
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
            "promised_date": lines["promised_date"],
        },
        index=lines.index,
    )
    examples = Examples(features, late, lines["order_date"], pd.to_datetime(known_time), aux)
    return examples, FeatureSet(categorical, numeric)


class OtdModel(CalibratedModel):
    """A fitted OTD model: calibrated late probability plus delay quantiles."""

    def __init__(
        self,
        classifier: Scorer,
        calibrator: object,
        calibration_method: str,
        delay: DelayQuantiles,
        feature_set: FeatureSet,
        bands: tuple[float, float],
        training_as_of: pd.Timestamp,
        feature_config: FeatureConfig,
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
        self.delay = delay
        # Set after the backtest (``train_otd``); models registered before scenarios lack it.
        self.late_dispersion: Dispersion | None = None
        # Set after the backtest: the delay quantiles' coverage and pinball loss per fold.
        self.delay_backtest: pd.DataFrame | None = None

    def predict(self, features: pd.DataFrame | Encoded) -> pd.DataFrame:
        """``p_late``, risk band, and delay quantiles (unconditional and if late) per line."""
        return self.predict_with_delays(features)[0]

    def predict_with_delays(self, features: pd.DataFrame | Encoded) -> tuple[pd.DataFrame, np.ndarray]:
        """``predict``'s frame and the conditional delay quantiles behind it (rows x ``delay.levels``).

        The frame has the features' index, or a fresh one for already encoded rows.
        """
        columns, conditional = self.predict_columns(features)
        index = features.index if isinstance(features, pd.DataFrame) else None
        return pd.DataFrame(columns, index=index), conditional

    def predict_columns(self, features: pd.DataFrame | Encoded) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``predict_with_delays`` with the outputs as arrays by name (no frame: online scoring)."""
        # Encoded once, read by the classifier and every delay model.
        encoded = self.classifier.encode(features)
        p = self.predict_proba(encoded)
        conditional = self.delay.predict(encoded)
        levels = self.delay.levels
        columns = {
            "p_late": p,
            "risk_band": risk_bands(p, *self.bands),
            "delay_p50_days": mixture_quantile(p, conditional, levels, 0.5),
            "delay_p90_days": mixture_quantile(p, conditional, levels, 0.9),
            "delay_if_late_p50_days": interpolate_levels(conditional, levels, 0.5),
            "delay_if_late_p90_days": interpolate_levels(conditional, levels, 0.9),
        }
        return columns, conditional


def otd_spec(feature_set: FeatureSet, columns: list[str], long_window_days: int) -> CandidateSpec:
    """The OTD candidates: monotone in the supplier late rates; the raw trailing late rate as a baseline."""
    return CandidateSpec(
        categorical=tuple(feature_set.categorical),
        increasing=tuple(c for c in columns if is_lateness_feature(c)),
        trailing=(("supplier_trailing_rate", f"sup_late_rate_{long_window_days}d", False),),
        global_row="global_rate",
    )


def build_otd_model(
    fitted: Fitted,
    train: Examples,
    cutoff: pd.Timestamp,
    config: TrainConfig,
    feature_set: FeatureSet,
    feature_config: FeatureConfig,
) -> OtdModel:
    """The served candidate with its delay quantiles (from late lines delivered by the cut-off)."""
    delay = fit_delay(
        train,
        cutoff,
        fitted.scorer.categories_,
        tuple(config.delay_levels),
        config.delay_method,
        config.seed,
    )
    return OtdModel(
        fitted.scorer,
        fitted.calibrator,
        fitted.method,
        delay,
        feature_set,
        config.band_thresholds,
        cutoff,
        feature_config,
        fitted.row,
    )


def resolve_otd_config(
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig
) -> tuple[pd.DataFrame, TrainConfig, list[derive.Derived]]:
    """What was known at ``as_of`` and the config with the settings it decides filled in."""
    known = known_history(history, as_of)
    config, derived = resolve_data_settings(config, known, as_of, derive.otd_gap_days(known))
    return known, config, derived


def rerun_otd_backtest(
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    config: TrainConfig,
    tolerances: Tolerances,
    folds: list[Fold],
) -> BacktestResult:
    """Backtest a (champion's) config on given folds: examples rebuilt with that config."""
    _, config, _ = resolve_otd_config(history, as_of, config)
    feature_config = config.feature_config(tolerances.on_time_days, tolerances.in_full)
    examples, feature_set = build_otd_examples(
        history, as_of, feature_config, tuple(config.excluded_features)
    )
    spec = otd_spec(feature_set, list(examples.features.columns), config.features.long_window_days)
    return backtest_candidates(examples, folds, config, spec)


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
    history: pd.DataFrame, as_of: pd.Timestamp, config: TrainConfig, tolerances: Tolerances
) -> Training:
    """Derive what the YAML leaves open, backtest the candidates, fit the served one on everything known."""
    as_of = pd.Timestamp(as_of).normalize()
    require_deliveries(history, "on-time-delivery model")
    _, config, derived = resolve_otd_config(history, as_of, config)
    feature_config = config.feature_config(tolerances.on_time_days, tolerances.in_full)
    examples, feature_set = build_otd_examples(
        history, as_of, feature_config, tuple(config.excluded_features)
    )
    if len(examples) == 0:
        raise ValueError(f"no line has a known outcome at {as_of.date()}: nothing to train on")
    spec = otd_spec(feature_set, list(examples.features.columns), config.features.long_window_days)

    def build(fitted: Fitted, train: Examples, cutoff: pd.Timestamp, resolved: TrainConfig) -> OtdModel:
        return build_otd_model(fitted, train, cutoff, resolved, feature_set, feature_config)

    training = train_with_backtest(examples, as_of, config, feature_set, spec, build, derived)
    training.model.late_dispersion = backtest_dispersion(
        training.backtest.predictions, training.backtest.scores(training.choice.row), examples.aux
    )
    training.model.delay_backtest = backtest_delay(
        examples,
        training.folds,
        feature_set.categorical,
        tuple(training.config.delay_levels),
        training.config.delay_method,
        training.config.seed,
    )
    training.model.delay, delay_note = served_delay(training.model.delay, training.model.delay_backtest)
    training.notes.append(delay_note)
    reference = scoring_reference(
        history, as_of, feature_set, feature_config, config.reference_sample_rows, config.seed
    )
    if len(reference):
        training.reference = reference.reindex(columns=training.reference.columns)
    else:
        training.notes.append("no open lines in the last year: the drift reference is a training sample")
    return training

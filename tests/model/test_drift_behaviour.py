"""Drift on synthetic histories: the drift switch's features are flagged when it is on, few when off."""

import pandas as pd
import pytest

from supplierrisk.features import Tolerances
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.otd import train_otd
from supplierrisk.modeling.scoring import history_at, score_open_lines_with_features
from supplierrisk.monitoring.drift import drift_section
from supplierrisk.synth import SynthConfig, generate_history

# What the generator's drift switch changes: quantities x1.5 and promised lead times x0.75.
DRIFTED = {"log_quantity_vs_usual", "promised_lead_time_days", "promised_vs_usual_promise_ratio"}


def drift_of(drift: bool) -> dict:
    synth = generate_history(SynthConfig(suppliers=300, years=2.75, seed=4, drift=drift, drift_months=3))
    config = TrainConfig()
    # Drift is a property of the features; a small, quick model is enough to score the batch.
    config = config.model_copy(
        update={
            "backtest": config.backtest.model_copy(update={"test_days": 60, "folds": 2}),
            "lightgbm": {**config.lightgbm, "n_estimators": 80, "learning_rate": 0.1},
            "early_stopping_rounds": 15,
        }
    )
    # Trained before the drift window starts; the batch is scored at the export date, inside it.
    trained_as_of = synth.export_date - pd.Timedelta(days=92)
    model = train_otd(synth.history, trained_as_of, config, Tolerances())
    at = history_at(synth.history, synth.export_date, model.model.feature_config, suppliers=False)
    scored, features = score_open_lines_with_features(model.model, at)
    section, _ = drift_section(
        model.reference,
        features,
        list(model.model.categories),
        model.model.feature_names,
        model.model.predict_proba(model.reference),
        scored["p_late"].to_numpy(),
        {},
        int(scored["supplier_id"].nunique()),
        alert_share=0.3,
        threshold=0.2,
        sample_rows=20_000,
    )
    return section


@pytest.fixture(scope="module")
def sections() -> dict[bool, dict]:
    return {drift: drift_of(drift) for drift in (False, True)}


def test_drift_switch_on_flags_the_drifted_features_and_alerts(sections) -> None:
    on = sections[True]
    flagged = {f["feature"] for f in on["features"] if f["drifted"]}
    assert flagged >= DRIFTED
    assert on["alert"]
    assert on["share_drifted"] >= 0.3


def test_drift_switch_off_flags_few_and_none_of_them(sections) -> None:
    off = sections[False]
    flagged = {f["feature"] for f in off["features"] if f["drifted"]}
    assert not flagged & DRIFTED
    assert off["share_drifted"] < 0.3
    assert off["share_drifted"] < sections[True]["share_drifted"]
    assert off["excluded"] == ["promised_month", "days_to_quarter_end"]

"""Drift on synthetic histories: the drift switch's features are flagged when it is on, few when off."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import Tolerances
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.otd import train_otd
from supplierrisk.modeling.scoring import history_at, score_open_lines_with_features
from supplierrisk.monitoring.verdicts import Reference, VerdictSettings, drift_section
from supplierrisk.synth import SynthConfig, generate_history

# What the generator's drift switch changes: quantities x1.5 and promised lead times x0.75 (and
# with them the promise against the usual one, which the switch-on batch need not flag).
DIRECT = {"log_quantity_vs_usual", "promised_lead_time_days"}
DRIFTED = DIRECT | {"promised_vs_usual_promise_ratio"}


def scoring_rows(model, history: pd.DataFrame, day: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    at = history_at(history, day, model.feature_config, suppliers=False)
    scored, features = score_open_lines_with_features(model, at)
    return scored, features.assign(supplier_id=scored["supplier_id"].to_numpy())


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
    # Trained when the drift window starts; the batch is scored four weeks into it, against the
    # scoring rows of the eight weekly batches before the window (the same days with the switch off).
    trained_as_of = synth.export_date - pd.Timedelta(days=92)
    model = train_otd(synth.history, trained_as_of, config, Tolerances()).model
    earlier = [
        scoring_rows(model, synth.history, trained_as_of - pd.Timedelta(days=7 * k))[1].assign(
            drift_batch=f"{trained_as_of - pd.Timedelta(days=7 * k):%Y%m%d}"
        )
        for k in range(8)
    ]
    scored, features = scoring_rows(model, synth.history, trained_as_of + pd.Timedelta(days=28))
    reference = Reference(pd.concat(earlier, ignore_index=True), "the last 8 batches", True, [])
    section, _ = drift_section(
        reference,
        None,
        features,
        (list(model.categories), model.feature_names),
        (np.array([0.1, 0.2]), scored["p_late"].to_numpy()),
        {},
        False,
        VerdictSettings(draws=60),
        engine=False,
    )
    return section


@pytest.fixture(scope="module")
def sections() -> dict[bool, dict]:
    return {drift: drift_of(drift) for drift in (False, True)}


def test_drift_switch_on_flags_the_drifted_features_and_alerts(sections) -> None:
    on = sections[True]
    flagged = {f["feature"] for f in on["features"] if f["drifted"]}
    assert flagged >= DIRECT
    assert on["alert"]
    units = {f["feature"]: f["unit"] for f in on["features"]}
    assert units["promised_lead_time_days"] == "line"
    assert units["sup_late_rate_90d"] == "supplier"
    lead = next(f for f in on["features"] if f["feature"] == "promised_lead_time_days")
    # x0.75 promised lead times: the median moves down, and the effective sample is stated.
    assert lead["change"]["current_median"] < lead["change"]["reference_median"]
    assert 0 < lead["effective_sample"] <= lead["rows"]


def test_drift_switch_off_flags_few_and_none_of_them(sections) -> None:
    off = sections[False]
    flagged = {f["feature"] for f in off["features"] if f["drifted"]}
    assert not flagged & DRIFTED
    assert off["features_drifted"] <= 2
    assert off["features_drifted"] < sections[True]["features_drifted"]
    assert "promised_month" in off["excluded"]
    assert not any(f["feature"].startswith("global_") for f in off["features"])

"""Disruption examples: only snapshots with a settled label, no label reaching past the as-of."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import known_history
from supplierrisk.labels import DisruptionEvent, disruption_labels
from supplierrisk.modeling.config import DISRUPTION_DEFAULTS, TrainConfig, load_train_config
from supplierrisk.modeling.disruption import build_disruption_examples, risk_direction
from tests.unit.features.conftest import random_history

CONFIG = TrainConfig.model_validate({"model": "disruption", "features": {"severe_delay_days": 14}})
FEATURES = CONFIG.feature_config(0, 0.0)
EVENT = DisruptionEvent(kind="any_severe")


@pytest.mark.parametrize("seed", [0, 1])
def test_only_snapshots_with_a_complete_horizon_are_used(seed: int) -> None:
    history = random_history(seed, n=800)
    as_of = pd.Timestamp("2024-03-15")
    examples, _ = build_disruption_examples(history, as_of, FEATURES, EVENT)
    assert len(examples) > 0
    # Every label is settled by the training as-of, so no label reaches past it.
    assert (examples.known_time <= as_of).all()
    assert (examples.event_time + pd.Timedelta(days=EVENT.label_reach_days) <= as_of).all()
    # The latest usable snapshot is the last month start whose horizon closed in time.
    assert examples.event_time.max() == pd.Timestamp("2023-12-01")
    # Labels equal those computed from the full (future) history: nothing was still unknown.
    snaps = examples.aux[["supplier_id", "as_of"]]
    full = disruption_labels(history, snaps, EVENT)
    np.testing.assert_array_equal(full["event"].to_numpy(), examples.label)


@pytest.mark.parametrize("seed", [2, 3])
def test_each_label_is_decided_by_what_was_known_on_its_label_date(seed: int) -> None:
    history = random_history(seed, n=800)
    as_of = pd.Timestamp("2024-03-15")
    examples, _ = build_disruption_examples(history, as_of, FEATURES, EVENT)
    snaps = examples.aux[["supplier_id", "as_of"]]
    # Recompute every label from the store as it was the day before its label date: same answers.
    for known_date, group in snaps.groupby(examples.known_time.to_numpy()):
        earlier = known_history(history, pd.Timestamp(known_date) - pd.Timedelta(days=1))
        labels = disruption_labels(earlier, group, EVENT)["event"].to_numpy()
        np.testing.assert_array_equal(labels, examples.label[snaps.index.get_indexer(group.index)])


def test_the_label_is_certain_only_from_its_label_date() -> None:
    # Promised on the horizon's last day (31 Mar) and delivered 13 days late (13 Apr): not severe.
    history = pd.DataFrame(
        {
            "supplier_id": ["S", "S"],
            "order_date": pd.to_datetime(["2023-12-01", "2023-12-01"]),
            "promised_date": pd.to_datetime(["2024-01-10", "2024-03-31"]),
            "delivered_date": pd.to_datetime(["2024-01-10", "2024-04-13"]),
        }
    )
    snaps = pd.DataFrame({"supplier_id": ["S"], "as_of": pd.to_datetime(["2024-01-01"])})
    known_date = disruption_labels(history, snaps, EVENT)["label_known_date"].iloc[0]
    assert known_date == pd.Timestamp("2024-04-14")
    # The store at the end of 13 Apr has the delivery: no disruption, the true label.
    settled = known_history(history, known_date - pd.Timedelta(days=1))
    assert not bool(disruption_labels(settled, snaps, EVENT)["event"].iloc[0])
    # A day earlier the line still looks open and would be counted severe: training must not use it yet.
    early = known_history(history, known_date - pd.Timedelta(days=2))
    assert bool(disruption_labels(early, snaps, EVENT)["event"].iloc[0])


def test_risk_directions() -> None:
    assert risk_direction("sup_severe_lines_90d") == 1
    assert risk_direction("sup_late_rate_slope_per_quarter_365d") == 1
    assert risk_direction("category_severe_rate_365d") == 1
    assert risk_direction("sup_otif_rate_90d") == -1
    assert risk_direction("sup_days_since_severe") == -1
    assert risk_direction("sup_lead_time_std_days_90d") == 0
    assert risk_direction("sup_known_lines_365d") == 0


def test_disruption_config_defaults_and_overrides(tmp_path) -> None:
    assert CONFIG.features.windows_days == DISRUPTION_DEFAULTS["features"]["windows_days"]
    assert CONFIG.offset_feature is None
    # The logistic regression is a gated baseline and a candidate, like the learned model.
    assert "logistic_regression" in CONFIG.gate.candidates
    path = tmp_path / "d.yaml"
    path.write_text(
        "model: disruption\nevent:\n  kind: severe_share\n  horizon_days: 60\n  severe_delay_days: 14\n"
        "features:\n  prior_strength_lines: 5\n"
    )
    loaded = load_train_config(path, "disruption")
    # The event's pseudo-lines are the features' prior strength (one smoothing for both).
    assert loaded.event_definition() == DisruptionEvent(kind="severe_share", horizon_days=60, prior_lines=5)
    # One severity threshold: setting it on the event sets the features' too.
    assert loaded.features.severe_delay_days == 14
    # Nested sections merge with the disruption defaults.
    assert loaded.features.windows_days == [90, 180, 365]
    assert loaded.features.prior_strength_lines == 5
    assert loaded.feature_config(0, 0.0).due_horizon_days == 60
    # The OTD defaults are untouched.
    assert TrainConfig().features.windows_days == [30, 90, 180, 365]


def test_bad_event_config_names_the_entry(tmp_path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("model: disruption\nevent:\n  kind: often\n")
    with pytest.raises(ValueError, match=r"event\.kind"):
        load_train_config(path, "disruption")

import numpy as np
import pandas as pd
import pytest

from supplierrisk.schema import CANONICAL_FIELDS, conform
from supplierrisk.synth import SynthConfig, generate_history, write_synth


@pytest.fixture(scope="module")
def synth() -> object:
    return generate_history(SynthConfig(suppliers=120, years=2.0, seed=3))


def test_history_is_canonical(synth) -> None:
    history = synth.history
    assert list(history.columns[: len(CANONICAL_FIELDS)]) == list(CANONICAL_FIELDS)
    assert {"extra_priority", "extra_distance_km"} <= set(history.columns)
    pd.testing.assert_frame_equal(history, conform(history))
    assert not history.duplicated(["po_id", "line_id"]).any()
    assert (history["promised_date"] >= history["order_date"]).all()
    delivered = history["delivered_date"].notna()
    assert (history.loc[delivered, "delivered_date"] >= history.loc[delivered, "order_date"]).all()
    assert (history.loc[delivered, "delivered_date"] <= synth.export_date).all()
    assert history.loc[~delivered, "quantity_received"].isna().all()


def test_open_lines_both_overdue_and_not_yet_due(synth) -> None:
    history = synth.history
    open_ = history["delivered_date"].isna()
    assert (open_ & (history["promised_date"] < synth.export_date)).any()
    assert (open_ & (history["promised_date"] >= synth.export_date)).any()


def test_deterministic_by_seed() -> None:
    a = generate_history(SynthConfig(suppliers=30, years=1.0, seed=7))
    b = generate_history(SynthConfig(suppliers=30, years=1.0, seed=7))
    c = generate_history(SynthConfig(suppliers=30, years=1.0, seed=8))
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.history["order_date"].equals(c.history["order_date"]) or len(a.history) != len(c.history)


def test_truth_matches_outcomes(synth) -> None:
    truth, history = synth.truth, synth.history
    assert (truth["po_id"].to_numpy() == history["po_id"].to_numpy()).all()
    n = len(truth)
    # Realised late share within 4 standard errors of the mean true probability.
    se = np.sqrt(truth["p_late_true"].mean() * (1 - truth["p_late_true"].mean()) / n)
    assert abs(truth["late_true"].mean() - truth["p_late_true"].mean()) < 4 * se
    delivered = history["delivered_date"].notna().to_numpy()
    observed_late = (history["delivered_date"] > history["promised_date"]).to_numpy()
    assert (observed_late[delivered] == truth["late_true"].to_numpy()[delivered]).all()
    assert 0.05 < truth["late_true"].mean() < 0.3


def test_late_deliveries_cluster_in_episodes(synth) -> None:
    truth = synth.truth
    inside = truth.loc[truth["in_disruption"], "late_true"].mean()
    outside = truth.loc[~truth["in_disruption"], "late_true"].mean()
    assert inside > 2 * outside
    assert len(synth.episodes) > 0


def test_drift_switch_changes_the_last_months() -> None:
    def ocean_share(drift: bool) -> tuple[float, float]:
        result = generate_history(SynthConfig(suppliers=150, years=2.0, seed=4, drift=drift))
        history = result.history
        recent = history["order_date"] >= result.export_date - pd.Timedelta(days=80)
        ocean = history["ship_mode"] == "Ocean"
        return ocean[recent].mean(), ocean[~recent].mean()

    recent_on, earlier_on = ocean_share(True)
    recent_off, earlier_off = ocean_share(False)
    assert recent_on > earlier_on + 0.2
    assert abs(recent_off - earlier_off) < 0.06


def test_write_synth_round_trips(synth, tmp_path) -> None:
    paths = write_synth(synth, tmp_path)
    assert set(paths) == {"history", "truth", "episodes", "suppliers"}
    pd.testing.assert_frame_equal(conform(pd.read_parquet(paths["history"])), synth.history)

"""Calibrated drift thresholds: a reference against itself stays within its false-alarm rate."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.monitoring.thresholds import (
    benjamini_hochberg,
    categorical_distance,
    effective_sample,
    null_distances,
    numerical_distance,
)
from supplierrisk.monitoring.verdicts import VerdictSettings, calibrated_verdicts, feature_unit

RATE = 0.05


def clustered(
    rng: np.random.Generator, suppliers: int, shift: float = 0.0, prefix: str = "s"
) -> pd.DataFrame:
    """Rows of suppliers whose values share a strong supplier effect (as lines of one supplier do)."""
    sizes = rng.integers(2, 25, suppliers)
    supplier = np.repeat([f"{prefix}{i}" for i in range(suppliers)], sizes)
    effect = np.repeat(rng.normal(0, 1, suppliers), sizes)
    mode_of = np.repeat(rng.choice(["Air", "Ocean", "Truck"], suppliers, p=[0.3, 0.5, 0.2]), sizes)
    n = len(supplier)
    return pd.DataFrame(
        {
            "supplier_id": supplier,
            "lead": effect + 0.3 * rng.normal(0, 1, n) + shift,
            "quantity": np.repeat(rng.gamma(2, 1, suppliers), sizes) * rng.gamma(5, 0.2, n),
            "mode": np.where(rng.random(n) < 0.8, mode_of, rng.choice(["Air", "Ocean", "Truck"], n)),
        }
    )


def any_alarm(reference: pd.DataFrame, batch: pd.DataFrame, seed: int, clustered_null: bool) -> bool:
    if clustered_null:
        suppliers, batch_size = reference["supplier_id"], batch["supplier_id"].nunique()
    else:  # rows as if independent: batch-sized draws of single rows
        suppliers, batch_size = pd.Series(np.arange(len(reference)).astype(str)), len(batch)
    p = []
    for column, categorical in (("lead", False), ("quantity", False), ("mode", True)):
        if categorical:
            observed = categorical_distance(reference[column], batch[column])
        else:
            observed = numerical_distance(reference[column].to_numpy(), batch[column].to_numpy())
        null = null_distances(reference[column], suppliers, batch_size, categorical, 50, seed)
        p.append(null.p_value(observed))
    return bool(benjamini_hochberg(np.array(p), RATE)[0].any())


def test_a_reference_against_itself_stays_within_its_false_alarm_rate_over_many_seeds() -> None:
    alarms, naive = [], []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        reference, batch = clustered(rng, 80), clustered(rng, 30, prefix="b")
        alarms.append(any_alarm(reference, batch, seed, clustered_null=True))
        naive.append(any_alarm(reference, batch, seed, clustered_null=False))
    # 60 seeds: the binomial 95% upper bound of a 5% rate is about 11%.
    assert np.mean(alarms) <= 0.11
    # Treating clustered rows as independent, as a fixed line-level test does, alarms far more often.
    assert np.mean(naive) > 3 * max(np.mean(alarms), 0.02)


def test_a_shift_of_one_feature_is_found_and_only_that_one() -> None:
    rng = np.random.default_rng(7)
    reference, batch = clustered(rng, 80), clustered(rng, 40, shift=1.5, prefix="b")
    settings = VerdictSettings(draws=80)
    result = calibrated_verdicts(reference, batch, ["lead", "quantity"], ["mode"], False, settings)
    flagged = set(result.table.loc[result.table["drifted"], "feature"])
    assert flagged == {"lead"}
    # Evidently's verdict is the Benjamini-Hochberg verdict, its score our distance.
    assert (result.table["drifted"] == result.table["bh_rejected"]).all()
    assert result.table["score"].to_numpy() == pytest.approx(result.table["distance"].to_numpy(), rel=1e-6)
    assert set(result.table["method"]) == {"wasserstein", "jensenshannon"}


def test_effective_sample_is_the_supplier_count_at_supplier_level_and_shrinks_with_clustering() -> None:
    rng = np.random.default_rng(3)
    reference, batch = clustered(rng, 80), clustered(rng, 40, prefix="b")
    settings = VerdictSettings(draws=60)
    result = calibrated_verdicts(reference, batch, ["lead"], [], False, settings).table.iloc[0]
    assert result["design_effect"] > 3  # the supplier effect dominates the lead's variance
    assert 40 <= result["effective_sample"] < len(batch) / 3
    assert effective_sample(500, 40, 10.0, supplier_level=True) == 40
    assert effective_sample(500, 40, 2.0, supplier_level=False) == 250


def test_benjamini_hochberg_by_hand() -> None:
    rejected, cutoff = benjamini_hochberg(np.array([0.001, 0.02, 0.04, 0.3]), 0.05)
    # 0.001 <= 0.0125 and 0.02 <= 0.025; 0.04 > 0.0375 and 0.3 > 0.05: two rejections.
    assert rejected.tolist() == [True, True, False, False]
    assert cutoff == pytest.approx(0.025)
    none, _ = benjamini_hochberg(np.array([0.2, 0.5]), 0.05)
    assert not none.any()


def test_units_of_features() -> None:
    assert feature_unit("sup_late_rate_90d", rows_are_suppliers=False) == "supplier"
    assert feature_unit("promised_lead_time_days", rows_are_suppliers=False) == "line"
    assert feature_unit("ship_mode", rows_are_suppliers=True) == "supplier"
    assert feature_unit("global_late_rate_365d", rows_are_suppliers=True) == "batch"

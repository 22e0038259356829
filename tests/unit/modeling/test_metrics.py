import numpy as np
import pytest

from supplierrisk.modeling.metrics import binary_metrics, expected_calibration_error, reliability_table


def test_ece_by_hand() -> None:
    y = np.array([0, 1, 0, 0, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.95, 0.95])
    # Bin [0, .1): mean p .05, observed .5 -> gap .45, weight 2/6; bin [.9, 1]: p .95, observed .5 -> gap .45.
    assert expected_calibration_error(y, p) == pytest.approx(0.45)
    table = reliability_table(y, p)
    assert table["count"].sum() == 6
    assert table.loc[0, "observed"] == pytest.approx(0.5)
    assert table.loc[9, "mean_predicted"] == pytest.approx(0.95)


def test_perfect_and_single_class() -> None:
    y = np.array([0, 0, 1, 1])
    perfect = binary_metrics(y, np.array([0.0, 0.0, 1.0, 1.0]))
    assert perfect["roc_auc"] == 1.0
    assert perfect["brier"] == pytest.approx(0.0, abs=1e-9)
    single = binary_metrics(np.zeros(3, dtype=int), np.array([0.1, 0.2, 0.3]))
    assert np.isnan(single["roc_auc"])
    assert single["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)

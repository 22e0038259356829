"""Drift: Evidently per-feature verdicts on shifted columns, PSI by hand, unseen values."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.monitoring.drift import feature_drift, prediction_drift, psi, unseen_values


def frames(seed: int = 0, n: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def make(shift: float, mode_p: list[float]) -> pd.DataFrame:
        frame = pd.DataFrame({f"x{i}": rng.normal(0, 1, n) for i in range(6)})
        frame["x0"] += shift
        frame["mode"] = rng.choice(["Air", "Ocean", "Truck"], n, p=mode_p)
        frame.loc[rng.random(n) < 0.05, "mode"] = None
        return frame

    return make(0.0, [0.3, 0.5, 0.2]), make(1.0, [0.1, 0.2, 0.7])


def test_shifted_columns_and_only_those_are_flagged() -> None:
    reference, current = frames()
    numeric = [f"x{i}" for i in range(6)]
    result = feature_drift(reference, current, numeric, ["mode"], alert_share=0.3, threshold=0.2)
    flagged = set(result.table.loc[result.table["drifted"], "feature"])
    assert flagged == {"x0", "mode"}
    assert result.summary["features_drifted"] == 2
    assert result.summary["share_drifted"] == pytest.approx(2 / 7)
    assert not result.summary["alert"]  # 2 of 7 is below 30 %
    row = result.table.set_index("feature").loc["x0"]
    assert row["score"] >= row["threshold"] == 0.2
    assert row["kind"] == "numerical"


def test_empty_and_missing_columns_are_skipped_with_reasons() -> None:
    reference, current = frames(1, 500)
    current["x5"] = np.nan
    result = feature_drift(reference, current, ["x0", "x5", "absent"], [], alert_share=0.5)
    assert result.summary["skipped"] == {
        "x5": "empty in the batch",
        "absent": "missing in the reference or the batch",
    }
    assert result.table["feature"].tolist() == ["x0"]


def test_psi_by_hand() -> None:
    reference = np.arange(1000) / 1000.0
    assert psi(reference, reference) == pytest.approx(0.0, abs=1e-9)
    # Everything in the top decile. Smoothed shares: reference (100 + 0.5) / 1005 in every bin;
    # batch (100 + 0.5) / 105 in the top bin and 0.5 / 105 in the nine others.
    current = np.full(100, 0.95)
    e = 100.5 / 1005
    top, rest = 100.5 / 105, 0.5 / 105
    expected = (top - e) * np.log(top / e) + 9 * (rest - e) * np.log(rest / e)
    assert psi(reference, current) == pytest.approx(expected, rel=1e-9)
    assert prediction_drift(reference, current)["drifted"]


def test_unseen_values_and_new_suppliers() -> None:
    features = pd.DataFrame({"ship_mode": ["Air", "Rail", "Rail", None]})
    first_order = pd.Series(pd.to_datetime(["2020-01-01", "2024-06-01"]), index=["OLD", "NEW"])
    out = unseen_values(
        features, {"ship_mode": ["Air", "Ocean"]}, pd.Series(["OLD", "NEW", "NEW"]), first_order, "2024-01-01"
    )
    assert out["unseen_share"] == {"ship_mode": pytest.approx(2 / 3)}
    assert out["new_suppliers"] == 1
    assert out["new_supplier_share"] == 0.5
    assert out["new_supplier_examples"] == ["NEW"]

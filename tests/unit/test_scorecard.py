"""Supplier scorecard: hand-computed scores, missing KPIs, thin data, estimates and config errors."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from supplierrisk.kpis import compute_kpis
from supplierrisk.schema import conform
from supplierrisk.scorecard import (
    Criterion,
    ScorecardConfig,
    ScorecardConfigError,
    load_scorecard_config,
    score_suppliers,
)

DEFAULT = Path(str(resources.files("supplierrisk") / "config" / "scorecard.yaml"))


def kpi_row(**values: Any) -> dict[str, Any]:
    """Build a KPI table row: point values given, bounds equal to the point unless given."""
    base: dict[str, Any] = {
        "supplier_id": "S1",
        "otd_lines": 20,
        "otd_rate": 0.9,
        "otif_rate": 0.75,
        "fill_rate": 0.95,
        "reject_ppm": 2000.0,
        "ipv_share": 0.05,
    }
    base.update(values)
    for kpi in ["otd_rate", "otif_rate", "fill_rate", "reject_ppm", "ipv_share"]:
        base.setdefault(f"{kpi}_lo", base[kpi])
        base.setdefault(f"{kpi}_hi", base[kpi])
    return base


def config(**overrides: Any) -> ScorecardConfig:
    return load_scorecard_config(DEFAULT).model_copy(update=overrides)


def test_default_config_is_the_documented_one() -> None:
    cfg = load_scorecard_config(DEFAULT)
    assert cfg.min_lines == 5
    assert cfg.estimate == "point"
    assert [(c.kpi, c.weight, c.worst, c.best) for c in cfg.criteria] == [
        ("otd_rate", 0.4, 0.5, 1.0),
        ("otif_rate", 0.2, 0.5, 1.0),
        ("fill_rate", 0.2, 0.8, 1.0),
        ("reject_ppm", 0.1, 10000.0, 0.0),
        ("ipv_share", 0.1, 0.2, 0.0),
    ]


def test_hand_computed_score() -> None:
    scored = score_suppliers(pd.DataFrame([kpi_row()]), config())
    # otd 0.9 -> 80, otif 0.75 -> 50, fill 0.95 -> 75, 2000 ppm -> 80, ipv 5% -> 75.
    expected = 0.4 * 80 + 0.2 * 50 + 0.2 * 75 + 0.1 * 80 + 0.1 * 75
    assert scored["score"].iloc[0] == pytest.approx(expected)  # 72.5
    assert scored["score_note"].iloc[0] == ""


def test_criteria_are_clipped_to_0_and_100() -> None:
    table = pd.DataFrame(
        [
            kpi_row(otd_rate=1.0, otif_rate=1.0, fill_rate=1.1, reject_ppm=0.0, ipv_share=0.0),
            kpi_row(
                supplier_id="S2", otd_rate=0.1, otif_rate=0.0, fill_rate=0.5, reject_ppm=1e6, ipv_share=1.0
            ),
        ]
    )
    scored = score_suppliers(table, config())
    assert list(scored["score"]) == [pytest.approx(100.0), pytest.approx(0.0)]


def test_missing_kpis_renormalise_weights_and_are_noted() -> None:
    table = pd.DataFrame([kpi_row(fill_rate=np.nan, reject_ppm=np.nan)]).drop(columns=["ipv_share"])
    scored = score_suppliers(table, config())
    # Left: otd 80 (0.4) and otif 50 (0.2); fill, reject and ipv unavailable.
    assert scored["score"].iloc[0] == pytest.approx((0.4 * 80 + 0.2 * 50) / 0.6)
    assert scored["score_note"].iloc[0] == "skipped (no data): fill_rate, reject_ppm, ipv_share"


def test_too_few_lines_gives_no_score() -> None:
    table = pd.DataFrame(
        [
            kpi_row(otd_lines=4, otd_rate=1.0),
            kpi_row(supplier_id="S2", otd_lines=0, otd_rate=np.nan, otif_rate=np.nan),
            kpi_row(supplier_id="S3", otd_lines=5),
        ]
    )
    scored = score_suppliers(table, config())
    assert math.isnan(scored["score"].iloc[0])
    assert scored["score_note"].iloc[0] == "insufficient data: 4 evaluated lines < min_lines 5"
    assert math.isnan(scored["score"].iloc[1])
    assert scored["score_note"].iloc[1].startswith("insufficient data: 0 evaluated lines")
    assert scored["score"].iloc[2] == pytest.approx(72.5)


def test_no_available_criterion_gives_no_score() -> None:
    row = kpi_row(otd_rate=np.nan, otif_rate=np.nan, fill_rate=np.nan, reject_ppm=np.nan, ipv_share=np.nan)
    scored = score_suppliers(pd.DataFrame([row]), config())
    assert math.isnan(scored["score"].iloc[0])
    assert scored["score_note"].iloc[0].startswith("no criteria available")


def test_lower_estimate_uses_the_worse_bound() -> None:
    row = kpi_row(
        otd_rate_lo=0.8,
        otd_rate_hi=0.95,
        otif_rate_lo=0.6,
        fill_rate_lo=0.9,
        reject_ppm_lo=1000.0,
        reject_ppm_hi=5000.0,
        ipv_share_lo=0.0,
        ipv_share_hi=0.1,
    )
    table = pd.DataFrame([row])
    point = score_suppliers(table, config())["score"].iloc[0]
    lower = score_suppliers(table, config(estimate="lower"))["score"].iloc[0]
    # otd lo 0.8 -> 60, otif lo 0.6 -> 20, fill lo 0.9 -> 50, ppm hi 5000 -> 50, ipv hi 0.1 -> 50.
    assert lower == pytest.approx(0.4 * 60 + 0.2 * 20 + 0.2 * 50 + 0.1 * 50 + 0.1 * 50)
    assert lower < point


def test_lower_estimate_without_an_interval_uses_the_point_and_says_so() -> None:
    cfg = ScorecardConfig(
        min_lines=1,
        estimate="lower",
        criteria=(
            Criterion(kpi="otd_rate", weight=1.0, worst=0.5, best=1.0),
            Criterion(kpi="lead_time_mean_days", weight=1.0, worst=60.0, best=10.0),
        ),
    )
    table = pd.DataFrame([kpi_row(otd_rate_lo=0.75, lead_time_mean_days=35.0)])
    scored = score_suppliers(table, cfg)
    assert scored["score"].iloc[0] == pytest.approx((50 + 50) / 2)
    assert scored["score_note"].iloc[0] == "point estimate (no interval): lead_time_mean_days"


def test_scores_a_real_kpi_table_and_keeps_its_rows() -> None:
    rows = [
        {
            "po_id": f"P{i}",
            "supplier_id": "S1" if i < 8 else "S2",
            "category": "bolts",
            "order_date": "2024-05-01",
            "promised_date": "2024-06-01",
            "delivered_date": "2024-06-01" if i % 4 else "2024-06-05",
            "quantity_ordered": 10.0,
            "quantity_received": 10.0 if i % 3 else 9.0,
            "unit_price": 1.0,
        }
        for i in range(10)
    ]
    table = compute_kpis(conform(pd.DataFrame(rows)), pd.Timestamp("2024-06-30"), 90, ["supplier_id"]).table
    scored = score_suppliers(table, load_scorecard_config(DEFAULT))
    assert list(scored["supplier_id"]) == ["S1", "S2"]
    assert 0.0 <= scored["score"].iloc[0] <= 100.0
    assert "fill_rate" not in scored["score_note"].iloc[0]
    assert "reject_ppm" in scored["score_note"].iloc[0]  # no rejected quantities in this history
    assert math.isnan(scored["score"].iloc[1])  # two lines only
    assert "score" not in table  # the input is not modified


def test_score_needs_otd_lines() -> None:
    with pytest.raises(ValueError, match="otd_lines"):
        score_suppliers(pd.DataFrame([{"otd_rate": 0.9}]), config())


# --- Config errors -------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "card.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_CRITERION = "  - {kpi: otd_rate, weight: 1, worst: 0.5, best: 1.0}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("criteria: [\n", "not valid YAML"),
        ("- just a list\n", "must be a YAML mapping"),
        (
            "criteria:\n  - {kpi: otd_ratio, weight: 1, worst: 0, best: 1}\n",
            "criteria[0].kpi: unknown KPI 'otd_ratio'",
        ),
        (
            "criteria:\n" + GOOD_CRITERION + "  - {kpi: fill_rate, weight: -0.2, worst: 0.8, best: 1}\n",
            "criteria[1].weight",
        ),
        ("criteria:\n  - {kpi: otd_rate, weight: 1, worst: 1, best: 1}\n", "worst and best must differ"),
        ("criteria:\n  - {kpi: otd_rate, weight: 0, worst: 0, best: 1}\n", "needs a positive weight"),
        ("criteria:\n" + GOOD_CRITERION + GOOD_CRITERION, "repeated: otd_rate"),
        ("criteria: []\n", "at least one criterion"),
        ("min_lines: 5\n", "criteria: Field required"),
        ("min_line: 5\ncriteria:\n" + GOOD_CRITERION, "min_line: Extra inputs are not permitted"),
        ("min_lines: 0\ncriteria:\n" + GOOD_CRITERION, "min_lines"),
        ("estimate: upper\ncriteria:\n" + GOOD_CRITERION, "estimate: Input should be 'point' or 'lower'"),
        ("criteria:\n  - {kpi: otd_rate, weight: high, worst: 0, best: 1}\n", "criteria[0].weight"),
    ],
)
def test_config_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScorecardConfigError) as info:
        load_scorecard_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_config_error_is_a_value_error_and_missing_file_is_reported(tmp_path: Path) -> None:
    assert issubclass(ScorecardConfigError, ValueError)
    with pytest.raises(ScorecardConfigError, match="nope.yaml: cannot read scorecard file"):
        load_scorecard_config(tmp_path / "nope.yaml")

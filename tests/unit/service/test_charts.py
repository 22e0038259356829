"""Chart specs: valid JSON with inline data only, the data the fallback table lists, intervals as bands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from supplierrisk.service.charts import (
    interval_trend,
    json_values,
    kpi_trend_frame,
    risk_against_spend,
    supplier_otd_frame,
)

SUPPLIERS = pd.DataFrame(
    {
        "supplier_id": ["A", "B", "C"],
        "spend_share": [0.6, 0.4, np.nan],
        "p_disruption": [0.3, 0.05, np.nan],
        "risk_band": ["high", "low", None],
    }
)


def _no_urls(spec: dict[str, object]) -> None:
    text = json.dumps(spec, allow_nan=False)  # NaN would make the page's JSON invalid
    assert '"url"' not in text


def test_risk_against_spend_draws_each_scored_supplier_once() -> None:
    chart = risk_against_spend(SUPPLIERS, "ARV")
    _no_urls(chart.spec)
    values = chart.spec["data"]["values"]
    assert [v["supplier_id"] for v in values] == ["A", "B"]  # C has no risk score: not drawn
    assert values[0] == {"supplier_id": "A", "spend_share": 0.6, "p_disruption": 0.3, "risk_band": "high"}
    assert chart.table.rows["supplier_id"].tolist() == ["A", "B"]
    assert chart.spec["encoding"]["color"]["scale"]["domain"] == ["low", "medium", "high"]
    assert chart.spec["$schema"].endswith("vega-lite/v6.json")


def test_interval_trend_shades_lo_to_hi_and_keeps_missing_as_null() -> None:
    trend = pd.DataFrame(
        {
            "quarter": ["2024Q1", "2024Q2", "2024Q1", "2024Q2"],
            "supplier_id": ["A", "A", "B", "B"],
            "otd_rate": [0.9, np.nan, 0.5, 0.75],
            "otd_rate_lo": [0.8, np.nan, 0.2, 0.6],
            "otd_rate_hi": [0.95, np.nan, 0.8, 0.85],
            "otd_lines": [20, 0, 4, 12],
        }
    )
    chart = interval_trend(supplier_otd_frame(trend), "supplier_id", "Supplier", "t", "Trend", "d")
    _no_urls(chart.spec)
    area, line = chart.spec["layer"]
    assert area["mark"]["type"] == "area"
    assert (area["encoding"]["y"]["field"], area["encoding"]["y2"]["field"]) == ("lo", "hi")
    assert line["encoding"]["y"]["field"] == "value"
    values = chart.spec["data"]["values"]
    assert values[1] == {
        "quarter": "2024Q2",
        "supplier_id": "A",
        "value": None,
        "lo": None,
        "hi": None,
        "lines": 0,
    }
    assert chart.table.rows["value"].tolist()[2:] == [0.5, 0.75]


def test_kpi_trend_frame_stacks_otd_otif_and_fill() -> None:
    trend = pd.DataFrame(
        {
            "quarter": ["2024Q1"],
            "otd_rate": [0.9],
            "otd_rate_lo": [0.8],
            "otd_rate_hi": [0.95],
            "otd_lines": [20],
            "fill_rate": [0.99],
            "fill_rate_lo": [0.97],
            "fill_rate_hi": [1.0],
            "fill_lines": [18],
        }
    )
    frame = kpi_trend_frame(trend)
    assert frame[["kpi", "value", "lines"]].values.tolist() == [["OTD", 0.9, 20], ["Fill", 0.99, 18]]
    assert kpi_trend_frame(pd.DataFrame()).empty


def test_json_values_unwraps_numpy_and_dates() -> None:
    frame = pd.DataFrame({"n": [np.int64(3)], "d": [pd.Timestamp("2024-01-02")], "x": [np.inf]})
    assert json_values(frame, ["n", "d", "x"]) == [{"n": 3, "d": "2024-01-02", "x": None}]

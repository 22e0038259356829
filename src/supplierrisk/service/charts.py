"""Vega-Lite chart specs built on the server, each with the table of its data as the accessible fallback.

A spec is plain JSON (``data.values`` inline, no URLs), so a page renders it with the
vendored Vega-Lite and requests nothing from anywhere. The fallback ``Table`` holds
the very values the spec draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from supplierrisk.service.workspace import SUPPLIER_LINK, Column, Table

SCHEMA: Final = "https://vega.github.io/schema/vega-lite/v6.json"
# Colour-blind-safe (Okabe-Ito) band colours, the same on every chart.
BAND_COLOURS: Final = {"low": "#009E73", "medium": "#E69F00", "high": "#D55E00"}
# A chart's data table lists at most this many rows (a 2,000-supplier category's table exports all).
FALLBACK_ROWS: Final = 100
TREND_KPIS: Final = (
    ("otd_rate", "OTD", "otd_lines"),
    ("otif_rate", "OTIF", "otif_lines"),
    ("fill_rate", "Fill", "fill_lines"),
)


@dataclass(frozen=True)
class Chart:
    """A chart: its element id, title, Vega-Lite spec and the data table shown beside it."""

    name: str
    title: str
    spec: dict[str, Any]
    table: Table

    @property
    def table_rows(self) -> pd.DataFrame:
        """The rows the page lists under the chart (at most ``FALLBACK_ROWS``)."""
        return self.table.rows.head(FALLBACK_ROWS)

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return self.table.rows.empty


def json_values(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as JSON objects: numpy scalars unwrapped, NaN and NaT as null."""
    records = []
    for row in frame[columns].itertuples(index=False, name=None):
        record = {}
        for name, value in zip(columns, row, strict=True):
            if isinstance(value, np.generic):
                value = value.item()
            if value is None or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
                value = None
            elif isinstance(value, pd.Timestamp):
                value = value.date().isoformat()
            record[name] = value
        records.append(record)
    return records


def _base(title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "description": description,
        "width": "container",
        "height": 260,
        "config": {"view": {"stroke": None}},
    }


def _band_scale() -> dict[str, Any]:
    return {"domain": list(BAND_COLOURS), "range": list(BAND_COLOURS.values())}


RISK_SPEND_COLUMNS: Final = (
    Column("supplier_id", "Supplier", "link", link=SUPPLIER_LINK, sortable=False),
    Column("spend_share", "Spend share", "pct", sortable=False),
    Column("p_disruption", "P(disruption)", "pct", sortable=False),
    Column("risk_band", "Risk band", "band", sortable=False),
)


def risk_against_spend(suppliers: pd.DataFrame, category: str) -> Chart:
    """Each supplier's disruption probability against its share of the category's spend."""
    rows = suppliers.loc[suppliers["p_disruption"].notna(), [c.key for c in RISK_SPEND_COLUMNS]]
    spec = _base(
        f"Risk against spend share: {category}",
        "Each point is a supplier: its share of the category's spend (x) and its probability of"
        " disruption (y), coloured by risk band.",
    )
    spec["data"] = {"values": json_values(rows, list(rows.columns))}
    spec["mark"] = {"type": "point", "filled": True, "size": 90, "tooltip": True}
    spec["encoding"] = {
        "x": {
            "field": "spend_share",
            "type": "quantitative",
            "title": "Spend share",
            "axis": {"format": ".0%"},
        },
        "y": {
            "field": "p_disruption",
            "type": "quantitative",
            "title": "P(disruption)",
            "axis": {"format": ".1%"},
        },
        "color": {"field": "risk_band", "type": "nominal", "title": "Risk band", "scale": _band_scale()},
        "tooltip": [
            {"field": "supplier_id", "title": "Supplier"},
            {"field": "spend_share", "title": "Spend share", "format": ".1%"},
            {"field": "p_disruption", "title": "P(disruption)", "format": ".1%"},
        ],
    }
    table = Table(
        "risk_spend", "Risk against spend share (data)", RISK_SPEND_COLUMNS, rows.reset_index(drop=True)
    )
    return Chart("risk-spend", spec["title"], spec, table)


def interval_trend(
    frame: pd.DataFrame, series: str, series_title: str, name: str, title: str, description: str
) -> Chart:
    """Lines of ``value`` by quarter per ``series``, each in a band from ``lo`` to ``hi`` (its interval).

    ``frame`` has ``quarter``, ``series``, ``value``, ``lo``, ``hi`` and ``lines``.
    """
    columns = ["quarter", series, "value", "lo", "hi", "lines"]
    rows = frame[columns].reset_index(drop=True)
    spec = _base(title, description)
    spec["data"] = {"values": json_values(rows, columns)}
    x = {"field": "quarter", "type": "ordinal", "title": "Quarter"}
    colour = {"field": series, "type": "nominal", "title": series_title}
    y_scale = {"domain": [0, 1]}
    spec["layer"] = [
        {
            "mark": {"type": "area", "opacity": 0.18},
            "encoding": {
                "x": x,
                "y": {"field": "lo", "type": "quantitative", "scale": y_scale, "title": "Rate"},
                "y2": {"field": "hi"},
                "color": colour,
            },
        },
        {
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {
                "x": x,
                "y": {
                    "field": "value",
                    "type": "quantitative",
                    "scale": y_scale,
                    "title": "Rate (90% interval shaded)",
                    "axis": {"format": ".0%"},
                },
                "color": colour,
                "tooltip": [
                    {"field": series, "title": series_title},
                    {"field": "quarter", "title": "Quarter"},
                    {"field": "value", "title": "Rate", "format": ".1%"},
                    {"field": "lo", "title": "90% low", "format": ".1%"},
                    {"field": "hi", "title": "90% high", "format": ".1%"},
                    {"field": "lines", "title": "Lines"},
                ],
            },
        },
    ]
    table_columns = (
        Column("quarter", "Quarter", "text", sortable=False),
        Column(series, series_title, "text", sortable=False),
        Column("value", "Rate [90% interval]", "interval", count="lines", sortable=False),
    )
    return Chart(name, title, spec, Table(name, f"{title} (data)", table_columns, rows))


def kpi_trend_frame(trend: pd.DataFrame) -> pd.DataFrame:
    """A supplier's quarterly KPIs (``deployment.kpi_trend``) as rows of quarter, KPI, value and interval."""
    frames = []
    for column, label, lines in TREND_KPIS:
        if column not in trend:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "quarter": trend["quarter"].astype(str),
                    "kpi": label,
                    "value": trend[column],
                    "lo": trend.get(f"{column}_lo"),
                    "hi": trend.get(f"{column}_hi"),
                    "lines": trend.get(lines),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["quarter", "kpi", "value", "lo", "hi", "lines"])
    return pd.concat(frames, ignore_index=True)


def supplier_otd_frame(trend: pd.DataFrame) -> pd.DataFrame:
    """Quarterly OTD per supplier (``quarterly_kpis`` by supplier) as rows of the interval trend."""
    return pd.DataFrame(
        {
            "quarter": trend["quarter"].astype(str),
            "supplier_id": trend["supplier_id"].astype(str),
            "value": trend["otd_rate"],
            "lo": trend["otd_rate_lo"],
            "hi": trend["otd_rate_hi"],
            "lines": trend["otd_lines"],
        }
    )


DISTRIBUTION_COLUMNS: Final = (
    Column("bin", "Late lines", "text", sortable=False),
    Column("arm", "Allocation", "text", sortable=False),
    Column("runs", "Runs", "number", sortable=False),
)
ARM_COLOURS: Final = {"baseline": "#0072B2", "scenario": "#D55E00"}


def late_lines_distribution(result: dict[str, Any]) -> Chart:
    """How many Monte Carlo runs gave each number of late lines, baseline and scenario overlaid."""
    histogram = result["distribution"]
    frames = [
        pd.DataFrame(
            {
                "bin_start": histogram["bin_start"],
                "bin_end": histogram["bin_end"],
                "arm": arm,
                "runs": histogram[arm],
            }
        )
        for arm in ARM_COLOURS
        if arm in histogram
    ]
    rows = pd.concat(frames, ignore_index=True)
    rows["bin"] = [f"{a:g}–{b:g}" for a, b in zip(rows["bin_start"], rows["bin_end"], strict=True)]
    spec = _base(
        "Late lines over the horizon: baseline and scenario",
        "Bars count the Monte Carlo runs that gave each number of late lines: blue the current"
        " allocation, orange the scenario, drawn from the same random numbers.",
    )
    spec["data"] = {"values": json_values(rows, ["bin_start", "bin_end", "arm", "runs"])}
    spec["mark"] = {"type": "bar", "opacity": 0.55, "tooltip": True, "binSpacing": 0}
    spec["encoding"] = {
        "x": {"field": "bin_start", "type": "quantitative", "title": "Late lines", "bin": {"binned": True}},
        "x2": {"field": "bin_end"},
        "y": {"field": "runs", "type": "quantitative", "title": "Runs", "stack": None},
        "color": {
            "field": "arm",
            "type": "nominal",
            "title": "Allocation",
            "scale": {"domain": list(ARM_COLOURS), "range": list(ARM_COLOURS.values())},
        },
        "tooltip": [
            {"field": "arm", "title": "Allocation"},
            {"field": "bin_start", "title": "From"},
            {"field": "bin_end", "title": "To"},
            {"field": "runs", "title": "Runs"},
        ],
    }
    table = Table("late_lines_distribution", "Late lines distribution (data)", DISTRIBUTION_COLUMNS, rows)
    return Chart("late-lines", spec["title"], spec, table)

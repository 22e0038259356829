"""The scenarios page: pick a category, enter or drag target shares, see baseline and scenario side by side.

A fresh scenario runs from the page's query (seeded, so the same query gives the same
figures); a saved one is read back from the results database with its inputs, model
versions and seed, and its tables export as CSV or XLSX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from fastapi import HTTPException

from serving import pages
from supplierrisk.scenarios import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_SEED,
    Allocation,
    DispersionMissingError,
    ScenarioInputError,
    ScenarioRequest,
)
from supplierrisk.scenarios.saved import ScenarioNotFoundError, load_scenario, save_scenario
from supplierrisk.service import charts
from supplierrisk.service.deployment import Deployment
from supplierrisk.service.scenarios import (
    ScenarioUnavailableError,
    category_shares,
    comparison_table,
    run_for,
    scenario_as_of,
    scenario_supplier_table,
)
from supplierrisk.service.workspace import Table

# The page runs fewer draws than the CLI by default: a person waits for it.
PAGE_RUNS: Final = 1000
HORIZONS: Final = (30, 60, 90, 180)


@dataclass(frozen=True)
class ScenarioForm:
    """What the page was asked: category, horizon, runs, and the shares entered (percent) per supplier."""

    category: str | None = None
    horizon_days: int = DEFAULT_HORIZON_DAYS
    runs: int = PAGE_RUNS
    suppliers: tuple[str, ...] = ()
    shares_pct: tuple[float, ...] = ()

    @property
    def submitted(self) -> bool:
        """Whether shares were entered (else the page shows the current allocation to start from)."""
        return bool(self.suppliers)

    def request(self) -> ScenarioRequest:
        """The scenario these shares ask for (``ScenarioInputError`` when they do not sum to 100%)."""
        shares = {s: v / 100.0 for s, v in zip(self.suppliers, self.shares_pct, strict=True) if v > 0}
        assert self.category is not None  # noqa: S101 - the page asks for shares only with a category
        return ScenarioRequest(
            self.category,
            Allocation(shares=shares or {"": 0.0}),
            horizon_days=self.horizon_days,
            runs=self.runs,
            seed=DEFAULT_SEED,
        )

    def fields(self) -> list[tuple[str, str]]:
        """The form as hidden fields (the save button resubmits it)."""
        out = [
            ("category", self.category or ""),
            ("horizon", str(self.horizon_days)),
            ("runs", str(self.runs)),
        ]
        for supplier, share in zip(self.suppliers, self.shares_pct, strict=True):
            out += [("supplier", supplier), ("share", f"{share:g}")]
        return out


def _number(text: str | None, default: float, what: str, low: float, high: float) -> float:
    if text is None or text.strip() == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise HTTPException(400, f"{what} must be a number, not {text!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise HTTPException(400, f"{what} must lie between {low:g} and {high:g}, not {text!r}")
    return value


def parse_form(
    category: str | None, horizon: str | None, runs: str | None, suppliers: list[str], shares: list[str]
) -> ScenarioForm:
    """The page's query or form, checked (400 on a malformed value)."""
    if len(suppliers) != len(shares):
        raise HTTPException(400, "each supplier needs one share")
    return ScenarioForm(
        category=category or None,
        horizon_days=int(_number(horizon, DEFAULT_HORIZON_DAYS, "horizon", 7, 730)),
        runs=int(_number(runs, PAGE_RUNS, "runs", 100, 5000)),
        suppliers=tuple(suppliers),
        shares_pct=tuple(_number(s, 0.0, "a share", 0, 100) for s in shares),
    )


def _results(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": result,
        "comparison": comparison_table(result),
        "scenario_suppliers": scenario_supplier_table(result),
        "chart": charts.late_lines_distribution(result),
        "warnings": result["scenario"]["warnings"],
    }


def _allocation_rows(current: Deployment, form: ScenarioForm, as_of: pd.Timestamp) -> list[dict[str, Any]]:
    assert form.category is not None  # noqa: S101 - called with a category
    now = category_shares(current, form.category, as_of, form.horizon_days)
    entered = dict(zip(form.suppliers, form.shares_pct, strict=True))
    start = tenths_of_percent(now["share"].to_numpy())
    return [
        {
            "index": i,
            "supplier_id": row.supplier_id,
            "share_now": float(row.share),
            "entered": entered.get(row.supplier_id, start[i]),
        }
        for i, row in enumerate(now.itertuples(index=False))
    ]


def tenths_of_percent(shares: np.ndarray) -> list[float]:
    """Shares as percentages to 0.1 that still total exactly 100 (largest remainders round up)."""
    units = np.asarray(shares, dtype=float) * 1000.0
    floors = np.floor(units)
    short = int(round(1000.0 - floors.sum()))
    order = np.argsort(-(units - floors), kind="stable")
    floors[order[: max(short, 0)]] += 1
    return [float(v) / 10.0 for v in floors]


def scenarios(current: Deployment, form: ScenarioForm) -> tuple[dict[str, Any], int]:
    """The page's context and status: the category picker, the allocation form, and results once run."""
    tables = pages.tables_of(current)
    context: dict[str, Any] = {
        "form": form,
        "categories": sorted(map(str, tables["categories"]["category"].dropna())),
        "horizons": HORIZONS,
        "error": None,
        "rows": [],
    }
    if form.category is None:
        return context, 200
    try:
        as_of = scenario_as_of(current, None)
        context["as_of"] = as_of.date().isoformat()
        context["rows"] = _allocation_rows(current, form, as_of)
        if form.submitted:
            context.update(_results(run_for(current, form.request()).to_dict()))
    except (ScenarioUnavailableError, DispersionMissingError) as exc:
        raise HTTPException(503, str(exc)) from None
    except ScenarioInputError as exc:
        context["error"] = str(exc)
        return context, 422
    return context, 200


def save(current: Deployment, form: ScenarioForm, results_url: str, who: str) -> str:
    """Run the form's scenario again (seeded: the figures the page showed) and save it; its id."""
    try:
        request = form.request()
        result = run_for(current, request)
    except ScenarioInputError as exc:
        raise HTTPException(422, str(exc)) from None
    return save_scenario(results_url, request, result, who)


def saved(results_url: str, identifier: str) -> dict[str, Any]:
    """A saved scenario's page context: its record and tables."""
    try:
        record = load_scenario(results_url, identifier)
    except ScenarioNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return {"saved": record, **_results(record["result"])}


def export_table(results_url: str, identifier: str, name: str) -> Table:
    """One table of a saved scenario, for the export route."""
    context = saved(results_url, identifier)
    if name not in ("comparison", "scenario_suppliers"):
        raise HTTPException(400, f"no table {name!r} on a saved scenario")
    table: Table = context[name]
    return table

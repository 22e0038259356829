"""Saved scenarios in the results database: inputs, model versions, seed and figures, citable by id."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Any

import pandas as pd
import sqlalchemy as sa

from supplierrisk.batch.migrations import SCENARIOS, SCENARIOS_TABLE
from supplierrisk.batch.results import transaction
from supplierrisk.scenarios.engine import ScenarioResult
from supplierrisk.scenarios.inputs import ScenarioRequest


class ScenarioNotFoundError(LookupError):
    """No saved scenario has that id."""


def request_record(request: ScenarioRequest) -> dict[str, Any]:
    """The request as plain JSON, enough to run it again."""
    allocation = request.allocation
    options = request.options
    return {
        "category": request.category,
        "as_of": request.as_of.date().isoformat() if request.as_of is not None else None,
        "horizon_days": request.horizon_days,
        "runs": request.runs,
        "seed": request.seed,
        "shares": allocation.shares,
        "shifts": [asdict(s) for s in allocation.shifts],
        "capacity_multiple": options.capacity_multiple,
        "time_to_recover_days": options.time_to_recover_days,
        "inventory_cover_days": options.inventory_cover_days,
        "excluded_items": {s: sorted(items) for s, items in options.excluded_items.items()},
        "planned": request.planned.to_dict(orient="records") if request.planned is not None else None,
    }


def save_scenario(url: str, request: ScenarioRequest, result: ScenarioResult, created_by: str) -> str:
    """Store the scenario; returns its id."""
    identifier = f"sc-{uuid.uuid4().hex[:16]}"
    row = {
        "scenario_id": identifier,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        "created_by": created_by,
        "category": request.category,
        "as_of": result.meta["as_of"],
        "seed": request.seed,
        "model_versions": json.dumps(result.meta["model_versions"]),
        "inputs": json.dumps(request_record(request), default=str),
        "result": json.dumps(result.to_dict(), default=str),
    }
    with transaction(url, write=True) as conn:
        conn.execute(SCENARIOS.insert().values(**row))
    return identifier


def load_scenario(url: str, identifier: str) -> dict[str, Any]:
    """A saved scenario: its id, who and when, inputs, model versions, seed and result."""
    with transaction(url, write=False) as conn:
        if not sa.inspect(conn).has_table(SCENARIOS_TABLE):
            raise ScenarioNotFoundError(f"no saved scenario {identifier!r}")
        row = (
            conn.execute(sa.select(SCENARIOS).where(SCENARIOS.c.scenario_id == identifier)).mappings().first()
        )
    if row is None:
        raise ScenarioNotFoundError(f"no saved scenario {identifier!r}")
    return {
        "id": row["scenario_id"],
        "created_at": row["created_at"],
        "created_by": row["created_by"],
        "category": row["category"],
        "as_of": row["as_of"],
        "seed": row["seed"],
        "model_versions": json.loads(row["model_versions"]),
        "inputs": json.loads(row["inputs"]),
        "result": json.loads(row["result"]),
    }

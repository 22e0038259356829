"""Sourcing scenarios: run one (and save it), or read a saved one back by id."""

from fastapi import APIRouter

from serving import schemas, views
from serving.deps import AppSettings, Current, Viewer, offload
from serving.errors import ERRORS, NOT_FOUND

router = APIRouter(tags=["scenarios"])


@router.post("/v1/scenarios", response_model=schemas.ScenarioResponse, responses=ERRORS)
async def run_scenario(
    body: schemas.ScenarioRequestBody, key: Viewer, current: Current, settings: AppSettings
) -> dict[str, object]:
    """Baseline against scenario if volume moves: late lines P10/P50/P90, OTD, late value, spend, HHI.

    The category's lines over the last `horizon_days` (or `planned` quantities) are re-assigned by
    `shares` (summing to 1) or `shifts`, re-scored as if placed with their new suppliers, and drawn
    in a Monte Carlo with common random numbers (`runs`, `seed`). Shares that do not sum to 1 and
    unknown suppliers are a 422. With `save`, the scenario is stored and its `id` returned.
    """
    return await offload(views.scenario, current, body, settings.results_url, f"{key.name} (api)")


@router.get(
    "/v1/scenarios/{scenario_id}", response_model=schemas.SavedScenario, responses={**ERRORS, **NOT_FOUND}
)
async def saved_scenario(scenario_id: str, key: Viewer, settings: AppSettings) -> dict[str, object]:
    """A saved scenario with its inputs, model versions, seed and figures, as it was computed."""
    return await offload(views.saved_scenario, settings.results_url, scenario_id)

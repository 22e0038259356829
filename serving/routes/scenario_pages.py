"""The workspace's scenarios page: run a re-allocation, save it, read a saved one."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from serving import scenario_pages
from serving.deps import Current, offload
from serving.routes.workspace import Text, render_page
from serving.ui import UI_PREFIX, User, WebSettings, check_form

router = APIRouter(include_in_schema=False)
Many = Annotated[list[str], Query(max_length=400)]


@router.get(f"{UI_PREFIX}/scenarios", response_class=HTMLResponse)
async def scenarios(
    request: Request,
    user: User,
    current: Current,
    settings: WebSettings,
    category: Text = None,
    horizon: Text = None,
    runs: Text = None,
    supplier: Many = [],  # noqa: B006 - FastAPI copies query defaults
    share: Many = [],  # noqa: B006
) -> HTMLResponse:
    """Pick a category, enter target shares, see baseline and scenario side by side."""
    form = scenario_pages.parse_form(category, horizon, runs, supplier, share)
    context, status = await offload(scenario_pages.scenarios, current, form)
    response = render_page(request, "scenarios.html", user, current, settings, context)
    response.status_code = status
    return response


@router.post(f"{UI_PREFIX}/scenarios/save")
async def save_scenario(
    request: Request,
    user: User,
    current: Current,
    settings: WebSettings,
    category: Annotated[str, Form(max_length=400)],
    horizon: Annotated[str, Form(max_length=10)],
    runs: Annotated[str, Form(max_length=10)],
    supplier: Annotated[list[str], Form()] = [],  # noqa: B006
    share: Annotated[list[str], Form()] = [],  # noqa: B006
    csrf_token: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    """Save the scenario the page showed, with its inputs, model versions and seed; open it."""
    check_form(request, user, csrf_token)
    form = scenario_pages.parse_form(category, horizon, runs, supplier, share)
    who = f"{user.key.name} (workspace)"
    identifier = await offload(scenario_pages.save, current, form, settings.results_url, who)
    return RedirectResponse(f"{UI_PREFIX}/scenarios/saved/{identifier}", status_code=303)


@router.get(f"{UI_PREFIX}/scenarios/saved/{{scenario_id}}", response_class=HTMLResponse)
async def saved_scenario(
    request: Request, scenario_id: str, user: User, current: Current, settings: WebSettings
) -> HTMLResponse:
    """A saved scenario, as it was computed, with CSV and XLSX exports."""
    context = await offload(scenario_pages.saved, settings.results_url, scenario_id)
    return render_page(request, "scenario_saved.html", user, current, settings, context)

"""Drift of the latest batch: the summary and the Evidently pages."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse

from serving import schemas, views
from serving.deps import Current, Viewer
from serving.errors import ERRORS, NOT_FOUND

router = APIRouter(tags=["monitoring"])


@router.get("/v1/drift", response_model=schemas.DriftResponse, responses=ERRORS)
async def drift(key: Viewer, current: Current) -> schemas.DriftResponse:
    """The latest batch's drift summary; `available: false` before the first batch."""
    return views.drift(current)


@router.get("/v1/drift/report", response_class=HTMLResponse, responses={**ERRORS, **NOT_FOUND})
async def drift_report(
    key: Viewer,
    current: Current,
    model: Annotated[
        Literal["otd", "disruption"], Query(description="Whose features: open lines or suppliers.")
    ] = "otd",
) -> FileResponse:
    """The Evidently HTML report of the latest batch's features for one model."""
    path = current.batch.drift_html(model) if current.batch is not None else None
    if path is None:
        raise HTTPException(404, f"no {model} drift report yet: run 'supplierrisk score'")
    return FileResponse(path, media_type="text/html")

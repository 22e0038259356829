"""The registered models being served."""

from fastapi import APIRouter

from serving import schemas, views
from serving.deps import Current, Viewer
from serving.errors import ERRORS

router = APIRouter(tags=["models"])


@router.get("/v1/models", response_model=schemas.ModelsResponse, responses=ERRORS)
async def models(key: Viewer, current: Current) -> schemas.ModelsResponse:
    """Champion and challenger of each model: version, as-of, data window, backtest vs baselines."""
    return views.models(current)

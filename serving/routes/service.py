"""Liveness and readiness."""

from fastapi import APIRouter, Response

from serving import schemas, views
from serving.deps import Holder, Keys, offload

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness: the process answers.")
async def health() -> dict[str, str]:
    """Always ok while the process runs."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: models loaded, versions, batch age, registry reachability.",
    response_model=schemas.Ready,
    responses={503: {"model": schemas.Ready, "description": "No champion loaded."}},
)
async def ready(response: Response, holder: Holder, keyring: Keys) -> schemas.Ready:
    """503 until a champion is loaded."""
    body = await offload(views.readiness, holder, keyring is not None)
    if body.status == "not_ready":
        response.status_code = 503
    return body

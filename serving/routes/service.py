"""Liveness, readiness and the Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests and latency by route, models served, reloads, batch age.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."}},
)
async def metrics(request: Request) -> Response:
    """The answering worker's metrics in the Prometheus text format (no key needed, like /ready)."""
    body = generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

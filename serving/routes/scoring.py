"""Scoring PO lines for late delivery."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from serving import schemas, views
from serving.deps import MODELS_HEADER, AppSettings, Current, Viewer, offload
from serving.errors import ERRORS, TOO_LARGE
from serving.jsonbody import OrjsonRoute

# Its bodies run to thousands of lines: orjson parses them (see serving.jsonbody).
router = APIRouter(tags=["scoring"], route_class=OrjsonRoute)
# Requests up to this many lines without drivers are scored on the event loop.
INLINE_LINES = 20


@router.post("/v1/order-lines/score", response_model=schemas.ScoreResponse, responses={**ERRORS, **TOO_LARGE})
async def score_lines(
    body: schemas.ScoreRequest, key: Viewer, current: Current, settings: AppSettings
) -> Response:
    """Late-delivery probability, band and delay quantiles per PO line, with drivers on request.

    Features come from each supplier's history in the store, through the same feature code as
    training, as of `as_of` (default: the store's last day). Limits: `SUPPLIERRISK_API_MAX_LINES`
    lines (default 10,000) and `SUPPLIERRISK_API_MAX_EXPLAINED_LINES` explained lines (1,000).
    """
    if len(body.lines) > settings.api_max_lines:
        raise HTTPException(413, f"{len(body.lines)} lines; at most {settings.api_max_lines} per request")
    if body.explain and len(body.lines) > settings.api_max_explained_lines:
        raise HTTPException(
            413,
            f"drivers for {len(body.lines)} lines; at most {settings.api_max_explained_lines}"
            " per request (drivers are slow): send fewer lines or explain=false",
        )
    if len(body.lines) <= INLINE_LINES and not body.explain:
        # A few milliseconds of work: a thread hop and GIL hand-offs would cost more than they free.
        payload = views.score_json(current, body)
    else:
        payload = await offload(views.score_json, current, body)
    return Response(
        payload, media_type="application/json", headers={MODELS_HEADER: views.versions_header(current)}
    )

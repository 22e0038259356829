"""Error bodies: validation errors with a readable field path, and unexpected errors logged, not leaked."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from serving import schemas

log = logging.getLogger("supplierrisk.serving")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.ErrorBody, "description": "Missing or unknown API key."},
    403: {"model": schemas.ErrorBody, "description": "The key's role may not do this."},
    503: {"model": schemas.ErrorBody, "description": "No champion or no batch loaded yet."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": schemas.ErrorBody, "description": "Unknown id."}}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": schemas.ErrorBody, "description": "Too many lines or too large a body."}
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with each error's location, dotted field path, message and type."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "field": _field_path(tuple(e.get("loc", ()))),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """500 with a plain sentence; the traceback goes to the log."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the two handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)
